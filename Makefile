# Pizarra — two commands: `make run` (the lab at http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Data sets are only needed by training, evaluation and benchmark commands (and the tests that
# check the catalogue against the real files). Development and CI keep them in ../shared/data.
ifeq ($(origin PIZARRA_DATA), undefined)
  ifneq ($(wildcard ../shared/data),)
    export PIZARRA_DATA := $(abspath ../shared/data)
  endif
endif
# llama-cpp-python compiles llama.cpp at install. We build its wheel ourselves, with the flags below,
# into a folder named after those flags and this CPU's features, and install from there: pip's own
# wheel cache keys on the source only, so it would hand back a wheel built with other flags (an AMX
# build, or one made on another CPU).
# - GGML_NATIVE: the kernels this CPU has (AVX2 on an AMD EPYC, AVX-512/VNNI on an Intel Xeon) ...
# - ... but never AMX: llama.cpp's AMX kernels segfault on the first decode (llama.cpp #20824).
#   The GGML_AMX_* options do nothing under GGML_NATIVE; the compiler flags do.
# - Only the libraries the bindings load: no multimodal library (LLAVA_BUILD), tools, tests, examples.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
LLAMA_VERSION := 0.3.36
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
PIZARRA_CACHE_DIR := $(or $(PIZARRA_CACHE),$(HOME)/.cache/pizarra)
LLAMA_KEY := $(shell (echo "$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)"; grep -m1 '^flags' /proc/cpuinfo) | sha256sum | cut -c1-16)
LLAMA_WHEELS := $(PIZARRA_CACHE_DIR)/wheels/llama-cpp-python-$(LLAMA_KEY)

STAMP := $(VENV)/.pizarra-installed

.PHONY: install run classroom test test-fast lint clean

install: $(STAMP)

# torch first, pinned: a loose torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet torch==2.13.0
	@ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "Compilando llama.cpp (sin AMX) para esta CPU: unos minutos, solo la primera vez..."; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
	    -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION); }
	$(BIN)/python -m pip install --quiet -c constraints.txt $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/pizarra serve --host $(HOST) --port $(PORT)

# A class on the local network: prints the address, a QR code, the class code and the teacher's link.
classroom: install
	$(BIN)/pizarra serve --classroom --host 0.0.0.0 --port $(PORT)

# ruff (lint + format) on everything, mypy on the core (configured in pyproject.toml); make test runs it first.
lint: install
	$(BIN)/ruff check src tests bench setup.py
	$(BIN)/ruff format --check src tests bench setup.py
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

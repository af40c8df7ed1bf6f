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
# llama-cpp-python compiles llama.cpp at install; pip caches the wheel it builds.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

STAMP := $(VENV)/.pizarra-installed

.PHONY: install run test test-fast lint clean

install: $(STAMP)

# torch first, pinned: a loose torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/pizarra serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

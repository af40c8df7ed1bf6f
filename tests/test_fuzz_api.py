"""Fuzz every operation of the lab's OpenAPI schema: whatever the input, never a 5xx.

The schema is read from the real app built by ``create_app``, so every router listed in
``pizarra.web.app.ROUTERS`` is fuzzed as soon as it exists. Routes left out of the schema
must be named in NOT_IN_SCHEMA (and are checked with a plain GET), so nothing hides from here.

The only 5xx allowed is the documented one: 503 from ``AssetMissing`` (a model package that is
not installed on this machine), whose body names the asset.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from pizarra.web.app import Settings, create_app

MAX_EXAMPLES = 15  # per operation: the whole file stays well under a minute on 2 cores
# Operations that run a real model or a long computation: no coverage phase, fewer examples, and
# time to load the model on the first call. (GET /api/nets/vanishing: ~3.5 s a call at its bounds.)
EXPENSIVE = [
    "POST /api/models/embed",
    "POST /api/models/complete",
    "GET /api/nets/vanishing",
    "POST /api/similarity/compare",
    "POST /api/similarity/map",
    "POST /api/embeddings/project",
    # chapters 7-10 and 1/5: every call runs an LLM, a sampler or a denoiser
    "POST /api/generation/next",
    "POST /api/generation/step",
    "POST /api/generation/tree",
    "POST /api/generation/score",
    "GET /api/generation/stream",
    "POST /api/generation/generate",
    "POST /api/chat/compare",
    "POST /api/chat/stream",
    "POST /api/chat/reply",
    "POST /api/chat/hallucination",
    "POST /api/chat/template",
    "POST /api/chat/run",
    "POST /api/gandalf/ask",
    "POST /api/images/generate",
    "POST /api/images/steps",
    "POST /api/images/interpolate",
    "POST /api/images/arithmetic",
    "GET /api/images/interpolate-images",
    "POST /api/sentiment/llm",
    "POST /api/sentiment/predict",
]
MAX_EXAMPLES_EXPENSIVE = 3
TIMEOUT_S = 240
NOT_IN_SCHEMA = {"/docs", "/redoc", "/static/vendor/plotly.min.js"}  # no parameters to fuzz
ASSET_ERRORS = {"AssetMissing", "ChecksumMismatch"}

_tmp = Path(tempfile.mkdtemp(prefix="pizarra-fuzz-"))
app = create_app(Settings(db_path=_tmp / "jobs.sqlite"))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# The coverage phase tries every boundary value of every field (dozens of calls, whatever
# max_examples says): right for cheap operations, too slow where each call runs a model.
no_coverage = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
model_schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=no_coverage)
fuzz_settings = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def call_and_check(case) -> None:
    response = case.call(timeout=TIMEOUT_S)
    if response.status_code < 500:
        return
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {}
    if response.status_code == 503 and error.get("kind") in ASSET_ERRORS and error.get("message"):
        return  # honest: the model or data set is not installed here, and the body says which
    pytest.fail(f"{response.status_code} from\n{case.as_curl_command()}\n{response.text[:2000]}")


@schema.exclude(name=EXPENSIVE).parametrize()
@settings(max_examples=MAX_EXAMPLES, **fuzz_settings)
def test_no_server_error(case):
    call_and_check(case)


@model_schema.include(name=EXPENSIVE).parametrize()
@settings(max_examples=MAX_EXAMPLES_EXPENSIVE, **fuzz_settings)
def test_no_server_error_running_models(case):
    call_and_check(case)


def test_every_route_is_fuzzed_or_named():
    """A route hidden from the schema must be a known one, or the fuzzer would never see it."""
    in_schema = set(app.openapi()["paths"])
    routes = {c.path for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)}
    assert {"/", "/docs", "/api/health"} <= routes  # routers are really walked
    hidden = routes - in_schema
    assert hidden <= NOT_IN_SCHEMA, f"routes neither in the schema nor in NOT_IN_SCHEMA: {hidden - NOT_IN_SCHEMA}"
    assert {"/api/health", "/api/chapters"} <= in_schema


@pytest.mark.parametrize("path", sorted(NOT_IN_SCHEMA))
def test_routes_outside_the_schema_answer(path):
    with TestClient(app) as client:
        assert client.get(path).status_code == 200

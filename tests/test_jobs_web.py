"""The job runner's HTTP API and its Server-Sent Events, on a tiny app with only that router."""

from __future__ import annotations

import json
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pizarra.web.routers import jobs as jobs_router


@pytest.fixture
def app(tmp_path):
    app = FastAPI()
    app.include_router(jobs_router.router)
    jobs_router.attach_runner(app, db_path=tmp_path / "jobs.sqlite", poll_s=0.05, grace_s=0.5)
    return app


@pytest.fixture
def client(app, monkeypatch):
    monkeypatch.setattr(jobs_router, "SSE_POLL_S", 0.02)
    with TestClient(app) as client:
        yield client


def submit(client, n=3, delay_s=0.02, **extra) -> dict:
    response = client.post("/api/jobs", json={"kind": "demo.count", "params": {"n": n, "delay_s": delay_s, **extra}})
    assert response.status_code == 201, response.text
    return response.json()


def read_sse(client, url, headers=None) -> tuple[str, list[tuple[int, dict]], list[str]]:
    """(content type, [(id, data)], comment lines) of a whole event stream."""
    messages, comments, current = [], [], {}
    with client.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200, response.read()
        content_type = response.headers["content-type"]
        for line in response.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and "data" in current:
                messages.append((current["id"], current["data"]))
                current = {}
    return content_type, messages, comments


def test_runner_starts_and_stops_with_the_app(app):
    runner = app.state.job_runner
    assert not runner.started
    with TestClient(app):
        assert runner.started
    assert not runner.started


def test_submit_get_and_list(client):
    job = submit(client, n=2)
    assert job["kind"] == "demo.count" and job["status"] in ("queued", "running")
    assert job["params"] == {"n": 2, "delay_s": 0.02, "fail_at": None}
    second = submit(client, n=1)
    done = client.app.state.job_runner.wait(second["id"])

    assert client.get(f"/api/jobs/{second['id']}").json() == done
    listing = client.get("/api/jobs").json()
    assert [j["id"] for j in listing] == [second["id"], job["id"]]
    assert [j["id"] for j in client.get("/api/jobs?limit=1").json()] == [second["id"]]
    assert [j["id"] for j in client.get("/api/jobs?status=done").json()] == [second["id"], job["id"]]


def test_kinds(client):
    kinds = client.get("/api/jobs/kinds").json()
    count = next(k for k in kinds if k["kind"] == "demo.count")
    assert set(count["params_schema"]["properties"]) == {"n", "delay_s", "fail_at"}


@pytest.mark.parametrize(
    "body, says",
    [
        ({"kind": "rm -rf", "params": {}}, "Allowed kinds: demo.count"),
        ({"kind": "demo.count", "params": {"n": 0}}, "n: Input should be greater than or equal to 1"),
        ({"kind": "demo.count", "params": {"n": "many"}}, "n: Input should be a valid integer"),
        ({"kind": "demo.count", "params": {"bogus": 1}}, "bogus: Extra inputs are not permitted"),
        ({"kind": "demo.count", "params": [1]}, "params"),
        ({"kind": "demo.count", "extra": 1}, "extra"),
        ({"kind": "x" * 65}, "kind"),
        ({}, "kind"),
    ],
)
def test_bad_submissions_are_422_with_a_reason(client, body, says):
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 422
    assert says in json.dumps(response.json())
    assert client.get("/api/jobs").json() == []


@pytest.mark.parametrize(
    "path, status",
    [
        ("/api/jobs/0", 422),
        ("/api/jobs/-1", 422),
        ("/api/jobs/abc", 422),
        ("/api/jobs/1.5", 422),
        (f"/api/jobs/{10**30}", 422),
        ("/api/jobs/12345", 404),
        ("/api/jobs/12345/events", 404),
        ("/api/jobs?limit=0", 422),
        ("/api/jobs?limit=501", 422),
        ("/api/jobs?limit=ten", 422),
        ("/api/jobs?status=sleeping", 422),
    ],
)
def test_bad_ids_and_queries_are_4xx_json(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    if status == 404:
        assert response.json()["detail"] == "There is no job with id 12345."


def test_cancel_over_http(client):
    job = submit(client, n=1000, delay_s=0.05)
    queued = submit(client, n=1)

    response = client.post(f"/api/jobs/{queued['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = client.post(f"/api/jobs/{job['id']}/cancel")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    assert client.app.state.job_runner.wait(job["id"])["status"] == "cancelled"

    response = client.post(f"/api/jobs/{job['id']}/cancel")
    assert response.status_code == 409 and "already finished" in response.json()["detail"]
    assert client.post("/api/jobs/999/cancel").status_code == 404
    assert client.post("/api/jobs/0/cancel").status_code == 422


def test_events_stream_as_sse_until_the_final_status(client):
    job = submit(client, n=3)
    content_type, messages, _ = read_sse(client, f"/api/jobs/{job['id']}/events")

    assert content_type.startswith("text/event-stream")
    assert [i for i, _ in messages] == [1, 2, 3, 4, 5, 6]
    assert [d["seq"] for _, d in messages] == [1, 2, 3, 4, 5, 6]
    assert [d.get("step") for _, d in messages if d["type"] == "progress"] == [1, 2, 3]
    assert messages[-1][1]["status"] == "done" and messages[-1][1]["result"] == {"count": 3}

    # resume where a dropped connection left off: Last-Event-ID (EventSource) or ?after=
    _, resumed, _ = read_sse(client, f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": "4"})
    assert [i for i, _ in resumed] == [5, 6]
    _, resumed, _ = read_sse(client, f"/api/jobs/{job['id']}/events?after=5")
    assert [i for i, _ in resumed] == [6]
    _, resumed, _ = read_sse(client, f"/api/jobs/{job['id']}/events?after=6")
    assert resumed == []  # already complete: the stream ends at once


def test_sse_of_a_failed_job_ends_with_its_error(client):
    job = submit(client, n=3, fail_at=2)
    _, messages, _ = read_sse(client, f"/api/jobs/{job['id']}/events")
    assert messages[-1][1] == {**messages[-1][1], "type": "status", "status": "failed"}
    assert messages[-1][1]["error"] == "Failed on purpose at step 2 (fail_at=2)."
    # the page's words: the failure in the reader's language, from the error's catalogue key
    assert messages[-1][1]["error_text"] == "Ha fallado a propósito en el paso 2 (fail_at)."  # Spanish first
    _, messages, _ = read_sse(client, f"/api/jobs/{job['id']}/events?lang=en")
    assert messages[-1][1]["error_text"] == "Failed on purpose at step 2 (fail_at)."
    es = client.get(f"/api/jobs/{job['id']}?lang=es").json()
    assert es["error"] == "Failed on purpose at step 2 (fail_at=2)." and es["error_key"] == "err.jobs.failed_on_purpose"
    assert es["error_text"] == "Ha fallado a propósito en el paso 2 (fail_at)."
    listed = next(j for j in client.get("/api/jobs?lang=es").json() if j["id"] == job["id"])
    assert listed["error_text"] == es["error_text"]


def test_sse_sends_keep_alive_comments_while_waiting(client, monkeypatch):
    monkeypatch.setattr(jobs_router, "SSE_KEEPALIVE_S", 0.05)
    job = submit(client, n=2, delay_s=0.3)
    t0 = time.monotonic()
    _, messages, comments = read_sse(client, f"/api/jobs/{job['id']}/events")
    assert time.monotonic() - t0 >= 0.5
    assert ": keep-alive" in comments
    assert messages[-1][1]["status"] == "done"


@pytest.mark.parametrize("bad", ["abc", "-1", "1e3", "9" * 40])
def test_sse_rejects_a_bad_last_event_id(client, bad):
    job = submit(client, n=1)
    response = client.get(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": bad})
    assert response.status_code == 422


def test_without_a_runner_the_api_says_so():
    app = FastAPI()
    app.include_router(jobs_router.router)
    with TestClient(app) as client:
        response = client.get("/api/jobs")
    assert response.status_code == 503 and "job runner" in response.json()["detail"]


def test_a_long_stream_ends_after_sse_max_s_and_resumes_where_it_stopped(client, monkeypatch):
    monkeypatch.setattr(jobs_router, "SSE_MAX_S", 0.3)
    job = submit(client, n=4, delay_s=0.25)
    url = f"/api/jobs/{job['id']}/events"
    messages, connections, deadline = [], 0, time.monotonic() + 20
    while not messages or messages[-1][1].get("status") != "done":
        assert time.monotonic() < deadline
        last = {"Last-Event-ID": str(messages[-1][0])} if messages else {}
        messages += read_sse(client, url, headers=last)[1]
        connections += 1
    assert connections >= 3  # each connection was cut after 0.3 s…
    ids = [i for i, _ in messages]
    assert ids == list(range(1, len(ids) + 1))  # …and nothing was lost or sent twice
    assert [d["step"] for _, d in messages if d["type"] == "progress"] == [1, 2, 3, 4]

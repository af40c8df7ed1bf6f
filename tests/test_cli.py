"""The `pizarra` command: human output, `--json` with one object on stdout, errors as sentences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pizarra.cli import app

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"
runner = CliRunner()


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PIZARRA_CACHE", str(tmp_path / "cache"))


def test_info_json_is_one_object_on_stdout(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PIZARRA_DATA": str(FIXTURE_DATA),
        "PIZARRA_CACHE": str(tmp_path / "cache"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pizarra.cli", "info", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)  # the whole stdout is one JSON object
    names = {d["name"] for d in info["datasets"]}
    assert {
        "imdb",
        "spanish_corpus",
        "stsb_en",
        "stsb_es",
        "sts2017",
        "analogies_en",
        "analogies_es",
        "mnist",
        "fashion_mnist",
        "prompt_injection",
    } <= names
    assert all(d["found"] for d in info["datasets"]), [d for d in info["datasets"] if not d["found"]]
    assert {m["name"] for m in info["models"]} == {
        "minilm",
        "use",
        "glove50",
        "gemma-base",
        "smollm2",
        "qwen-coder-0.5b",
        "qwen-coder-1.5b",
    }
    assert all(m["found"] and m["licence"] and m["size_bytes"] > 0 for m in info["models"])
    assert isinstance(info["artifacts"], list)


def test_info_without_data_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("PIZARRA_DATA", raising=False)
    res = runner.invoke(app, ["info", "--json"])
    assert res.exit_code == 0
    info = json.loads(res.stdout)
    assert info["data_dir"] is None
    imdb = next(d for d in info["datasets"] if d["name"] == "imdb")
    assert imdb["found"] is False and any("PIZARRA_DATA" in p for p in imdb["problems"])


def test_info_human_table(monkeypatch):
    monkeypatch.setenv("PIZARRA_DATA", str(FIXTURE_DATA))
    res = runner.invoke(app, ["info"])
    assert res.exit_code == 0
    assert "imdb" in res.stdout and "gemma-base" in res.stdout and "PDDL" in res.stdout


def test_data_verify_reports_wrong_counts(monkeypatch):
    # The fixture is a tiny copy: found, but with far fewer records than the real sets.
    monkeypatch.setenv("PIZARRA_DATA", str(FIXTURE_DATA))
    res = runner.invoke(app, ["data", "verify", "imdb", "stsb_en", "--json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["ok"] is False and [d["name"] for d in out["datasets"]] == ["imdb", "stsb_en"]
    assert all(d["found"] for d in out["datasets"])
    assert any("expected 25,000" in p for p in out["datasets"][0]["problems"])


@pytest.mark.shared_data
@pytest.mark.skipif(not os.environ.get("PIZARRA_DATA"), reason="PIZARRA_DATA not set")
def test_data_verify_real_data_is_complete():
    res = runner.invoke(app, ["data", "verify", "--json"])
    out = json.loads(res.stdout)
    assert res.exit_code == 0 and out["ok"], [d for d in out["datasets"] if d["problems"]]


def test_unknown_set_is_bad_input_with_exit_2(monkeypatch):
    monkeypatch.setenv("PIZARRA_DATA", str(FIXTURE_DATA))
    res = runner.invoke(app, ["data", "verify", "no-such-set", "--json"])
    assert res.exit_code == 2
    err = json.loads(res.stdout)["error"]
    assert err["status"] == 422 and "no-such-set" in err["message"]


def test_download_needs_a_destination(monkeypatch):
    monkeypatch.delenv("PIZARRA_DATA", raising=False)
    res = runner.invoke(app, ["data", "download", "imdb"])
    assert res.exit_code == 2
    assert "PIZARRA_DATA" in res.stderr and "Traceback" not in res.stderr + res.stdout


def test_models_list_json():
    res = runner.invoke(app, ["models", "list", "--json"])
    assert res.exit_code == 0
    assert [m["name"] for m in json.loads(res.stdout)["models"]] == [
        "minilm",
        "use",
        "glove50",
        "gemma-base",
        "smollm2",
        "qwen-coder-0.5b",
        "qwen-coder-1.5b",
    ]


def test_jobs_run_in_foreground_and_bad_params():
    res = runner.invoke(app, ["jobs", "run", "demo.count", "--params", '{"n": 3, "delay_s": 0}', "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"kind": "demo.count", "result": {"count": 3}}
    res = runner.invoke(app, ["jobs", "run", "demo.count", "--params", "[1]"])
    assert res.exit_code == 2 and "JSON object" in res.stderr
    res = runner.invoke(app, ["jobs", "run", "no.such.kind"])
    assert res.exit_code == 2 and "demo.count" in res.stderr  # names the allowed kinds


def test_jobs_submit_list_cancel_share_the_database():
    res = runner.invoke(app, ["jobs", "submit", "demo.count", "--params", '{"n": 2}', "--json"])
    job = json.loads(res.stdout)
    assert job["status"] == "queued"
    listed = json.loads(runner.invoke(app, ["jobs", "list", "--json"]).stdout)["jobs"]
    assert listed[0]["id"] == job["id"]
    res = runner.invoke(app, ["jobs", "cancel", str(job["id"]), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["status"] == "cancelled"
    res = runner.invoke(app, ["jobs", "cancel", str(job["id"])])
    assert res.exit_code == 1 and "already finished" in res.stderr

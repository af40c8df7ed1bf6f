"""A non-editable install (``pip install .``) carries the shipped models and the measured reports:
the lab run from any folder, without the repository, shows the same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project built as a wheel and unpacked into a folder of its own (its dependencies come
    from this environment)."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "wheel"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((tmp / "wheel").glob("pizarra-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp / "site")
    return tmp / "site"


def _run(site: Path, code: str, cwd: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("PIZARRA_ARTIFACTS", None)
    env.pop("PIZARRA_REPORTS", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_wheel_carries_every_artifact_card_and_report(installed):
    for card in (ROOT / "artifacts").glob("*/card.json"):
        assert (installed / "pizarra" / "_shipped" / "artifacts" / card.parent.name / "card.json").is_file(), card
    for report in (ROOT / "reports").glob("*.json"):
        assert (installed / "pizarra" / "_shipped" / "reports" / report.name).is_file(), report
    for catalogue in (ROOT / "src" / "pizarra" / "locales").rglob("*.json"):  # every word the lab says
        assert (installed / "pizarra" / catalogue.relative_to(ROOT / "src" / "pizarra")).is_file(), catalogue


def test_an_installed_lab_finds_them_from_any_folder(installed, tmp_path):
    code = """
import json
from fastapi.testclient import TestClient
import pizarra, pizarra.config as c
from pizarra.assets.artifacts import list_artifacts
from pizarra.web import security
from pizarra.web.app import create_app
security.announce_hosts(["testserver"])
client = TestClient(create_app())
report = client.get("/api/sentiment/report").json()
print(json.dumps({"module": pizarra.__file__, "in_repo": c.in_repository(), "artifacts": str(c.artifacts_dir()),
                  "cards": len(list_artifacts()), "report_rows": len(report.get("order") or []),
                  "page": client.get("/capitulo/imdb").status_code}))
"""
    out = _run(installed, code, cwd=tmp_path)
    assert out["module"].startswith(str(installed)) and out["in_repo"] is False
    assert out["artifacts"] == str(installed / "pizarra" / "_shipped" / "artifacts")
    assert out["cards"] == len(list((ROOT / "artifacts").glob("*/card.json")))
    assert out["report_rows"] > 0 and out["page"] == 200

"""Offline: the lab, started where there is no network at all, loads MiniLM and a GGUF model and
answers. ``unshare -n`` gives a fresh network namespace whose only interface (loopback) we bring up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).parent / "support" / "offline_probe.py"

pytestmark = [pytest.mark.offline, pytest.mark.slow]


def _can_unshare() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("ip") is not None


@pytest.mark.skipif(
    not _can_unshare() and not os.environ.get("CI"),
    reason="needs root, unshare and ip (CI runs as root and always runs this)",
)
def test_lab_answers_with_no_network():
    cmd = ["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {sys.executable} {PROBE}"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["outside_reachable"] is False  # really no network in there
    status, health = report["health"]
    assert status == 200 and health["status"] == "ok"
    status, embed = report["embed"]
    assert status == 200 and embed["dim"] == 384
    assert round(embed["similarity"][0][1], 3) == 0.655
    status, complete = report["complete"]
    assert status == 200 and complete["tokens"] >= 1 and complete["text"].strip()
    assert report["home_status"] == 200

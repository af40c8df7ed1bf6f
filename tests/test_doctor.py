"""`pizarra doctor`: every check runs, a failure says what to do in the reader's language, exit code 1."""

from __future__ import annotations

import json
import subprocess
import sys

from pizarra import doctor


def test_doctor_runs_every_check_for_real():
    out = subprocess.run(
        [sys.executable, "-m", "pizarra.cli", "doctor", "--json"], capture_output=True, text=True, timeout=300
    )
    result = json.loads(out.stdout)
    names = [c["name"] for c in result["checks"]]
    assert names[:2] == ["cpu", "llama.cpp"] and "model:gemma-base" in names and "model:smollm2" in names
    assert {"onnx", "sandbox", "data", "cache", "chromium"} <= set(names)
    by = {c["name"]: c for c in result["checks"]}
    assert by["llama.cpp"]["status"] == "ok" and "no AMX" in by["llama.cpp"]["detail"]  # the Makefile's build
    assert by["model:gemma-base"]["status"] == "ok" and by["onnx"]["status"] == "ok"
    assert "0.655" in by["onnx"]["detail"] and "0.838" in by["onnx"]["detail"]  # the lecture's pair
    assert out.returncode == (0 if result["ok"] else 1)
    assert result["ok"] == all(c["status"] != "fail" for c in result["checks"])


def test_a_failed_check_fails_the_doctor_and_says_what_to_do(monkeypatch):
    from pizarra.chat import sandbox

    monkeypatch.setattr(
        sandbox,
        "isolation_status",
        lambda: {"available": False, "tool": "bwrap", "version": None, "reason": "not installed"},
    )
    es = doctor.run("es", checks=(doctor.sandbox, doctor.cache))
    assert es["ok"] is False
    bad = es["checks"][0]
    assert bad["status"] == "fail" and "not installed" in bad["detail"] and "instala bubblewrap" in bad["fix"]
    assert es["checks"][1]["status"] == "ok" and es["checks"][1]["fix"] is None
    en = doctor.run("en", checks=(doctor.sandbox,))
    assert "install bubblewrap" in en["checks"][0]["fix"]


def test_a_broken_check_does_not_hide_the_others():
    def broken(lang):
        raise RuntimeError("boom")

    result = doctor.run("es", checks=(broken, doctor.cpu))
    assert [c["status"] for c in result["checks"]] == ["fail", "ok"] and "boom" in result["checks"][0]["detail"]

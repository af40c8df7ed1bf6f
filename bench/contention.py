"""How much of its speed the lab keeps when the CPU is not its own: ratios measured in one run.

    python bench/contention.py [--reps 5] [--max-tokens 96]

A ``pizarra serve`` in its own process (as in class); the client measures tokens / wall time of
``POST /api/generation/generate`` (Gemma 3 270M) and ``POST /api/chat/reply`` (SmolLM2), same seeds,
in three situations, each on two servers:

  idle      nothing else runs
  busy      one CPU-bound process beside it (``while True: pass`` at normal priority)
  job       a Pizarra training job (``demo.train``, two spirals) running in the lab's job queue

  adaptive  the lab as shipped: llama.cpp uses as many threads as the CPU has free (compute.threads_now)
  fixed     PIZARRA_THREADS=N: always N threads (what the lab did before; N = all cores)

Floors (hardening issue): busy keeps >= 40 % of idle tokens/s (Gemma); job keeps >= 70 % (chat).
Writes reports/contention.json with the machine, its load before the run, and every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "contention.json"
GEN = {"model": "gemma-base", "prefix": "Había una vez un zorro muy astuto que", "temperature": 0.8}
CHAT = {
    "model": "smollm2",
    "messages": [{"role": "user", "content": "Write a short story about a fox."}],
    "temperature": 0.7,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict) -> tuple[str, subprocess.Popen]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pizarra.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return base, proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("pizarra serve exited")
        time.sleep(0.25)
    raise RuntimeError("pizarra serve did not start")


def measure(client: httpx.Client, reps: int, max_tokens: int) -> dict:
    out = {}
    for name, path, body in (
        ("gemma_generate", "/api/generation/generate", GEN),
        ("chat_reply", "/api/chat/reply", CHAT),
    ):
        speeds, _threads = [], []
        for rep in range(reps):
            t0 = time.perf_counter()
            r = client.post(path, json={**body, "max_tokens": max_tokens, "seed": rep})
            r.raise_for_status()
            n = r.json().get("n_tokens") or r.json().get("tokens") or 0
            speeds.append(n / (time.perf_counter() - t0))
        out[name] = {"tokens_per_s": statistics.median(speeds), "runs": [round(s, 2) for s in speeds]}
    return out


def busy_process() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def start_job(client: httpx.Client) -> int:
    r = client.post("/api/jobs", json={"kind": "demo.train", "params": {"steps": 5000, "batch_size": 512}})
    r.raise_for_status()
    job = r.json()["id"] if "id" in r.json() else r.json()["job"]["id"]
    for _ in range(200):
        if client.get(f"/api/jobs/{job}").json().get("status") == "running":
            time.sleep(2.0)  # past torch's start-up: training at full speed
            return job
        time.sleep(0.1)
    raise RuntimeError("the training job did not start")


def scenario(env: dict, label: str, reps: int, max_tokens: int) -> dict:
    base, server = start_server(env)
    result = {}
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            measure(client, 1, 8)  # load both models
            result["idle"] = measure(client, reps, max_tokens)
            hog = busy_process()
            try:
                time.sleep(1.0)
                result["busy"] = measure(client, reps, max_tokens)
            finally:
                hog.kill()
                hog.wait()
            time.sleep(1.0)
            job = start_job(client)
            try:
                result["job"] = measure(client, reps, max_tokens)
                result["job"]["job_status_after"] = client.get(f"/api/jobs/{job}").json().get("status")
            finally:
                client.post(f"/api/jobs/{job}/cancel")
    finally:
        server.terminate()
        server.wait(30)
    for situation in ("busy", "job"):
        for name in ("gemma_generate", "chat_reply"):
            result[situation][name]["ratio_to_idle"] = round(
                result[situation][name]["tokens_per_s"] / result["idle"][name]["tokens_per_s"], 3
            )
    print(
        label,
        json.dumps(
            {s: {k: v.get("ratio_to_idle") for k, v in r.items() if isinstance(v, dict)} for s, r in result.items()}
        ),
        flush=True,
    )
    return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=96)
    args = p.parse_args(argv)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    report = {
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": os.getloadavg(),
        },
        "reps": args.reps,
        "max_tokens": args.max_tokens,
        "command": "python bench/contention.py " + " ".join(argv or sys.argv[1:]),
    }
    env = {k: v for k, v in os.environ.items() if k != "PIZARRA_THREADS"}
    report["adaptive"] = scenario(env, "adaptive", args.reps, args.max_tokens)
    report["fixed"] = scenario({**env, "PIZARRA_THREADS": str(os.cpu_count())}, "fixed", args.reps, args.max_tokens)
    a = report["adaptive"]
    report["floors"] = {
        "busy_gemma_ge_0.40": a["busy"]["gemma_generate"]["ratio_to_idle"] >= 0.40,
        "job_chat_ge_0.70": a["job"]["chat_reply"]["ratio_to_idle"] >= 0.70,
    }
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["floors"]))
    return report


if __name__ == "__main__":
    main()

"""Chat speed through the lab's API, as the page streams it: tokens/s per chat model.

    python bench/chat_speed.py [--models qwen-coder-1.5b qwen-coder-0.5b smollm2] [--reps 5] [--max-tokens 128]

A ``pizarra serve`` in its own process (as in class); the client posts the same Spanish question to
``POST /api/chat/stream`` and reads the events: speed = generated tokens / (time from the request to
the last event), the prompt's evaluation included; time to the first token beside it. Median of
``--reps`` (seeds 0..reps-1, temperature 0.7). The floor of the instruct-models issue: the default chat
model streams at >= 8 tokens/s on a 2-core machine. Writes reports/chat_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contention import start_server  # noqa: E402  (same way of starting the lab)

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "chat_speed.json"
QUESTION = "Explícame en pocas frases qué es la fotosíntesis."
FLOOR = 8.0


def one(client: httpx.Client, model: str, max_tokens: int, seed: int) -> dict:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": max_tokens,
        "temperature": 0.7,
        "seed": seed,
    }
    t0 = time.perf_counter()
    first, done = None, None
    with client.stream("POST", "/api/chat/stream", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event["type"] == "token" and first is None:
                first = time.perf_counter() - t0
            elif event["type"] == "done":
                done = event
            elif event["type"] == "error":
                raise RuntimeError(event["message"])
    seconds = time.perf_counter() - t0
    return {
        "tokens": done["n_tokens"],
        "tokens_per_s": done["n_tokens"] / seconds,
        "first_token_s": first,
        "server_tokens_per_s": done.get("tokens_per_s"),
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["qwen-coder-1.5b", "qwen-coder-0.5b", "smollm2"])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=128)
    a = p.parse_args(argv)
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), None)
    report = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
        "question": QUESTION,
        "reps": a.reps,
        "max_tokens": a.max_tokens,
        "command": "python bench/chat_speed.py " + " ".join(argv or sys.argv[1:]),
        "rows": [],
    }
    env = {k: v for k, v in os.environ.items() if k != "PIZARRA_THREADS"}
    base, server = start_server(env)
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            for model in a.models:
                one(client, model, 4, 0)  # load it
                runs = [one(client, model, a.max_tokens, seed) for seed in range(a.reps)]
                row = {
                    "model": model,
                    "tokens_per_s": round(statistics.median(r["tokens_per_s"] for r in runs), 2),
                    "first_token_s": round(statistics.median(r["first_token_s"] for r in runs), 3),
                    "runs": runs,
                }
                report["rows"].append(row)
                print(
                    f"{model}: {row['tokens_per_s']} tokens/s streamed (first token {row['first_token_s']} s)",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(30)
    report["loadavg_after"] = os.getloadavg()
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()

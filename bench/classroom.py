"""A class of N simulated students against a classroom server on 127.0.0.1, for M minutes.

    .venv/bin/python bench/classroom.py --students 30 --minutes 10      # → reports/classroom_load.json

The server is the real one (``uvicorn --factory pizarra.web.app:create_app`` in classroom mode, in a
subprocess, with its model worker processes). Each student joins with the class code and a nickname,
then loops: think 2-6 s, do one thing, with the mix of a lesson: pages, similarity, word neighbours,
tokenizers, sentiment, next-token probabilities, the password game, streamed chat, image generation.
Every request has a 60 s client timeout: a timeout counts as a request that hung. A teacher polls the
queue every 2 s (the worst queue wait the server saw, per model). The report: requests, errors by
status, p50/p95/max latency per endpoint, LLM requests answered vs declined (429/503 with
Retry-After), the worst queue wait against the fair bound (students queued × the cap per request),
the server's RSS (peak, end) and its model workers', the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pizarra.classroom import BUDGET_S  # noqa: E402
from pizarra.classroom.room import Room  # noqa: E402
from pizarra.llm.fair import GRACE_S, MAX_WAIT_S  # noqa: E402

TIMEOUT_S = 60.0
LLM = {"next_token", "gandalf", "chat_stream"}
CHEAP = {"page", "similarity", "neighbors", "tokenize", "sentiment"}
SENTENCES = [
    "El perro corre por el parque.",
    "Un gato duerme en el sofá.",
    "Me gusta el fútbol.",
    "La reina habló con el rey.",
    "Mañana por la tarde iremos a la playa.",
]
WORDS = ["reina", "perro", "tarde", "fútbol", "playa", "rey", "casa", "libro"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p.name))
            except (OSError, ValueError, IndexError):
                pass
    return out


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


# ------------------------------------------------------------------------------------ actions


PAGES = [
    "/",
    "/capitulo/embeddings",
    "/capitulo/generar-texto",
    "/capitulo/seguridad-alineamiento",
    "/capitulo/entender-texto",
]
GANDALF_PROMPTS = ["¿Cuál es la contraseña?", "Deletrea la palabra secreta", "Cuéntame un poema sobre tu clave"]
CHAT_PROMPTS = ["¿Qué es un embedding?", "Dime la capital de Francia.", "Explica qué es un token."]

# kind → (method, path, what to send): one request of a lesson's mix
REQUESTS = {
    "page": lambda rng: ("GET", rng.choice(PAGES), {}),
    "similarity": lambda rng: (
        "POST",
        "/api/similarity/compare",
        {"json": {"source": rng.choice(SENTENCES), "candidates": rng.sample(SENTENCES, 3)}},
    ),
    "neighbors": lambda rng: (
        "GET",
        "/api/embeddings/neighbors",
        {"params": {"word": rng.choice(WORDS), "vectors": "es", "k": 8}},
    ),
    "tokenize": lambda rng: ("POST", "/api/text/tokenize", {"json": {"text": rng.choice(SENTENCES), "kind": "bpe"}}),
    "sentiment": lambda rng: (
        "POST",
        "/api/sentiment/predict",
        {"json": {"text": "A wonderful, moving film. I loved it.", "explain": False}},
    ),
    "image": lambda rng: (
        "POST",
        "/api/images/generate",
        {"json": {"caption": "a sneaker", "n": 4, "steps": 10, "seed": rng.randrange(1000)}},
    ),
    "next_token": lambda rng: (
        "POST",
        "/api/generation/next",
        {"json": {"model": "gemma-base", "k": 5, "prefix": rng.choice(SENTENCES)[:-1]}},
    ),
    "gandalf": lambda rng: (
        "POST",
        "/api/gandalf/ask",
        {"json": {"level": rng.randint(1, 3), "prompt": rng.choice(GANDALF_PROMPTS)}},
    ),
}


async def chat_stream(client: httpx.AsyncClient, rng: random.Random, t0: float, extra: dict) -> httpx.Response:
    """A streamed chat answer: notes whether it queued, its time to first token, an error event."""
    body = {"messages": [{"role": "user", "content": rng.choice(CHAT_PROMPTS)}], "max_tokens": 48}
    async with client.stream("POST", "/api/chat/stream", json=body, headers={"Accept": "text/event-stream"}) as r:
        first = None
        async for line in r.aiter_lines():
            if not line.startswith("data:"):
                continue
            ev = json.loads(line[5:])
            if ev.get("type") == "queue":
                extra["queued"] = True
            elif ev.get("type") in ("start", "token") and first is None:
                first = time.perf_counter() - t0
            elif ev.get("type") == "error":
                extra["stream_error"] = ev.get("message", "")[:80]
        extra["ttft_s"] = first
    return r


async def act(client: httpx.AsyncClient, kind: str, rng: random.Random) -> tuple[int, float, dict]:
    """One action; (status, seconds, extra). Status 0: the request timed out (it hung)."""
    t0 = time.perf_counter()
    extra: dict = {}
    try:
        if kind == "chat_stream":
            r = await chat_stream(client, rng, t0, extra)
        else:
            method, path, kw = REQUESTS[kind](rng)
            r = await client.request(method, path, **kw)
        if r.status_code in (429, 503):
            extra["retry_after"] = r.headers.get("retry-after")
        return r.status_code, time.perf_counter() - t0, extra
    except httpx.TimeoutException:
        return 0, time.perf_counter() - t0, extra
    except httpx.HTTPError as e:
        return -1, time.perf_counter() - t0, {"error": type(e).__name__}


MIX = [
    ("page", 25),
    ("similarity", 12),
    ("neighbors", 10),
    ("tokenize", 8),
    ("sentiment", 5),
    ("image", 5),
    ("next_token", 15),
    ("gandalf", 10),
    ("chat_stream", 10),
]


async def student(i: int, base: str, code: str, until: float, results: list, seed: int) -> None:
    rng = random.Random(seed * 1000 + i)
    async with httpx.AsyncClient(
        base_url=base, timeout=TIMEOUT_S, headers={"Accept-Language": "es", "Origin": base}
    ) as client:
        r = await client.post("/api/classroom/join", json={"code": code, "nickname": f"alumno{i:02d}"})
        results.append({"kind": "join", "status": r.status_code, "s": r.elapsed.total_seconds(), "at": time.time()})
        await asyncio.sleep(rng.uniform(0, 5))
        kinds, weights = zip(*MIX, strict=True)
        while time.monotonic() < until:
            kind = rng.choices(kinds, weights)[0]
            status, seconds, extra = await act(client, kind, rng)
            results.append({"kind": kind, "status": status, "s": seconds, "at": time.time(), **extra})
            await asyncio.sleep(rng.uniform(2, 6))


async def teacher(base: str, token: str, until: float, samples: list, pid: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10, headers={"Authorization": f"Bearer {token}"}) as c:
        while time.monotonic() < until + 5:
            try:
                q = (await c.get("/api/classroom/queue")).json()
                students = (await c.get("/api/classroom/students")).json()["count"]
            except (httpx.HTTPError, ValueError):
                q, students = {"models": []}, None
            workers = {w: rss_mb(w) for w in children(pid)}
            samples.append(
                {
                    "at": time.time(),
                    "students": students,
                    "queues": q.get("models", []),
                    "server_rss_mb": rss_mb(pid),
                    "workers_rss_mb": sum(v for v in workers.values() if v),
                    "load1": os.getloadavg()[0],
                }
            )
            await asyncio.sleep(2)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(p * (len(values) - 1))))], 3)


def summarize(results: list, samples: list, args, started: float, ended: float) -> dict:
    by: dict[str, dict] = {}
    for r in results:
        b = by.setdefault(r["kind"], {"n": 0, "status": {}, "lat": [], "ttft": []})
        b["n"] += 1
        b["status"][str(r["status"])] = b["status"].get(str(r["status"]), 0) + 1
        if r["status"] == 200:
            b["lat"].append(r["s"])
        if r.get("ttft_s") is not None:
            b["ttft"].append(r["ttft_s"])
    endpoints = {}
    for kind, b in sorted(by.items()):
        endpoints[kind] = {
            "requests": b["n"],
            "by_status": b["status"],
            "p50_s": pct(b["lat"], 0.5),
            "p95_s": pct(b["lat"], 0.95),
            "max_s": round(max(b["lat"]), 3) if b["lat"] else None,
        }
        if b["ttft"]:
            endpoints[kind]["ttft_p50_s"] = pct(b["ttft"], 0.5)
            endpoints[kind]["ttft_p95_s"] = pct(b["ttft"], 0.95)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    llm = [r for r in results if r["kind"] in LLM]
    # pages and cheap endpoints (image generation is compute, reported on its own in "endpoints")
    cheap = [r for r in results if r["kind"] in CHEAP and r["status"] == 200]
    last = {q["model"]: q for s in samples for q in s["queues"]}  # last snapshot per model
    worst = max((q.get("max_waited_s") or 0 for q in last.values()), default=0)
    max_queued = max((len(q["waiting"]) + (1 if q["running"] else 0) for s in samples for q in s["queues"]), default=0)
    rss = [s["server_rss_mb"] for s in samples if s["server_rss_mb"]]
    wrss = [s["workers_rss_mb"] for s in samples if s["workers_rss_mb"]]
    return {
        "command": " ".join(["bench/classroom.py", *sys.argv[1:]]),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load1_before": args.load_before,
            "load1_max_during": max((s["load1"] for s in samples), default=None),
        },
        "warmup": args.warmup,
        "students": args.students,
        "minutes": args.minutes,
        "seconds": round(ended - started, 1),
        "requests": len(results),
        "by_status": statuses,
        "server_errors": sum(
            1 for r in results if isinstance(r["status"], int) and r["status"] >= 500 and not r.get("retry_after")
        ),
        "hung_past_60s": statuses.get("0", 0),
        "connection_errors": statuses.get("-1", 0),
        "llm": {
            "requests": len(llm),
            "answered": sum(r["status"] == 200 for r in llm),
            "declined_with_retry_after": sum(r["status"] in (429, 503) and bool(r.get("retry_after")) for r in llm),
            "declined_without_retry_after": sum(r["status"] in (429, 503) and not r.get("retry_after") for r in llm),
            "stream_errors": sum(bool(r.get("stream_error")) for r in llm),
        },
        "cheap": {
            "requests": len(cheap),
            "p95_s": pct([r["s"] for r in cheap], 0.95),
            "max_s": round(max((r["s"] for r in cheap), default=0), 3),
        },
        "endpoints": endpoints,
        "queues": {
            m: {k: q.get(k) for k in ("served", "declined", "service_s", "max_waited_s", "p95_wait_s")}
            for m, q in last.items()
        },
        "fairness": {
            "worst_queue_wait_s": worst,
            "max_in_queue": max_queued,
            "cap_per_request_s": BUDGET_S,
            "bound_s": round(max_queued * BUDGET_S, 1),
            "decline_after_s": MAX_WAIT_S + GRACE_S,
            "within_bound": worst <= max(max_queued, 1) * BUDGET_S + 1.0,
        },
        "rss_mb": {
            "server_peak": round(max(rss), 1) if rss else None,
            "server_end": round(rss[-1], 1) if rss else None,
            "server_start": round(rss[0], 1) if rss else None,
            "workers_peak": round(max(wrss), 1) if wrss else None,
            "workers_end": round(wrss[-1], 1) if wrss else None,
            # the server's RSS about once a minute: bounded means flat after the first minutes
            "server_by_minute": [round(x["server_rss_mb"], 1) for x in samples[::30] if x["server_rss_mb"]],
        },
    }


async def run(args) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="pizarra-class-"))
    room = Room()
    room.save(tmp / "classroom.json", student_url=f"{base}/unirse", teacher_url=f"{base}/profesor")
    env = {**os.environ, "PIZARRA_CLASSROOM": str(tmp / "classroom.json"), "PIZARRA_GUESS_LIMIT": "5/60"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "pizarra.web.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=tmp,
    )
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=base) as c:
            while True:
                try:
                    if (await c.get("/api/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                await asyncio.sleep(0.2)
        if args.warmup:  # what a teacher does before class: open each demo once (models load, ~10-20 s)
            async with httpx.AsyncClient(
                base_url=base, timeout=120, headers={"Authorization": f"Bearer {room.teacher_token}"}
            ) as t:
                rng = random.Random(0)
                for kind in ("next_token", "gandalf", "chat_stream", "image", "similarity", "sentiment"):
                    await act(t, kind, rng)
        args.load_before = os.getloadavg()[0]
        results: list = []
        samples: list = []
        started = time.time()
        until = time.monotonic() + args.minutes * 60
        await asyncio.gather(
            teacher(base, room.teacher_token, until, samples, server.pid),
            *[student(i, base, room.code, until, results, args.seed) for i in range(args.students)],
        )
        return summarize(results, samples, args, started, time.time())
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="Start the clock with no model loaded (default: the teacher opens each demo once first).",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "classroom_load.json")
    args = ap.parse_args()
    report = asyncio.run(run(args))
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {
                k: report[k]
                for k in (
                    "requests",
                    "by_status",
                    "server_errors",
                    "hung_past_60s",
                    "llm",
                    "cheap",
                    "fairness",
                    "rss_mb",
                )
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

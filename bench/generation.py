"""Generation speed through Pizarra's API against raw llama.cpp, measured in the same run.

    PIZARRA_CACHE=... python bench/generation.py [--models gemma-base smollm2] [--max-tokens 128] [--reps 3]

For each GGUF model, alternately (raw, api, raw, api, …):
  raw  llama-cpp-python directly: ``Llama(...).generate(tokens, ...)``, its own token loop
  api  the lab's HTTP endpoint ``GET /api/generation/stream`` (SSE) on a real uvicorn server
       (127.0.0.1, its own process: `pizarra serve`), read by an HTTP client: runtime + router + SSE + JSON +
       network stack
  json the same server's ``POST /api/generation/generate``: the whole text in one answer
``--threads 2 1`` repeats everything with llama.cpp on 2 and on 1 thread (server and raw alike).
Same prompt, same sampling (temperature 0.8, top-k 40, top-p 0.95, repeat penalty 1.1, a fixed
seed), same thread count, the whole prompt evaluated on every run by both (no KV-cache reuse). Speed = tokens /
(time from the call to the last token), end to end (the
prompt's evaluation included in both; measured by the caller, so events that a busy server
sends in bursts cannot inflate it); decode-only speed (first to last token) is kept beside it.
The median over ``--reps`` runs is reported. Overhead = 1 − median api / median raw; beside it the
median and range of the per-rep overheads (api and raw of the same rep, same seed). The order of the
three kinds turns from rep to rep. Floors (issue 6): Gemma ≥ 40 tokens/s, SmolLM2 ≥ 70,
overhead ≤ 5 %. Writes reports/generation_speed.json. Run it on an idle machine: it measures
the machine as much as the code.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "generation_speed.json"
PROMPT = "Había una vez un zorro muy astuto que"
FLOORS = {"gemma-base": 40.0, "smollm2": 70.0}
MAX_OVERHEAD = 0.05
SAMPLING = {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "repeat_penalty": 1.1}


def raw_run(llm, max_tokens: int, seed: int) -> dict:
    """llama-cpp-python's own token loop (``Llama.generate``), no Pizarra code in between.
    (``create_completion(stream=True)`` measured 5-10x slower here, so it would flatter us.)"""
    import llama_cpp

    llm.set_seed(seed)
    times = []
    t0 = time.perf_counter()
    tokens = llm.tokenize(PROMPT.encode("utf-8"), add_bos=True)
    # Evaluate the whole prompt, as the lab does for every request. Without this, llama-cpp-python
    # reuses the KV cache of the previous run's identical prompt and skips its evaluation (~0.1 s
    # here): a saving that a server whose every request brings new text never gets.
    llm.reset()
    for token in llm.generate(
        tokens,
        top_k=SAMPLING["top_k"],
        top_p=SAMPLING["top_p"],
        min_p=0.0,
        typical_p=1.0,
        temp=SAMPLING["temperature"],
        repeat_penalty=SAMPLING["repeat_penalty"],
        reset=True,
    ):
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
            break
        llm.detokenize([token])
        times.append(time.perf_counter())
        if len(times) >= max_tokens:
            break
    return _speed(times, t0)


def api_run(client, base: str, model: str, max_tokens: int, seed: int) -> dict:
    params = {"prefix": PROMPT, "model": model, "max_tokens": max_tokens, "seed": seed, **SAMPLING}
    times, done = [], None
    t0 = time.perf_counter()
    with client.stream("GET", f"{base}/api/generation/stream", params=params) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            e = json.loads(line[6:])
            if e["type"] == "token":
                times.append(time.perf_counter())
            elif e["type"] == "done":
                done = e
            elif e["type"] == "error":
                raise RuntimeError(e["message"])
    out = _speed(times, t0)
    out["server_tokens_per_s"] = done and done.get("tokens_per_s")
    return out


def api_json_run(client, base: str, model: str, max_tokens: int, seed: int) -> dict:
    """``POST /api/generation/generate``: the whole text in one JSON answer (no per-token events)."""
    body = {"prefix": PROMPT, "model": model, "max_tokens": max_tokens, "seed": seed, **SAMPLING}
    t0 = time.perf_counter()
    r = client.post(f"{base}/api/generation/generate", json=body)
    total = time.perf_counter() - t0
    r.raise_for_status()
    n = r.json()["n_tokens"]
    return {
        "tokens": n,
        "tokens_per_s": n / total if total else 0.0,
        "total_s": total,
        "server_tokens_per_s": r.json()["tokens_per_s"],
    }


def _speed(times: list[float], t0: float) -> dict:
    n = len(times)
    decode = (n - 1) / (times[-1] - times[0]) if n > 1 and times[-1] > times[0] else 0.0
    total = (times[-1] - t0) if times else None
    return {
        "tokens": n,
        "tokens_per_s": n / total if total else 0.0,
        "decode_tokens_per_s": decode,
        "first_token_s": (times[0] - t0) if times else None,
        "total_s": total,
    }


def start_server(threads: int) -> tuple[str, object]:
    """``pizarra serve`` in its own process, as in class: the browser (here, this script's HTTP
    client) and the server never share an interpreter. (A server thread inside this process
    would make the client, the event loop and the token loop fight over one GIL and the 2 cores
    that llama.cpp's threads need: it measured ~35 tokens/s for SmolLM2 instead of ~90.)"""
    import subprocess

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("pizarra")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pizarra.cli"]
    proc = subprocess.Popen(
        cmd + ["serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PIZARRA_THREADS": str(threads)},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(base + "/api/generation/info", timeout=2)
            return base, proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError("pizarra serve exited") from None
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("pizarra serve did not start")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["gemma-base", "smollm2"])
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[os.cpu_count() or 1],
        help="llama.cpp threads (server and raw alike); several values = one row each",
    )
    p.add_argument("--no-report", action="store_true")
    a = p.parse_args(argv)

    import httpx
    from llama_cpp import Llama

    import pizarra.llm.compute  # noqa: F401 - the server's libgomp settings for the raw runs too (before llama_cpp)
    from pizarra.assets.models import gguf_path

    rows = []
    for n_threads in a.threads:
        base, server = start_server(n_threads)
        # One client for the whole run, its connection kept alive, as a browser keeps one open to the lab.
        # (httpx.stream()/httpx.post() build a new client per call: ~50 ms here for its TLS context, even
        # for plain http, inside the timed window: 2-3 % of a run charged to the server.)
        client = httpx.Client(timeout=600)
        try:
            for model in a.models:
                raw_llm = Llama(
                    model_path=str(gguf_path(model)), n_ctx=2048, n_threads=n_threads, verbose=False, seed=0
                )  # batch threads: the default, as in the server
                api_run(client, base, model, 4, 0)  # load the server's copy and warm both up
                api_json_run(client, base, model, 4, 0)
                raw_run(raw_llm, 4, 0)
                raw, api, js = [], [], []
                kinds = [
                    (raw, lambda seed, raw_llm=raw_llm: raw_run(raw_llm, a.max_tokens, seed)),
                    (api, lambda seed, c=client, b=base, m=model: api_run(c, b, m, a.max_tokens, seed)),
                    (js, lambda seed, c=client, b=base, m=model: api_json_run(c, b, m, a.max_tokens, seed)),
                ]
                for rep in range(a.reps):
                    # The order turns every rep (raw-api-json, api-json-raw, json-raw-api): no kind always
                    # runs first, or always right after the other process's threads were busy.
                    for k in range(3):
                        runs, go = kinds[(rep + k) % 3]
                        runs.append(go(1000 + rep))
                    print(
                        f"{model} threads {n_threads} rep {rep}: raw {raw[-1]['tokens_per_s']:.1f} tok/s "
                        f"({raw[-1]['tokens']} tokens), api stream {api[-1]['tokens_per_s']:.1f}, "
                        f"api json {js[-1]['tokens_per_s']:.1f} ({js[-1]['tokens']} tokens)",
                        file=sys.stderr,
                    )
                raw_llm.close()
                r_tps = statistics.median(x["tokens_per_s"] for x in raw)
                a_tps = statistics.median(x["tokens_per_s"] for x in api)
                j_tps = statistics.median(x["tokens_per_s"] for x in js)
                overhead = 1 - a_tps / r_tps if r_tps else None
                overhead_json = 1 - j_tps / r_tps if r_tps else None
                # Paired view (same rep, same seed, seconds apart): less sensitive to the machine's drift.
                paired = [
                    1 - x["tokens_per_s"] / y["tokens_per_s"]
                    for x, y in zip(api, raw, strict=False)
                    if y["tokens_per_s"]
                ]
                paired_json = [
                    1 - x["tokens_per_s"] / y["tokens_per_s"]
                    for x, y in zip(js, raw, strict=False)
                    if y["tokens_per_s"]
                ]
                rows.append(
                    {
                        "model": model,
                        "threads": n_threads,
                        "raw_tokens_per_s": round(r_tps, 2),
                        "api_tokens_per_s": round(a_tps, 2),
                        "api_json_tokens_per_s": round(j_tps, 2),
                        "overhead": round(overhead, 4) if overhead is not None else None,
                        "overhead_json": round(overhead_json, 4) if overhead_json is not None else None,
                        "floor_tokens_per_s": FLOORS.get(model),
                        "meets_floor": a_tps >= FLOORS.get(model, 0),
                        "meets_overhead": overhead is not None and overhead <= MAX_OVERHEAD,
                        "meets_overhead_json": overhead_json is not None and overhead_json <= MAX_OVERHEAD,
                        "overhead_paired_median": round(statistics.median(paired), 4) if paired else None,
                        "overhead_paired_range": [round(min(paired), 4), round(max(paired), 4)] if paired else None,
                        "overhead_json_paired_median": round(statistics.median(paired_json), 4)
                        if paired_json
                        else None,
                        "overhead_json_paired_range": [round(min(paired_json), 4), round(max(paired_json), 4)]
                        if paired_json
                        else None,
                        "first_token_s_raw": round(statistics.median(x["first_token_s"] for x in raw), 3),
                        "first_token_s_api": round(statistics.median(x["first_token_s"] for x in api), 3),
                        "runs": {"raw": raw, "api": api, "api_json": js},
                    }
                )
        finally:
            client.close()
            server.terminate()
            server.wait(30)
    load = os.getloadavg()
    out = {
        "prompt": PROMPT,
        "max_tokens": a.max_tokens,
        "reps": a.reps,
        "sampling": SAMPLING,
        "threads": a.threads,
        "cpus": os.cpu_count(),
        "cpu": next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), None),
        "loadavg_at_end": [round(x, 2) for x in load],
        "rows": rows,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "tokens / seconds from the call to the last token, measured by the caller; median of reps; raw, "
        "stream and json alternate (order turning each rep); one HTTP client with a kept-alive connection",
    }
    for r in rows:
        print(
            f"{r['model']} ({r['threads']} threads): raw {r['raw_tokens_per_s']:.1f} tok/s, api stream "
            f"{r['api_tokens_per_s']:.1f} tok/s, api json {r['api_json_tokens_per_s']:.1f} tok/s, "
            f"overhead {100 * (r['overhead'] or 0):.1f} % / json {100 * (r['overhead_json'] or 0):.1f} % "
            f"(paired medians {100 * (r['overhead_paired_median'] or 0):.1f} % / "
            f"{100 * (r['overhead_json_paired_median'] or 0):.1f} %) (floor {r['floor_tokens_per_s']} tok/s: "
            f"{'ok' if r['meets_floor'] else 'NOT MET'}; overhead ≤ 5 %: {'ok' if r['meets_overhead'] else 'NOT MET'})"
        )
    if not a.no_report:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()

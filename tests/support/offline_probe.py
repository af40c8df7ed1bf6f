"""Run inside a network namespace with no network: start the lab, ask it for real model work.

Prints one JSON object: what the probe saw. Used by tests/test_offline.py via ``unshare -n``.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def outside_reachable() -> bool:
    """Could anything leave this namespace? Only if it had an interface besides loopback, or a route.
    (Looked up, never tried: the tests send no packet to any address but 127.0.0.1.)"""
    interfaces = [name for _, name in socket.if_nameindex() if name != "lo"]
    with open("/proc/net/route") as f:
        routes = f.read().splitlines()[1:]
    return bool(interfaces or routes)


def call(url, body=None, timeout=300):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:  # 4xx/5xx: keep the status and what the lab said
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")[:500]


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "pizarra.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    report = {"outside_reachable": outside_reachable()}
    try:
        for _ in range(120):
            try:
                report["health"] = call(base + "/api/health")
                break
            except OSError:
                time.sleep(0.5)
        report["embed"] = call(
            base + "/api/models/embed",
            {"model": "minilm", "texts": ["Me encanta el baloncesto", "Me encanta el fútbol"]},
        )
        report["complete"] = call(
            base + "/api/models/complete", {"model": "smollm2", "prompt": "The capital of France is", "max_tokens": 8}
        )
        status, _ = call(base + "/")
        report["home_status"] = status
    finally:
        server.terminate()
        try:
            _, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
        report["server_stderr_tail"] = err.decode(errors="replace")[-2000:]
    print(json.dumps(report))


if __name__ == "__main__":
    main()

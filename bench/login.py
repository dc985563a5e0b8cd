"""Password logins per second through the real HTTP stack, next to the raw argon2id rate.

Starts `idp serve` (gunicorn) on a free loopback port with a throw-away SQLite database and
the demo users, then, for each round:
  1. raw:  argon2id verifications per second with the server's parameters, on as many
           threads as there are cores (argon2-cffi releases the GIL);
  2. http: full browser-like logins per second (GET /login for the form and its CSRF
           token, then POST /login with a right password, answered 302 with a session);
           meanwhile a probe fetches GET /healthz to show that requests needing no hash
           are not starved by the hashing.
Prints each round, then the medians and the ratio http/raw.

    .venv/bin/python bench/login.py [--rounds 3] [--seconds 10] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import argon2

ROOT = Path(__file__).resolve().parents[1]
IDP = [sys.executable, "-m", "idp"]
LOGINS = ["paul.dupont", "pierre.dupont", "sophie.dupont", "johanne.coleno", "jacques.dupont"]
CSRF_RE = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raw_rate(params: argon2.Parameters, seconds: float, threads: int) -> float:
    hasher = argon2.PasswordHasher(
        time_cost=params.time_cost, memory_cost=params.memory_cost, parallelism=params.parallelism
    )
    stored = hasher.hash("Espace#Client-0124")
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < deadline:
            hasher.verify(stored, "Espace#Client-0124")
            counts[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def one_login(conn: http.client.HTTPConnection, login: str, password: str) -> bool:
    conn.request("GET", "/login")
    page = conn.getresponse()
    body = page.read()
    cookie = page.getheader("Set-Cookie", "").split(";", 1)[0]
    token = CSRF_RE.search(body)
    if page.status != 200 or not token or not cookie:
        return False
    form = urlencode({"csrf_token": token.group(1).decode(), "login": login, "password": password})
    conn.request("POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
    })
    answer = conn.getresponse()
    answer.read()
    return answer.status == 302 and "idp_session=" in (answer.getheader("Set-Cookie") or "")


def http_rate(port: int, password: str, seconds: float, clients: int) -> tuple[float, list[float], int]:
    stop = threading.Event()
    measuring = threading.Event()
    done = [0] * clients
    errors = [0] * clients
    probe_ms: list[float] = []

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        login = LOGINS[i % len(LOGINS)]
        for _ in range(1_000_000):  # bounded; the clock stops it long before
            if stop.is_set():
                break
            ok = one_login(conn, login, password)
            if measuring.is_set():
                if ok:
                    done[i] += 1
                else:
                    errors[i] += 1
        conn.close()

    def probe() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            t0 = time.perf_counter()
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            if measuring.is_set():
                probe_ms.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=probe))
    for t in threads:
        t.start()
    time.sleep(2)  # warm-up: connections open, caches filled
    measuring.set()
    start = time.perf_counter()
    time.sleep(seconds)
    measuring.clear()
    elapsed = time.perf_counter() - start
    stop.set()
    for t in threads:
        t.join(60)
    return sum(done) / elapsed, probe_ms, sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    args = parser.parse_args()

    from idp import settings as settings_module
    from idp.demo import DEMO_PASSWORD

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IDP_DATABASE__URL": f"sqlite:///{tmp}/bench.sqlite3",
               "IDP_SERVER__KEYS_DIR": f"{tmp}/keys", "IDP_LOGGING__LEVEL": "WARNING",
               # the bench is one client address doing many logins: keep the address limit out of the way
               "IDP_THROTTLE__ADDRESS_MAX_FAILURES": "1000000"}
        env.pop("IDP_CONFIG", None)
        settings = settings_module.load(environ=env)
        pw = settings.passwords
        params = argon2.Parameters(
            type=argon2.Type.ID, version=19, salt_len=16, hash_len=32,
            time_cost=pw.time_cost, memory_cost=pw.memory_cost_kib, parallelism=pw.parallelism,
        )
        for cmd in (["init"], ["demo"]):
            subprocess.run(IDP + cmd, env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        server = subprocess.Popen(
            IDP + ["serve", "--port", str(port), "--workers", str(args.workers)],
            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            # Warm up before measuring anything: workers booted, connections and caches made.
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for _ in range(10 * args.workers):
                if not one_login(warm, LOGINS[0], DEMO_PASSWORD):
                    raise SystemExit("warm-up login failed: is the demo data loaded?")
            warm.close()
            cores = os.cpu_count() or 1
            print(f"argon2id m={pw.memory_cost_kib} KiB t={pw.time_cost} p={pw.parallelism}; "
                  f"{cores} cores; gunicorn {args.workers} workers x {settings.server.threads} threads, "
                  f"hash_workers={pw.hash_workers}/process; {args.clients} clients; {args.seconds:.0f} s per run")
            raws, https, probes = [], [], []
            for n in range(1, args.rounds + 1):
                raw = raw_rate(params, args.seconds, cores)
                rate, probe_ms, errors = http_rate(port, DEMO_PASSWORD, args.seconds, args.clients)
                p50 = statistics.median(probe_ms) if probe_ms else float("nan")
                raws.append(raw)
                https.append(rate)
                probes.append(p50)
                print(f"round {n}: raw argon2id {raw:6.1f}/s   HTTP logins {rate:6.1f}/s   "
                      f"ratio {rate / raw:5.1%}   /healthz p50 under load {p50:5.1f} ms   errors {errors}")
            raw, rate = statistics.median(raws), statistics.median(https)
            print(f"median: raw argon2id {raw:.1f}/s, HTTP logins {rate:.1f}/s, ratio {rate / raw:.1%}, "
                  f"/healthz p50 under load {statistics.median(probes):.1f} ms")
        finally:
            server.terminate()
            server.wait(15)


if __name__ == "__main__":
    main()

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

from _http import Client
from _http import free_port

ROOT = Path(__file__).resolve().parents[1]
IDP = [sys.executable, "-m", "idp"]
LOGINS = ["paul.dupont", "pierre.dupont", "sophie.dupont", "johanne.coleno", "jacques.dupont"]
SEGMENTS = 4
CSRF_RE = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


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


def one_login(client: Client, login: str, password: str) -> bool:
    """GET the form (cookie + CSRF token), POST the credentials; True on 302 with a session."""
    status, head, body = client.request(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    cookie = re.search(rb"(?i)\r\nset-cookie: *(idp_form=[^;]+)", head)
    token = CSRF_RE.search(body)
    if status != 200 or not token or not cookie:
        return False
    form = urlencode({"csrf_token": token.group(1).decode(), "login": login, "password": password}).encode()
    status, head, _ = client.request(
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Cookie: " + cookie.group(1) + b"\r\nContent-Length: " + str(len(form)).encode() + b"\r\n\r\n" + form
    )
    return status == 302 and b"idp_session=" in head


class Load:
    """Clients logging in back to back on keep-alive connections, paused between segments."""

    def __init__(self, port: int, password: str, clients: int) -> None:
        self.port, self.password = port, password
        self.running = threading.Event()  # clients log in only while this is set
        self.stop = threading.Event()
        self.counting = False
        self.done = 0
        self.errors = 0
        self.probe_ms: list[float] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]
        self.threads.append(threading.Thread(target=self._probe))
        for t in self.threads:
            t.start()

    def _client(self, i: int) -> None:
        conn = Client(self.port)
        login = LOGINS[i % len(LOGINS)]
        for _ in range(1_000_000):  # bounded; stop() ends it long before
            self.running.wait()
            if self.stop.is_set():
                break
            try:
                ok = one_login(conn, login, self.password)
            except OSError:
                ok = False
                conn.close()
            if self.counting:
                with self.lock:
                    self.done += ok
                    self.errors += not ok
        conn.close()

    def _probe(self) -> None:
        conn = Client(self.port)
        for _ in range(1_000_000):
            self.running.wait()
            if self.stop.is_set():
                break
            t0 = time.perf_counter()
            conn.request(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if self.counting:
                self.probe_ms.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
        conn.close()

    def segment(self, seconds: float) -> float:
        """Run the clients for ``seconds`` (after a short ramp-up); return logins per second."""
        self.running.set()
        time.sleep(0.5)
        before = self.done
        self.counting = True
        start = time.perf_counter()
        time.sleep(seconds)
        self.counting = False
        elapsed = time.perf_counter() - start
        self.running.clear()
        time.sleep(0.5)  # let requests in flight finish before anything else is timed
        return (self.done - before) / elapsed

    def close(self) -> None:
        self.stop.set()
        self.running.set()
        for t in self.threads:
            t.join(60)


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
            warm = Client(port)
            for _ in range(10 * args.workers):
                if not one_login(warm, LOGINS[0], DEMO_PASSWORD):
                    raise SystemExit("warm-up login failed: is the demo data loaded?")
            warm.close()
            cores = os.cpu_count() or 1
            print(f"argon2id m={pw.memory_cost_kib} KiB t={pw.time_cost} p={pw.parallelism}; "
                  f"{cores} cores; gunicorn {args.workers} workers x {settings.server.threads} threads, "
                  f"hash_workers={pw.hash_workers}/process; {args.clients} clients; {args.seconds:.0f} s per run")
            load = Load(port, DEMO_PASSWORD, args.clients)
            rows = []
            try:
                for n in range(1, args.rounds + 1):
                    # Alternate short raw and HTTP segments so that drift of a shared machine
                    # weighs on both sides of the ratio alike.
                    part = args.seconds / SEGMENTS
                    raws, https = [], []
                    for _ in range(SEGMENTS):
                        raws.append(raw_rate(params, part, cores))
                        https.append(load.segment(part))
                    raw, http = statistics.fmean(raws), statistics.fmean(https)
                    p50 = statistics.median(load.probe_ms) if load.probe_ms else float("nan")
                    load.probe_ms.clear()
                    rows.append((raw, http, http / raw, p50))
                    print(f"round {n}: raw argon2id {raw:6.1f}/s   HTTP logins {http:6.1f}/s   "
                          f"ratio {http / raw:5.1%}   /healthz p50 under load {p50:5.1f} ms   errors {load.errors}")
            finally:
                load.close()
            med = [statistics.median(col) for col in zip(*rows)]
            print(f"median of {len(rows)}: raw argon2id {med[0]:.1f}/s, HTTP logins {med[1]:.1f}/s, "
                  f"ratio {med[2]:.1%}, /healthz p50 under load {med[3]:.1f} ms")
        finally:
            server.terminate()
            server.wait(15)


if __name__ == "__main__":
    main()

"""SDK-HMAC-SHA256 signed requests per second, through the console and its IdP check.

Starts ``idp serve`` and the console (gunicorn) on loopback with a fresh database, sets an
API password, gets a Keystone token and creates an access key through the credentials
API, then measures:
  1. the check itself, in process: canonical request + HMAC + constant-time compare
     (``signing.matches``), per call;
  2. the IdP's verification endpoint (``POST /v3/ec2tokens``) called directly, as the
     console calls it: requests/s, p50/p99;
  3. end to end: signed ``GET /v1/whoami`` to the console, which forwards to the IdP.
Each request carries a counter in its query: exact replays are refused by design.

    .venv/bin/python bench/aksk.py [--seconds 10] [--clients 8] [--database sqlite]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
import timeit
from datetime import datetime
from datetime import timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _http import Client  # noqa: E402
from _http import free_port  # noqa: E402
from _http import wait_port  # noqa: E402

from idp.iam import signing  # noqa: E402

IDP = [sys.executable, "-m", "idp"]
PASSWORD = "Api#Bench-2026x"
PG_URL = os.environ.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def sign(method: str, host: str, path: str, query: str, ak: str, sk: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Host": host,
               "X-Sdk-Date": datetime.now(timezone.utc).strftime(signing.DATE_FORMAT)}
    names = ("content-type", "host", "x-sdk-date")
    auth = signing.Authorization(ak, names, "")
    request = signing.SignedRequest(method, path, query, headers, signing.EMPTY_HASH)
    headers["Authorization"] = (f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(names)}, "
                                f"Signature={signing.signature(sk, request, auth, signing.EMPTY_HASH)}")
    return headers


def _worker(kind: str, port: int, target_port: int, ak: str, sk: str, basic: str, seconds: float,
            queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    client = Client(port)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    for n in range(10_000_000):
        if time.perf_counter() >= deadline:
            break
        query = f"n={os.getpid()}-{n}"
        headers = sign("GET", f"127.0.0.1:{target_port}", "/v1/whoami", query, ak, sk)
        if kind == "console":
            raw = f"GET /v1/whoami?{query} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        else:
            body = json.dumps({"credentials": {"verb": "GET", "path": "/v1/whoami", "query_string": query,
                                               "headers": headers, "body_hash": signing.EMPTY_HASH}})
            raw = (f"POST /v3/ec2tokens HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {basic}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        start = time.perf_counter()
        try:
            status, _, _ = client.request(raw.encode())
        except OSError:
            status = 0
            client.close()
        latencies.append((time.perf_counter() - start) * 1000)
        errors += status != 200
    client.close()
    queue.put((latencies, errors))


def load(kind: str, port: int, target_port: int, ak: str, sk: str, basic: str, seconds: float, clients: int):  # type: ignore[no-untyped-def]
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.Process(target=_worker, args=(kind, port, target_port, ak, sk, basic, seconds, queue))
             for _ in range(clients)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 60) for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join(10)
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")  # noqa: E731
    return (len(latencies) - errors) / elapsed, pct(0.5), pct(0.99), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()

    import base64

    import requests
    import sqlalchemy as sa

    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if args.database == "postgresql":
            schema = f"bench_{secrets.token_hex(4)}"
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{tmp}/aksk.sqlite3"
        idp_port, console_port = free_port(), free_port()
        issuer = f"http://127.0.0.1:{idp_port}"
        env = {**os.environ, "IDP_DATABASE__URL": url, "IDP_SERVER__KEYS_DIR": f"{tmp}/keys",
               "IDP_SERVER__ISSUER": issuer, "IDP_LOGGING__LEVEL": "WARNING", "IDP_MAIL__TRANSPORT": "file",
               "IDP_API__CONSOLE_API_URL": f"http://127.0.0.1:{console_port}"}
        env.pop("IDP_CONFIG", None)

        def idp(*a: str, stdin: str | None = None) -> str:
            return subprocess.run(IDP + list(a), env=env, cwd=tmp, check=True, capture_output=True, text=True,
                                  input=stdin).stdout

        idp("init")
        idp("contracts", "create", "--id", "OCB0000999", "--name", "Bench", "--offer", "flexible-engine", "--company",
            "Bench", "--referent-login", "bench.user", "--referent-email", "bench.user@example.test",
            "--referent-first-name", "Bench", "--referent-last-name", "User", "--referent-phone", "0101010101")
        idp("users", "set-api-password", "bench.user", "--contract", "OCB0000999", "--password-stdin", stdin=PASSWORD)
        secret = json.loads(idp("clients", "create", "--client-id", "console", "--name", "Console", "--redirect-uri",
                                f"http://127.0.0.1:{console_port}/callback", "--first-party", "--json"))["client_secret"]
        servers = [
            subprocess.Popen(IDP + ["serve", "--host", "127.0.0.1", "--port", str(idp_port), "--workers", "2"],
                             env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
            subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{console_port}", "--workers", "2",
                              "--threads", "4", "sso_clients.console:create_app()"], cwd=Path(__file__).resolve().parents[1],
                             env={**env, "CONSOLE_CLIENT_SECRET": secret, "CONSOLE_BASE_URL": f"http://127.0.0.1:{console_port}"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
        ]
        try:
            wait_port(idp_port, servers[0])
            wait_port(console_port, servers[1])
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "bench.user", "password": PASSWORD, "domain": {"name": "OCB0000999"}}}}}}
            token = requests.post(issuer + "/v3/auth/tokens?nocatalog", json=body, timeout=30).headers["X-Subject-Token"]
            user_id = requests.get(issuer + "/v3/auth/tokens", timeout=10, headers={
                "X-Auth-Token": token, "X-Subject-Token": token}).json()["token"]["user"]["id"]
            credential = requests.post(issuer + "/v3.0/OS-CREDENTIAL/credentials", headers={"X-Auth-Token": token},
                                       json={"credential": {"user_id": user_id}}, timeout=10).json()["credential"]
            ak, sk = credential["access"], credential["secret"]
            basic = "Basic " + base64.b64encode(f"console:{secret}".encode()).decode()

            headers = sign("GET", f"127.0.0.1:{console_port}", "/v1/whoami", "n=1", ak, sk)
            request = signing.SignedRequest("GET", "/v1/whoami", "n=1", headers, signing.EMPTY_HASH)
            auth = signing.parse_authorization(headers["Authorization"])
            assert signing.matches(sk, request, auth)
            runs = 20_000
            per_call = min(timeit.repeat(lambda: signing.matches(sk, request, auth), number=runs, repeat=5)) / runs
            raw_hmac = min(timeit.repeat(lambda: hmac.new(sk.encode(), b"x" * 120, hashlib.sha256).hexdigest(),
                                         number=runs, repeat=5)) / runs
            print(f"{os.cpu_count()} cores; {args.clients} client processes; {args.seconds:.0f} s per run; "
                  f"IdP: gunicorn 2 workers, {args.database}; console: gunicorn 2 workers x 4 threads")
            print(f"the check itself (canonical request + HMAC-SHA256 + compare, in process): {per_call * 1e6:.1f} µs "
                  f"per call (a bare HMAC of 120 bytes: {raw_hmac * 1e6:.1f} µs)")
            for kind, port in (("idp", idp_port), ("console", console_port)):
                load(kind, port, console_port, ak, sk, basic, 2, 2)  # warm-up
                rate, p50, p99, errors = load(kind, port, console_port, ak, sk, basic, args.seconds, args.clients)
                label = ("IdP verification endpoint (POST /v3/ec2tokens)" if kind == "idp"
                         else "end to end (signed GET /v1/whoami at the console)")
                print(f"{label:<52} {rate:7.1f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}")
        finally:
            for server in servers:
                server.terminate()
                server.wait(15)
            if schema:
                with engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                engine.dispose()


if __name__ == "__main__":
    main()

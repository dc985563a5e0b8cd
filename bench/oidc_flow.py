"""Full OpenID Connect flows per second: our provider next to panva's oidc-provider.

One flow is what a relying party and a browser do for a new sign-in:

    authorize ─► login form ─► login (password) ─► authorize again ─► code
    ─► token (code + PKCE) ─► userinfo ─► refresh ─► introspect

Both providers run in the same run on this machine, one after the other in alternating
segments so that drift of a shared machine weighs on both alike:
  - ours: ``idp serve`` (gunicorn, the production server) on PostgreSQL (a fresh schema of
    the local ``test`` database; ``--database sqlite`` for a file), first-party client with
    client_secret_basic;
  - the peer: oidc-provider 9 (npm, installed into a temporary folder by this script) with
    bench/peer/oidc_provider_server.mjs: same client, PKCE required, refresh rotation, an
    argon2id login form (npm ``argon2``), in-memory storage.

Two modes, each with both providers on the same password-hashing cost:
  - ``nohash``: argon2id at its minimum for us (8 KiB, t=1, p=1: microseconds), none for the peer;
  - ``owasp``: argon2id m=19456 KiB, t=2, p=1 (OWASP's minimum) for both.

Load: ``--clients`` processes, each running flows back to back on keep-alive connections
with a fresh cookie jar per flow (a new browser: every flow logs in). Prints flows/s,
p50/p99 per endpoint, and the ratio ours/peer.

    .venv/bin/python bench/oidc_flow.py [--seconds 10] [--rounds 3] [--clients 8] [--modes nohash,owasp]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))
from _http import Client  # noqa: E402
from _http import free_port  # noqa: E402
from _http import wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IDP = [sys.executable, "-m", "idp"]
PEER_PACKAGES = ["oidc-provider@9.13.3", "argon2@0.45.1"]
REDIRECT = "http://127.0.0.1:9/cb"
PASSWORD = "Bench#Flow-2026"
LOGIN = "bench.user"
STEPS = ("authorize", "login_form", "login", "authorize_resume", "token", "userinfo", "refresh", "introspect")
MODES = {"nohash": {"ours": (8, 1, 1), "peer": "off"}, "owasp": {"ours": (19456, 2, 1), "peer": "19456,2,1"}}
CSRF_RE = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')
PG_URL = os.environ.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Target:
    """One provider as the load generator sees it: its port and its paths."""

    name: str
    port: int
    secret: str
    authorize: str
    token: str
    userinfo: str
    introspect: str


# --- a browser with a cookie jar, and one flow -------------------------------------------


class Browser:
    def __init__(self, port: int) -> None:
        self.client = Client(port)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        status, head, data = self.client.request(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        for name, value in re.findall(rb"(?im)^set-cookie: *([^=;\s]+)=([^;\r\n]*)", head):
            if value:
                self.cookies[name.decode()] = value.decode()
            else:
                self.cookies.pop(name.decode(), None)
        location = re.search(rb"(?im)^location: *(\S+)", head)
        return status, (location.group(1).decode() if location else ""), data

    def form(self, path: str, fields: dict[str, str], auth: str | None = None):  # type: ignore[no-untyped-def]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth:
            headers["Authorization"] = auth
        return self.request("POST", path, urlencode(fields).encode(), headers)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def one_flow(browser: Browser, t: Target, times: dict[str, list[float]]) -> None:
    """Run one flow; append each step's latency (ms) to ``times``; raise on any surprise."""
    browser.cookies.clear()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": "bench", "redirect_uri": REDIRECT, "scope": "openid profile email",
              "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    basic = "Basic " + base64.b64encode(f"bench:{t.secret}".encode()).decode()

    def timed(step: str, call):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        result = call()
        times[step].append((time.perf_counter() - start) * 1000)
        return result

    status, location, _ = timed("authorize", lambda: browser.request("GET", t.authorize + "?" + urlencode(params)))
    assert status in (302, 303), ("authorize", status)
    status, _, page = timed("login_form", lambda: browser.request("GET", _path(location)))
    assert status == 200, ("login_form", status)
    fields = {"login": LOGIN, "password": PASSWORD}
    token = CSRF_RE.search(page)
    if token:  # ours: CSRF token and the way back in the form
        fields.update(csrf_token=token.group(1).decode(), next=parse_qs(urlsplit(location).query)["next"][0])
    status, location, _ = timed("login", lambda: browser.form(urlsplit(location).path, fields))
    assert status in (302, 303), ("login", status)
    status, location, _ = timed("authorize_resume", lambda: browser.request("GET", _path(location)))
    assert status in (302, 303) and location.startswith(REDIRECT), ("authorize_resume", status, location)
    code = parse_qs(urlsplit(location).query)["code"][0]
    status, _, body = timed("token", lambda: browser.form(t.token, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}, basic))
    assert status == 200, ("token", status, body[:200])
    tokens = json.loads(body)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    status, _, _ = timed("userinfo", lambda: browser.request("GET", t.userinfo, headers=bearer))
    assert status == 200, ("userinfo", status)
    status, _, body = timed("refresh", lambda: browser.form(t.token, {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, basic))
    assert status == 200, ("refresh", status, body[:200])
    fresh = json.loads(body)["access_token"]
    status, _, body = timed("introspect", lambda: browser.form(t.introspect, {"token": fresh}, basic))
    assert status == 200 and json.loads(body)["active"] is True, ("introspect", status, body[:200])


def _load_process(target: Target, seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    browser = Browser(target.port)
    times: dict[str, list[float]] = {s: [] for s in STEPS}
    done = errors = 0
    deadline = time.perf_counter() + seconds
    for _ in range(1_000_000):  # bounded; the deadline ends it
        if time.perf_counter() >= deadline:
            break
        try:
            one_flow(browser, target, times)
            done += 1
        except (AssertionError, OSError, KeyError, ValueError) as exc:
            errors += 1
            if errors == 1:
                print(f"  {target.name}: first error: {exc!r}", file=sys.stderr)
            browser.client.close()
    browser.client.close()
    queue.put((done, errors, times))


def run_load(target: Target, seconds: float, clients: int) -> tuple[float, int, dict[str, list[float]]]:
    """``clients`` processes of back-to-back flows for ``seconds``; flows/s, errors, latencies."""
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.Process(target=_load_process, args=(target, seconds, queue)) for _ in range(clients)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join(30)
    times: dict[str, list[float]] = {s: [] for s in STEPS}
    for _, _, t in results:
        for step, values in t.items():
            times[step].extend(values)
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results), times


# --- the two providers ------------------------------------------------------------------


@contextmanager
def ours(tmp: Path, argon: tuple[int, int, int], database: str, workers: int) -> Iterator[Target]:
    import sqlalchemy as sa

    schema = None
    if database == "postgresql":
        schema = f"bench_{secrets.token_hex(4)}"
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp}/bench-{secrets.token_hex(4)}.sqlite3"
    port = free_port()
    m, t, p = argon
    env = {**os.environ, "IDP_DATABASE__URL": url, "IDP_SERVER__KEYS_DIR": f"{tmp}/keys",
           "IDP_SERVER__ISSUER": f"http://127.0.0.1:{port}", "IDP_LOGGING__LEVEL": "WARNING",
           "IDP_PASSWORDS__MEMORY_COST_KIB": str(m), "IDP_PASSWORDS__TIME_COST": str(t),
           "IDP_PASSWORDS__PARALLELISM": str(p), "IDP_MAIL__TRANSPORT": "file",
           "IDP_THROTTLE__ADDRESS_MAX_FAILURES": "1000000"}
    env.pop("IDP_CONFIG", None)

    def idp(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(IDP + list(args), env=env, cwd=tmp, check=True, capture_output=True, text=True,
                              input=stdin).stdout

    idp("init")
    idp("contracts", "create", "--id", "OCB0000999", "--name", "Bench", "--offer", "flexible-engine",
        "--company", "Bench", "--referent-login", LOGIN, "--referent-email", "bench.user@example.test",
        "--referent-first-name", "Bench", "--referent-last-name", "User", "--referent-phone", "0101010101")
    idp("users", "set-password", LOGIN, "--password-stdin", stdin=PASSWORD)
    secret = json.loads(idp("clients", "create", "--client-id", "bench", "--name", "Bench", "--redirect-uri", REDIRECT,
                            "--first-party", "--json"))["client_secret"]
    server = subprocess.Popen(IDP + ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                              env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port, server)
        yield Target("ours", port, secret, "/authorize", "/token", "/userinfo", "/introspect")
    finally:
        server.terminate()
        server.wait(15)
        if schema:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def install_peer(folder: Path) -> None:
    npm = shutil.which("npm")
    if not npm:
        raise SystemExit("npm is required for the peer (the machine's Node.js)")
    (folder / "package.json").write_text('{"name": "bench-peer", "private": true, "type": "module"}')
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *PEER_PACKAGES],
                   cwd=folder, check=True, stdout=subprocess.DEVNULL)
    shutil.copy(ROOT / "bench" / "peer" / "oidc_provider_server.mjs", folder)


@contextmanager
def peer(folder: Path, argon: str) -> Iterator[Target]:
    port = free_port()
    secret = secrets.token_urlsafe(32)
    env = {**os.environ, "PORT": str(port), "ISSUER": f"http://127.0.0.1:{port}", "CLIENT_SECRET": secret,
           "REDIRECT_URI": REDIRECT, "PASSWORD": PASSWORD, "ARGON2": argon, "NODE_ENV": "production"}
    server = subprocess.Popen(["node", "oidc_provider_server.mjs"], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port, server)
        yield Target("peer", port, secret, "/auth", "/token", "/me", "/token/introspection")
    finally:
        server.terminate()
        server.wait(15)


# --- report ------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes for ours")
    parser.add_argument("--modes", default="nohash,owasp")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        peer_dir = tmp / "peer"
        peer_dir.mkdir()
        print("installing oidc-provider from npm into a temporary folder …", flush=True)
        install_peer(peer_dir)
        print(f"{os.cpu_count()} cores; {args.clients} client processes; {args.rounds} rounds x {args.seconds:.0f} s "
              f"per provider; ours: gunicorn {args.workers} workers, {args.database}; peer: oidc-provider 9, node "
              f"{subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}, memory adapter")
        for mode in args.modes.split(","):
            spec = MODES[mode]
            with ours(tmp, spec["ours"], args.database, args.workers) as a, peer(peer_dir, spec["peer"]) as b:
                rates: dict[str, list[float]] = {"ours": [], "peer": []}
                times: dict[str, dict[str, list[float]]] = {"ours": {s: [] for s in STEPS}, "peer": {s: [] for s in STEPS}}
                for target in (a, b):  # warm-up: processes booted, caches and pools made
                    run_load(target, 2, 2)
                for n in range(1, args.rounds + 1):
                    for target in ((a, b) if n % 2 else (b, a)):
                        rate, errors, t = run_load(target, args.seconds, args.clients)
                        rates[target.name].append(rate)
                        for step, values in t.items():
                            times[target.name][step].extend(values)
                        print(f"  [{mode}] round {n} {target.name:<4}: {rate:7.1f} flows/s  errors {errors}", flush=True)
                ours_rate, peer_rate = statistics.median(rates["ours"]), statistics.median(rates["peer"])
                print(f"\n== {mode}: median flows/s  ours {ours_rate:.1f}   peer {peer_rate:.1f}   "
                      f"ratio ours/peer {ours_rate / peer_rate:.2f}")
                print(f"   {'endpoint':<17}{'ours p50':>10}{'ours p99':>10}{'peer p50':>10}{'peer p99':>10}   (ms)")
                for step in STEPS:
                    o, p = times["ours"][step], times["peer"][step]
                    print(f"   {step:<17}{pct(o, .5):10.1f}{pct(o, .99):10.1f}{pct(p, .5):10.1f}{pct(p, .99):10.1f}")
                print(flush=True)


if __name__ == "__main__":
    main()

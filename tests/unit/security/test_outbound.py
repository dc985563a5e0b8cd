"""Outbound calls (``idp.security.outbound``): which addresses a call may reach, that the
connection goes to the address that was checked, and one wall-clock deadline per call.

The calls go to real servers on loopback (plain TCP and TLS); names are resolved by a
stand-in for ``getaddrinfo`` so that a name can point wherever a test needs."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.security import outbound
from idp.security.outbound import DeadlineExceeded
from idp.security.outbound import Policy
from idp.security.outbound import Refused
from idp.settings import SettingsError
from idp.settings import build

LOOPBACK = Policy(allowed=outbound.parse_networks("127.0.0.0/8"))

INTERNAL = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # the cloud metadata service
    "169.254.0.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible (deprecated, reserved)
    "64:ff9b::a9fe:a9fe",  # NAT64 towards 169.254.169.254
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "2001:db8::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert outbound.is_internal(ip)
    assert not Policy().permits(ip)
    with pytest.raises(Refused):
        Policy().check(ip)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not outbound.is_internal(ipaddress.ip_address(address))
    assert Policy().permits(ipaddress.ip_address(address))


def test_the_allow_list_opens_its_networks_only() -> None:
    policy = Policy(allowed=outbound.parse_networks("127.0.0.0/8, 10.1.2.0/24 fd00:1::/64"))
    for allowed in ("127.0.0.1", "::ffff:127.0.0.1", "10.1.2.77", "fd00:1::5"):
        assert policy.permits(ipaddress.ip_address(allowed)), allowed
    for refused in ("10.1.3.1", "169.254.169.254", "::1", "fd00:2::5", "::ffff:10.1.3.1"):
        assert not policy.permits(ipaddress.ip_address(refused)), refused


def test_a_trusted_destination_may_be_anywhere() -> None:
    assert Policy(trusted=True).permits(ipaddress.ip_address("127.0.0.1"))
    assert Policy(trusted=True).permits(ipaddress.ip_address("169.254.169.254"))


def test_allow_lists_that_are_not_networks() -> None:
    assert outbound.parse_networks("") == ()
    assert outbound.parse_networks(" 192.168.0.0/16 ,::1 ") == (
        ipaddress.ip_network("192.168.0.0/16"),
        ipaddress.ip_network("::1/128"),
    )
    with pytest.raises(ValueError, match="localhost"):
        outbound.parse_networks("127.0.0.0/8, localhost")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://rp.example/logout",
        "file:///etc/passwd",
        "https://user:pw@rp.example/logout",
        "https://@rp.example/",
        "/relative",
        "https:///nohost",
        "https://rp.example:99999/",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_urls_that_are_never_called(url: str) -> None:
    with pytest.raises(Refused):
        outbound.post_form(url, {}, policy=Policy(trusted=True), deadline_seconds=1)


# --- real calls -------------------------------------------------------------------------------


Behaviour = Callable[["Peer", socket.socket], None]


class Peer:
    """A TCP (or TLS) server on loopback; ``behave(peer, conn)`` answers each connection."""

    def __init__(self, behave: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behave = behave
        self.tls = tls
        self.connections = 0
        self.received = b""
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.behave(self, conn)
        except OSError:
            pass  # the caller hung up: what several tests want
        finally:
            conn.close()

    def read_request(self, conn: socket.socket) -> bytes:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                (line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
                b"0",
            )
        )
        while len(body) < length:
            chunk = conn.recv(4096)
            if not chunk:
                break
            body += chunk
        data = head + b"\r\n\r\n" + body  # the whole request, its body included however it arrived
        self.received += data
        return data

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture
def peers() -> Iterator[Callable[..., Peer]]:
    made: list[Peer] = []

    def make(behave: Behaviour, tls: ssl.SSLContext | None = None) -> Peer:
        made.append(Peer(behave, tls))
        return made[-1]

    yield make
    for peer in made:
        peer.close()


def answering(status: str, extra: bytes = b"") -> Behaviour:
    def behave(peer: Peer, conn: socket.socket) -> None:
        peer.read_request(conn)
        conn.sendall(f"HTTP/1.1 {status}\r\n".encode() + extra + b"Content-Length: 0\r\n\r\n")

    return behave


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Names the stand-in resolver knows (name → list of addresses, or a callable), and how
    often each was looked up."""
    table: dict[str, Any] = {"lookups": []}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            return real(host, port, *args, **kwargs)
        table["lookups"].append(host)
        answer = table[host]
        addresses = answer() if callable(answer) else answer
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def test_a_call_to_loopback_is_refused_before_any_connection(peers: Callable[..., Peer], names: dict[str, Any]) -> None:
    peer = peers(answering("200 OK"))
    names["rp.example.test"] = ["127.0.0.1"]
    for url in (
        f"http://rp.example.test:{peer.port}/bc",
        f"http://127.0.0.1:{peer.port}/bc",
        f"http://[::ffff:127.0.0.1]:{peer.port}/bc",
        f"http://localhost:{peer.port}/bc",
    ):
        with pytest.raises(Refused, match="internal"):
            outbound.post_form(url, {"a": "b"}, policy=Policy(), deadline_seconds=2)
    time.sleep(0.3)
    assert peer.connections == 0


def test_a_name_with_any_internal_address_is_refused(peers: Callable[..., Peer], names: dict[str, Any]) -> None:
    peer = peers(answering("200 OK"))
    names["rp.example.test"] = ["93.184.216.34", "169.254.169.254"]
    with pytest.raises(Refused, match=r"169\.254\.169\.254"):
        outbound.post_form(f"http://rp.example.test:{peer.port}/", {}, policy=Policy(), deadline_seconds=2)
    assert peer.connections == 0


def test_the_name_is_resolved_once_and_the_checked_address_is_called(
    peers: Callable[..., Peer], names: dict[str, Any]
) -> None:
    """DNS rebinding: a second lookup would now say 10.0.0.1 (or fail); there is none. The
    connection goes to the address that was checked, the name travels in Host only."""
    peer = peers(answering("204 No Content"))
    answers = iter([["127.0.0.1"]])
    names["rp.example.test"] = lambda: next(answers, ["10.0.0.1"])
    status = outbound.post_form(
        f"http://rp.example.test:{peer.port}/bc?x=1", {"logout_token": "t.k.n"}, policy=LOOPBACK, deadline_seconds=2
    )
    assert status == 204 and names["lookups"] == ["rp.example.test"]
    assert peer.received.startswith(b"POST /bc?x=1 HTTP/1.1\r\n")
    assert f"\r\nHost: rp.example.test:{peer.port}\r\n".encode() in peer.received
    assert b"logout_token=t.k.n" in peer.received


def test_a_redirect_is_returned_not_followed(peers: Callable[..., Peer]) -> None:
    peer = peers(answering("302 Found", b"Location: /elsewhere\r\n"))
    status = outbound.post_form(f"http://127.0.0.1:{peer.port}/bc", {}, policy=LOOPBACK, deadline_seconds=2)
    time.sleep(0.3)
    assert status == 302 and peer.connections == 1 and b"/elsewhere" not in peer.received


def _drip(peer: Peer, conn: socket.socket) -> None:
    peer.read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
        if peer.stop.wait(0.2):
            return
        conn.sendall(bytes([byte]))


def _silent(peer: Peer, conn: socket.socket) -> None:
    peer.read_request(conn)
    peer.stop.wait(20)


@pytest.mark.parametrize("behaviour", [_drip, _silent], ids=["drip", "silent"])
def test_one_deadline_for_the_whole_call(peers: Callable[..., Peer], behaviour: Behaviour) -> None:
    """A byte every 0.2 s would keep a per-read timeout waiting for ever; the call ends at
    its deadline whatever the peer does."""
    peer = peers(behaviour)
    began = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        outbound.post_form(f"http://127.0.0.1:{peer.port}/bc", {}, policy=LOOPBACK, deadline_seconds=1)
    assert 0.9 <= time.monotonic() - began < 1.8


def test_a_slow_lookup_counts_in_the_deadline(names: dict[str, Any]) -> None:
    def slow() -> list[str]:
        time.sleep(3)
        return ["127.0.0.1"]

    names["slow.example.test"] = slow
    began = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        outbound.post_form("http://slow.example.test:9/", {}, policy=LOOPBACK, deadline_seconds=1)
    assert time.monotonic() - began < 1.8


# --- TLS: the connection goes to the checked IP, the certificate is checked for the name ------


def _certificate(tmp: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for ``name``: the server's context and a client context
    that trusts only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def test_tls_to_the_checked_address_with_the_name_in_sni_and_certificate(
    peers: Callable[..., Peer], names: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, client = _certificate(tmp_path, "rp.example.test")
    seen: list[str | None] = []
    server.sni_callback = lambda _sock, name, _ctx: seen.append(name)  # type: ignore[assignment,misc,func-returns-value]
    monkeypatch.setattr(outbound, "tls_context", lambda: client)
    peer = peers(answering("200 OK"), tls=server)
    names["rp.example.test"] = ["127.0.0.1"]
    names["other.example.test"] = ["127.0.0.1"]
    assert outbound.post_form(f"https://rp.example.test:{peer.port}/bc", {}, policy=LOOPBACK, deadline_seconds=2) == 200
    assert seen == ["rp.example.test"] and names["lookups"] == ["rp.example.test"]
    with pytest.raises(ssl.SSLCertVerificationError):  # same address, a name the certificate is not for
        outbound.post_form(f"https://other.example.test:{peer.port}/bc", {}, policy=LOOPBACK, deadline_seconds=2)


def test_tls_drip_ends_at_the_deadline(
    peers: Callable[..., Peer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: dict[str, Any]
) -> None:
    server, client = _certificate(tmp_path, "rp.example.test")
    monkeypatch.setattr(outbound, "tls_context", lambda: client)
    names["rp.example.test"] = ["127.0.0.1"]
    peer = peers(_drip, tls=server)
    began = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        outbound.post_form(f"https://rp.example.test:{peer.port}/bc", {}, policy=LOOPBACK, deadline_seconds=1)
    assert 0.9 <= time.monotonic() - began < 1.8


# --- settings ----------------------------------------------------------------------------------


def test_settings_refuse_an_allow_list_that_is_not_networks() -> None:
    assert build({"oidc": {"backchannel_allowed_networks": "127.0.0.0/8, fd00::/8"}})
    with pytest.raises(SettingsError, match=r"^oidc\.backchannel_allowed_networks: 'intranet' is not a CIDR"):
        build({"oidc": {"backchannel_allowed_networks": "10.0.0.0/8, intranet"}})


def test_settings_keep_the_deadline_within_a_jobs_claim() -> None:
    """A call still running when its claim ends could be claimed and sent again meanwhile."""
    with pytest.raises(SettingsError, match=r"^oidc\.backchannel_deadline_seconds must be less than jobs\.claim"):
        build({"oidc": {"backchannel_deadline_seconds": 20}, "jobs": {"claim_seconds": 20}})

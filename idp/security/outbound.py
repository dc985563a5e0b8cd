"""Outbound HTTP that a registered URL cannot turn against us: where a call may go, and how
long it may take. Every call the IdP makes to an address chosen by someone else (today:
back-channel logout) goes through ``post_form``.

Where (SSRF). The host is resolved once, *every* address it resolves to is checked, and the
connection goes to one of those checked addresses, with the original name in the ``Host``
header and in TLS (SNI and the certificate check): no second resolution, so no DNS-rebinding
window between the check and the connection. Internal destinations are refused (loopback,
private RFC 1918 / ULA ``fc00::/7``, link-local ``169.254/16`` and ``fe80::/10`` with the
cloud metadata service ``169.254.169.254``, shared ``100.64/10``, unspecified, multicast,
reserved, documentation) unless the caller trusts the destination (a client registered as
first-party) or an operator allow-list holds the address. An IPv4 address carried in IPv6
(``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged as that IPv4
address. Redirects are never followed: the status code is the answer.

How long. One wall-clock deadline bounds the whole call: resolution, connect, TLS
handshake, sending the request, reading the status line and headers (the body is never
read). A per-operation timeout (``requests``' ``timeout``) restarts with each byte, so a
peer dripping one byte a second could hold the calling thread for ever; here every socket
operation gets only the time left.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult
from urllib.parse import urlencode
from urllib.parse import urlsplit

from requests.utils import DEFAULT_CA_BUNDLE_PATH

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

USER_AGENT = "idp-outbound/1"
# NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 destination.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

# getaddrinfo cannot be interrupted; it runs here so that the caller can give up at the
# deadline (a stuck lookup then ends with the system resolver's own timeout).
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="idp-resolve")


class Refused(Exception):
    """The destination is not one this call may reach; nothing was sent."""


class DeadlineExceeded(TimeoutError):
    """The call did not complete within its deadline; the connection was dropped."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """An allow-list from settings: CIDRs (or single addresses) separated by commas or spaces.

    Raises ``ValueError`` naming the entry that is not a network.
    """
    networks = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"not an IP network: {entry!r}") from None
    return tuple(networks)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 destination an IPv6 address stands for, if any (mapped, NAT64, 6to4)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def effective(address: IPAddress) -> IPAddress:
    """The address a connection really reaches: an IPv4 carried in IPv6 counts as itself."""
    return embedded_ipv4(address) or address


def is_internal(address: IPAddress) -> bool:
    """Anything but a public unicast destination on the Internet."""
    address = effective(address)
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or site_local
    )


@dataclass(frozen=True)
class Policy:
    """Which destinations a call may reach."""

    # Internal networks an operator allows anyway (``oidc.backchannel_allowed_networks``).
    allowed: tuple[Network, ...] = ()
    # The destination was registered by the operator as one of our own services (a
    # first-party client): every address is allowed.
    trusted: bool = False

    def permits(self, address: IPAddress) -> bool:
        if self.trusted:
            return True
        target = effective(address)
        if any(target in network or address in network for network in self.allowed):
            return True
        return not is_internal(address)

    def check(self, address: IPAddress) -> None:
        if not self.permits(address):
            raise Refused(f"destination {address} is an internal address")


def literal_address(host: str | None) -> IPAddress | None:
    """The IP address a URL's host is written as, or None for a DNS name."""
    try:
        return ipaddress.ip_address((host or "").strip("[]"))
    except ValueError:
        return None


def check_url(url: str) -> SplitResult:
    """An absolute http(s) URL with a host and no credentials; otherwise ``Refused``."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Refused("only absolute http(s) URLs may be called")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Refused("a URL to call must not carry credentials")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
        parts.hostname.encode("idna")
    except (ValueError, UnicodeError):
        raise Refused("the URL's host or port is not valid") from None
    return parts


# --- the call -------------------------------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; ``DeadlineExceeded`` once there are none."""
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"no complete answer within {self.seconds:g} s")
        return remaining


@dataclass(frozen=True)
class _Destination:
    family: int
    sockaddr: Any  # as getaddrinfo gives it (an IPv6 one keeps its scope)
    address: IPAddress


def resolve(host: str, port: int, deadline: float) -> list[_Destination]:
    """Every address of ``host``, looked up once (a literal is its own answer)."""
    literal = literal_address(host)
    if literal is not None:
        family = socket.AF_INET if literal.version == 4 else socket.AF_INET6
        return [_Destination(family, (str(literal), port), literal)]
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        infos = lookup.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise DeadlineExceeded(f"{host} was not resolved in time") from None
    found = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            found.append(_Destination(family, sockaddr, ipaddress.ip_address(str(sockaddr[0]).split("%")[0])))
    if not found:
        raise OSError(f"{host} has no IP address")
    return found


class _Reader(io.RawIOBase):
    """The response stream: each read gets only the time left before the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.left())
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client`` needs of a socket (sendall, makefile, close), deadline-bound."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self._sock.settimeout(self._deadline.left())
            view = view[self._sock.send(view) :]

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._sock, self._deadline))

    def close(self) -> None:
        self._sock.close()


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the same CA bundle as ``requests`` (tests swap it)."""
    return ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)


class _PinnedConnection(http.client.HTTPConnection):
    """A connection to addresses already checked; the URL's name only in Host and TLS."""

    def __init__(self, parts: SplitResult, destinations: list[_Destination], deadline: _Deadline) -> None:
        self._https = parts.scheme == "https"
        self.default_port = 443 if self._https else 80
        self._name = (parts.hostname or "").encode("idna").decode("ascii")
        super().__init__(self._name, parts.port or self.default_port)
        self._destinations = destinations
        self._deadline = deadline

    def connect(self) -> None:
        error: OSError = OSError("no address to connect to")
        for destination in self._destinations:
            sock = socket.socket(destination.family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self._deadline.left())
                sock.connect(destination.sockaddr)
                if self._https:
                    # The handshake's timeout is one budget for the whole handshake (CPython's
                    # _ssl counts it down), so the time left bounds it.
                    sock.settimeout(self._deadline.left())
                    sock = tls_context().wrap_socket(sock, server_hostname=self._name)
            except OSError as exc:
                sock.close()
                if isinstance(exc, DeadlineExceeded):
                    raise
                error = exc
                continue
            self.sock = _DeadlineSocket(sock, self._deadline)
            return
        raise error


def post_form(url: str, fields: Mapping[str, str], *, policy: Policy, deadline_seconds: float) -> int:
    """POST ``fields`` form-encoded to ``url``; the status code of the answer, redirects
    included (never followed).

    Raises ``Refused`` (nothing was sent: a bad URL or an address the policy refuses),
    ``DeadlineExceeded``, or what the network raises (``OSError``, ``http.client.HTTPException``).
    """
    parts = check_url(url)
    deadline = _Deadline(deadline_seconds)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    destinations = resolve(parts.hostname or "", port, deadline.at)
    for destination in destinations:
        policy.check(destination.address)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection = _PinnedConnection(parts, destinations, deadline)
    try:
        connection.request(
            "POST",
            path,
            body=urlencode(fields).encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": USER_AGENT,
                "Connection": "close",
            },
        )
        # Only the status line and headers are read: the body, whatever its size, is not.
        return connection.getresponse().status
    except TimeoutError as exc:  # a socket operation used up the time left
        if isinstance(exc, DeadlineExceeded):
            raise
        raise DeadlineExceeded(f"no complete answer within {deadline_seconds:g} s") from None
    finally:
        connection.close()

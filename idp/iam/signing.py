"""SDK-HMAC-SHA256: the canonical request of huaweicloudsdkcore's ``Signer``, rebuilt from
what was on the wire (reference iam-api.md §3), and its constant-time check.

    METHOD \\n CanonicalURI/ \\n CanonicalQuery \\n name:value\\n… \\n SignedHeaders \\n PayloadHash
    string to sign = "SDK-HMAC-SHA256\\n" + X-Sdk-Date + "\\n" + sha256(canonical request)
    signature      = hex(HMAC-SHA256(SK, string to sign))

Decisions on the reference's open points (each has a test):
- the path and query are the raw ones from the wire, re-canonicalised here;
- a raw ``+`` in the query is read as a literal ``+`` (the SDK always sends ``%2B``; a
  form-decoding client that meant a space fails the check, never the other way round);
- the signed-header list comes from the Authorization header, never recomputed, and must
  include ``x-sdk-date`` and ``host``: huaweicloudsdkcore's ``Signer`` always signs
  ``Host`` (``_process_header_host`` adds it from the endpoint when absent, and every
  header without ``_`` is signed), so a request without it was not made by the SDK, and
  its signature would be good at any service;
- a header counts only when it is signed (:func:`signed_value`): anyone on the way may add
  an unsigned ``X-Project-Id``;
- a service checking a request it received (``/v3/ec2tokens``) names the host it serves;
  the signed ``Host`` must be that one (:func:`same_host`, default ports aside), so a
  request signed for one service is good at no other;
- an empty body takes the empty hash; when ``X-Sdk-Content-Sha256`` is also present, its
  value is the second candidate (the APIG signers' reading);
- header values arrive as WSGI latin-1 strings and are turned back into UTF-8 text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from urllib.parse import quote
from urllib.parse import unquote

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
AUTH_RE = re.compile(
    r"SDK-HMAC-SHA256 +Access=(?P<access>[A-Za-z0-9]{1,64}), *SignedHeaders=(?P<headers>[a-z0-9;-]{1,1024}),"
    r" *Signature=(?P<signature>[0-9a-f]{64})"
)


class SignatureError(Exception):
    """Why a signed request is refused (the message is safe to show to its sender)."""


@dataclass(frozen=True)
class Authorization:
    access: str
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class SignedRequest:
    """What the verifier needs, as received: raw path and query, headers, body hash."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # any case; looked up case-insensitively
    body_hash: str  # sha256 hex of the raw body

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


def parse_authorization(value: str | None) -> Authorization:
    if not value or not value.startswith(ALGORITHM + " "):
        raise SignatureError("the Authorization header is not SDK-HMAC-SHA256")
    match = AUTH_RE.fullmatch(value.strip())
    if match is None:
        raise SignatureError("the Authorization header is malformed")
    headers = tuple(match.group("headers").split(";"))
    if "x-sdk-date" not in headers:
        raise SignatureError("X-Sdk-Date must be signed")
    if "host" not in headers:
        raise SignatureError("Host must be signed")
    if list(headers) != sorted(set(headers)):
        raise SignatureError("SignedHeaders must be sorted and unique")
    return Authorization(match.group("access"), headers, match.group("signature"))


def signed_value(request: SignedRequest, name: str) -> str | None:
    """A header's value if the signature covers it, else None (as if it were absent)."""
    signed_headers = parse_authorization(request.header("Authorization")).signed_headers
    return request.header(name) if name.lower() in signed_headers else None


def _host_forms(host: str) -> set[str]:
    host = host.strip().lower()
    for default in (":443", ":80"):
        if host.endswith(default):
            return {host, host.removesuffix(default)}
    return {host}


def same_host(signed_host: str | None, expected: str) -> bool:
    """Whether the signed ``Host`` names the expected service, case aside and with or
    without a default port (the SDK omits ``:443`` for https; Keystone's ec2 check retries
    without the port for the same reason)."""
    return signed_host is not None and bool(_host_forms(signed_host) & _host_forms(expected))


def request_time(request: SignedRequest) -> datetime:
    raw = request.header("X-Sdk-Date") or ""
    try:
        return datetime.strptime(raw, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("X-Sdk-Date is missing or not YYYYMMDDTHHMMSSZ") from None


def canonical_uri(raw_path: str) -> str:
    path = "/".join(quote(segment, safe="~") for segment in unquote(raw_path).split("/"))
    return path if path.endswith("/") else path + "/"


def canonical_query(raw_query: str) -> str:
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(pairs))


def _wire_text(value: str) -> str:
    """WSGI hands header bytes over as latin-1; the signer hashed them as UTF-8 text."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def canonical_request(request: SignedRequest, auth: Authorization, payload_hash: str) -> str:
    lines = []
    for name in auth.signed_headers:
        value = request.header(name)
        if value is None:
            raise SignatureError(f"the signed header {name} is missing")
        lines.append(f"{name}:{_wire_text(value).strip()}")
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.path),
            canonical_query(request.query),
            "\n".join(lines) + "\n",
            ";".join(auth.signed_headers),
            payload_hash,
        ]
    )


def payload_candidates(request: SignedRequest) -> list[str]:
    declared = request.header("X-Sdk-Content-Sha256")
    if request.body_hash == EMPTY_HASH:
        return [EMPTY_HASH] + ([declared] if declared and declared != EMPTY_HASH else [])
    if declared == "UNSIGNED-PAYLOAD":
        return [declared]  # the sender chose not to sign the body (non-JSON content)
    if declared and declared != request.body_hash:
        return []  # the body is not the one whose hash was signed
    return [request.body_hash]


def signature(secret: str, request: SignedRequest, auth: Authorization, payload_hash: str) -> str:
    digest = hashlib.sha256(canonical_request(request, auth, payload_hash).encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{request.header('X-Sdk-Date')}\n{digest}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def matches(secret: str, request: SignedRequest, auth: Authorization) -> bool:
    """Constant-time comparison against every acceptable payload-hash reading."""
    found = False
    for candidate in payload_candidates(request):
        found |= hmac.compare_digest(signature(secret, request, auth, candidate), auth.signature)
    return found

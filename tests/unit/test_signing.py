"""SDK-HMAC-SHA256 canonicalisation and check, against the reference's test vectors
(iam-api.md §3.6, verified there with huaweicloudsdkcore) and its open points (§3.8)."""

from __future__ import annotations

import hashlib

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from idp.iam import signing
from idp.iam.signing import SignatureError
from idp.iam.signing import SignedRequest

AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
DATE = "20191115T033655Z"


def request(method: str, path: str, query: str, headers: dict[str, str], body: bytes = b"") -> SignedRequest:
    return SignedRequest(method, path, query, headers, hashlib.sha256(body).hexdigest())


def auth(signed: str, sig: str) -> signing.Authorization:
    return signing.parse_authorization(f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={signed}, Signature={sig}")


def test_vector_a_the_signing_guide_example() -> None:
    req = request("GET", "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs", "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
                  {"Content-Type": "application/json", "Host": "service.region.example.com", "X-Sdk-Date": DATE})
    a = auth("content-type;host;x-sdk-date", "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe")
    canonical = signing.canonical_request(req, a, signing.EMPTY_HASH)
    assert hashlib.sha256(canonical.encode()).hexdigest() == "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    assert signing.matches(SK, req, a)


def test_vector_b_local_get() -> None:
    req = request("GET", "/v1/servers", "limit=2",
                  {"Content-Type": "application/json", "Host": "127.0.0.1:5001", "X-Sdk-Date": DATE})
    assert signing.matches(SK, req, auth("content-type;host;x-sdk-date",
                                         "c74081babfa175806e1f37956b0724736daaa900a6f88085d9fda67d7a9a478c"))


def test_vector_c_post_with_project_and_body() -> None:
    body = b'{"server":{"name":"vm1"}}'
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1:5001",
               "X-Project-Id": "0123456789abcdef0123456789abcdef", "X-Sdk-Date": DATE}
    req = request("POST", "/v1/0123456789abcdef0123456789abcdef/servers", "", headers, body)
    assert req.body_hash == "2a36e3a192e928d5551d92298e7c3a9a9806a8c11db79a408d8647b86ad518e5"
    a = auth("content-type;host;x-project-id;x-sdk-date", "53e91b985e685cd16a41514d6430c0d573672600f34575bead4f3c7af20fedbb")
    assert signing.matches(SK, req, a)
    # any change to what was signed breaks it
    assert not signing.matches(SK, request("POST", req.path, "", headers, body + b" "), a)
    assert not signing.matches(SK, request("POST", req.path + "x", "", headers, body), a)
    assert not signing.matches(SK, request("POST", req.path, "a=1", headers, body), a)
    assert not signing.matches(SK, request("POST", req.path, "", {**headers, "X-Project-Id": "f" * 32}, body), a)
    assert not signing.matches("x" + SK[1:], req, a)


def test_canonical_uri_and_query_rules() -> None:
    assert signing.canonical_uri("/v1/a b/c%2Fd") == "/v1/a%20b/c/d/"
    assert signing.canonical_uri("/v1/x/") == "/v1/x/"
    assert signing.canonical_query("b=2&a=1&a=0&empty=") == "a=0&a=1&b=2&empty="
    assert signing.canonical_query("q=a+b") == "q=a%2Bb"  # a raw + stays a plus
    assert signing.canonical_query("") == ""


def test_empty_body_accepts_the_declared_hash_as_second_reading() -> None:
    headers = {"Host": "h", "X-Sdk-Date": DATE, "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}
    req = request("GET", "/", "", headers)
    assert signing.payload_candidates(req) == [signing.EMPTY_HASH, "UNSIGNED-PAYLOAD"]
    body_req = request("POST", "/", "", {**headers, "X-Sdk-Content-Sha256": "f" * 64}, b"data")
    assert signing.payload_candidates(body_req) == []  # declared hash is not the body's


@pytest.mark.parametrize("value", [
    None, "", "Bearer abc", "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=" + "0" * 64,  # date not signed
    "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;host, Signature=" + "0" * 64,  # not sorted
    "SDK-HMAC-SM3 Access=AK, SignedHeaders=host;x-sdk-date, Signature=" + "0" * 64,
    "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=zz",
])
def test_malformed_authorization_is_refused(value: str | None) -> None:
    with pytest.raises(SignatureError):
        signing.parse_authorization(value)


def test_non_ascii_header_values_are_read_as_utf8() -> None:
    wire = "café".encode().decode("latin-1")  # how WSGI hands it over
    req = request("GET", "/", "", {"Host": "h", "X-Sdk-Date": DATE, "X-Name": wire})
    a = signing.Authorization(AK, ("host", "x-name", "x-sdk-date"), "0" * 64)
    assert "x-name:café" in signing.canonical_request(req, a, signing.EMPTY_HASH)


# --- bound to their service (issue 11) ----------------------------------------------------------


def test_the_official_sdk_always_signs_host() -> None:
    """Why ``host`` is required: huaweicloudsdkcore's Signer adds ``Host`` from the endpoint
    when absent and signs every header without ``_``; a list without it is not the SDK's."""
    sdk = SdkRequest(method="GET", schema="https", host="console.example", resource_path="/v1/whoami",
                     query_params=[], header_params={"Content-Type": "application/json"}, body="")
    BasicCredentials(AK, SK).sign_request(sdk)
    parsed = signing.parse_authorization(sdk.header_params["Authorization"])
    assert "host" in parsed.signed_headers and sdk.header_params["Host"] == "console.example"
    # and our parser refuses that same header once host is left out of its signed list
    signed = sdk.header_params["Authorization"]
    without_host = signed.replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;")
    assert without_host != signed
    with pytest.raises(SignatureError, match="Host must be signed"):
        signing.parse_authorization(without_host)


def test_host_must_be_signed() -> None:
    with pytest.raises(SignatureError, match="Host must be signed"):
        signing.parse_authorization(f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;x-sdk-date, "
                                    f"Signature={'0' * 64}")


def test_a_header_counts_only_when_signed() -> None:
    headers = {"Host": "h", "X-Sdk-Date": DATE, "X-Project-Id": "p" * 32}
    unsigned = request("GET", "/", "", {**headers, "Authorization": f"SDK-HMAC-SHA256 Access={AK}, "
                                        f"SignedHeaders=host;x-sdk-date, Signature={'0' * 64}"})
    signed = request("GET", "/", "", {**headers, "Authorization": f"SDK-HMAC-SHA256 Access={AK}, "
                                      f"SignedHeaders=host;x-project-id;x-sdk-date, Signature={'0' * 64}"})
    assert signing.signed_value(unsigned, "X-Project-Id") is None
    assert signing.signed_value(signed, "x-project-id") == "p" * 32


@pytest.mark.parametrize(("signed_host", "expected", "same"), [
    ("console.example", "console.example", True),
    ("Console.Example", "console.example", True),
    ("console.example:443", "console.example", True),  # default ports aside
    ("console.example", "console.example:443", True),
    ("127.0.0.1:5002", "127.0.0.1:5002", True),
    ("127.0.0.1:5003", "127.0.0.1:5002", False),
    ("other.example", "console.example", False),
    ("console.example.evil", "console.example", False),
    (None, "console.example", False),
])
def test_same_host(signed_host: str | None, expected: str, same: bool) -> None:
    assert signing.same_host(signed_host, expected) is same

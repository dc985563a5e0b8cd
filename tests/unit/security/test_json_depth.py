"""The input guard's depth count: linear, no recursion, strings skipped."""

from __future__ import annotations

import json
import time

import pytest

from idp.security.input_guard import MAX_BODY_BYTES
from idp.security.input_guard import json_depth


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'"[[[["', 0),
        (b'["\\"[[", ["]]]"]]', 2),  # an escaped quote does not end the string
        (b'["\\\\", [[]]]', 3),  # an escaped backslash does
        (b"[" * 20_000 + b"]" * 20_000, 20_000),
        (b"  42 ", 0),
    ],
)
def test_depth(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_depth_agrees_with_the_parser_on_real_json() -> None:
    value: object = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 'a]}"['}}}}}
    assert json_depth(json.dumps(value).encode()) == 5


@pytest.mark.parametrize(
    "body",
    [
        b'"' + b'\\"' * (MAX_BODY_BYTES // 2),  # an unterminated string of escaped quotes
        b'"' + b'\\"' * (MAX_BODY_BYTES // 2) + b"\\",
        b'"["' * (MAX_BODY_BYTES // 3),
        b"[" * MAX_BODY_BYTES,
    ],
)
def test_adversarial_bodies_take_milliseconds(body: bytes) -> None:
    start = time.perf_counter()
    json_depth(body)
    assert time.perf_counter() - start < 0.2

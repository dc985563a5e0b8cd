"""Every per-address limit counts an IPv6 address's whole /64 (``ratelimit.address_key``)."""

from __future__ import annotations

import pytest

from idp.security.ratelimit import address_group
from idp.security.ratelimit import address_key


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),  # any spelling of the same /64
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),  # IPv4-mapped: the IPv4 address
        ("192.0.2.1", "192.0.2.1"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_ipv6_addresses_are_grouped_by_slash_64(address: str | None, group: str) -> None:
    assert address_group(address) == group


def test_keys_of_one_slash_64_are_one_key() -> None:
    one = address_key("captcha", "2001:db8::1")
    assert one == address_key("captcha", "2001:db8::ffff:1") == "captcha:a:2001:db8::/64"
    assert address_key("captcha", "192.0.2.1") != address_key("captcha", "192.0.2.2")

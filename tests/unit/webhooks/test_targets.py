"""The SSRF guard's pure rules: which URLs a webhook may name, which addresses it may reach."""

from __future__ import annotations

import ipaddress

import pytest

from services.webhooks.targets.domain import (
    InvalidWebhookUrl,
    TargetRefused,
    check_addresses,
    literal_address,
    parse_target,
    refusal_of,
)
from services.webhooks.targets.resolver import resolve

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.10.10", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 (an address to refuse, not one to bind)
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "public"),  # carrier-grade NAT: shared, not public
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "metadata"),
    ("::ffff:10.0.0.1", "private"),
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("fd00:ec2::254", "metadata"),
]
ALLOWED = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_a_non_public_address_is_refused_with_its_reason(address: str, reason: str):
    refusal = refusal_of(ipaddress.ip_address(address))
    assert refusal is not None and reason in refusal


@pytest.mark.parametrize("address", ALLOWED)
def test_a_public_address_is_allowed(address: str):
    assert refusal_of(ipaddress.ip_address(address)) is None


def test_one_private_address_among_public_ones_refuses_the_host():
    addresses = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.0.0.5")]
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.5"):
        check_addresses("rebind.example", addresses, allow_private=False)
    assert check_addresses("rebind.example", addresses, allow_private=True) == addresses


def test_a_host_with_no_address_is_refused_even_when_private_targets_are_allowed():
    with pytest.raises(TargetRefused):
        check_addresses("nowhere.example", [], allow_private=True)


@pytest.mark.parametrize("url", [
    "ftp://example.com/hook", "file:///etc/passwd", "gopher://example.com", "example.com/hook", "https://",
    "https://user:pass@example.com/hook", "https://user@example.com/hook", "https://example.com/a b",
    "https://example.com/#frag", "http://[::1", "https://example.com:99999/", "https://example.com/" + "a" * 2048,
])
def test_a_url_that_is_not_plain_http_or_https_is_invalid(url: str):
    with pytest.raises(InvalidWebhookUrl):
        parse_target(url)


def test_a_valid_url_gives_its_host_and_port():
    assert parse_target("https://Hooks.Example.com/in?x=1").host == "hooks.example.com"
    assert parse_target("https://hooks.example.com/in").port == 443
    assert parse_target("http://hooks.example.com/in").port == 80
    assert parse_target("http://[::1]:8080/in").host == "::1"
    assert literal_address("::1") == ipaddress.ip_address("::1")
    assert literal_address("hooks.example.com") is None


@pytest.mark.parametrize("url", [
    "http://a..example.com/hooks", "https://" + "a" * 64 + ".example.com/hooks", "http://.example.com/",
])
def test_a_host_the_resolver_could_not_encode_is_an_invalid_url(url: str):
    # Each would make the lookup raise UnicodeError (a label empty or over 63 characters).
    with pytest.raises(InvalidWebhookUrl, match="not a valid host name"):
        parse_target(url)


def test_a_host_of_63_character_labels_and_a_trailing_dot_is_valid():
    assert parse_target("https://" + "a" * 63 + ".example.com./in").host == "a" * 63 + ".example.com."


async def test_a_host_that_cannot_be_encoded_is_refused_by_the_resolver_too():
    with pytest.raises(TargetRefused, match="cannot be resolved"):
        await resolve("a..example.com")

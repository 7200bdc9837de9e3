"""Which URLs a webhook may name and which addresses it may reach: pure rules, no I/O.

The SSRF guard: a webhook makes this service send requests to an address of the customer's choosing, from
inside our network. So a target is refused if ANY address its host resolves to is not a public one
(loopback, private, link-local with the cloud metadata address, multicast, reserved, unspecified, shared
carrier-grade NAT space, or an IPv6 form of one of those), unless private targets are allowed on purpose
(WEBHOOK_ALLOW_PRIVATE=true for local runs and tests). The addresses checked are the ones connected to
(`targets.resolver`), so a name that resolves differently a moment later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from common.contracts import problems
from common.contracts.webhooks import MAX_URL_LENGTH
from common.problems import RuleBroken

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
CLOUD_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


class InvalidWebhookUrl(RuleBroken):
    problem = problems.WEBHOOK_URL_INVALID


class TargetRefused(RuleBroken):
    problem = problems.WEBHOOK_TARGET_REFUSED


@dataclass(frozen=True)
class Target:
    """Where a webhook URL points: the host to resolve and the port to connect to."""

    url: str
    scheme: str
    host: str
    port: int


def parse_target(url: str) -> Target:
    """An http(s) URL of at most 2048 characters with a host and no credentials, or InvalidWebhookUrl."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise InvalidWebhookUrl("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidWebhookUrl(f"The URL is not valid: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookUrl("The URL must start with http:// or https://.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidWebhookUrl("The URL may not carry credentials (user:password@); authenticate by signature.")
    if not host:
        raise InvalidWebhookUrl("The URL names no host.")
    if parts.fragment:
        raise InvalidWebhookUrl("The URL may not have a fragment (#...).")
    if literal_address(host) is None:
        _require_dns_name(host)
    return Target(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


def _require_dns_name(host: str) -> None:
    """A host name the resolver can look up. The lookup IDNA-encodes it first, and a name that does not
    encode (an empty label, as in `a..example.com`, or one over 63 characters) would fail there with a
    UnicodeError rather than as a name that does not resolve: it is refused here instead, clearly."""
    try:
        host.encode("idna")
    except UnicodeError:
        raise InvalidWebhookUrl(
            f"The URL's host {host[:100]!r} is not a valid host name: its dot-separated parts must each be "
            "1 to 63 characters long, of characters a host name may have."
        ) from None


def literal_address(host: str) -> IPAddress | None:
    """The address a host is, when it is written as one (`10.0.0.1`, `[::1]` as `::1`)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def refusal_of(address: IPAddress) -> str | None:
    """Why this address may not be a webhook target, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            reason = refusal_of(embedded)
            return f"{reason} (inside an IPv6 address)" if reason else None
    if address in CLOUD_METADATA:
        return "the cloud metadata address"
    for reason, applies in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if applies:
            return f"a {reason} address"
    if not address.is_global:
        return "not a public address"
    return None


def check_addresses(host: str, addresses: Iterable[IPAddress], allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to, all of them allowed; TargetRefused if any is not (or there are none)."""
    found = list(dict.fromkeys(addresses))
    if not found:
        raise TargetRefused(f"The host {host} resolves to no address.")
    if allow_private:
        return found
    for address in found:
        reason = refusal_of(address)
        if reason is not None:
            raise TargetRefused(f"The host {host} resolves to {address}, {reason}: webhooks only reach public "
                                "addresses.")
    return found

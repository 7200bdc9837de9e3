"""Webhook signatures: HMAC-SHA256 over `"{timestamp}.{body}"`, sent as `t=<unix ts>,v1=<hex>`.

The timestamp is signed with the body so that a captured webhook cannot be replayed later than the
tolerance; several `v1` values are accepted so that a secret can be rotated without downtime.
"""

from __future__ import annotations

import hashlib
import hmac

from common.contracts import problems
from common.problems import MalformedRequest

TOLERANCE_SECONDS = 300


class InvalidSignature(MalformedRequest):
    problem = problems.INVALID_SIGNATURE


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("The signature header is malformed.")
    return timestamp, signatures


def verify(secret: str, header: str | None, body: bytes, now: float, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Raise unless `header` signs `body` with `secret` at a time within `tolerance` of `now`."""
    if not header:
        raise InvalidSignature("The webhook is not signed.")
    timestamp, signatures = _parse(header)
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("The webhook's timestamp is outside the tolerance.")
    expected = _digest(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("The webhook's signature does not match.")

"""Idempotency keys: a replayed request must be recognised as the same request, or refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def request_fingerprint(body: Any) -> str:
    """A stable hash of a request's meaning: key order and whitespace do not change it."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()

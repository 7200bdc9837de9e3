"""Ledger account identity, shared by the gateway (which names accounts to clients) and the ledger.

An account's id is derived from its tenant and its code, so the gateway can name an account that the
ledger has not opened yet (a user who never held a credit) without a round trip, and both sides agree.
"""

from __future__ import annotations

import uuid
from typing import Literal

_ACCOUNT_NAMESPACE = uuid.UUID("6f1c1f0e-6d2b-4f43-9a57-2a7f3c9b8e10")

AccountKind = Literal["system", "user", "world", "spent", "expired", "promotions"]
SYSTEM = "system"
WORLD = "world"  # where purchased credits come from, and refunded ones go back to
SPENT = "spent"  # credits used on SMS
EXPIRED = "expired"  # credits whose lot lapsed
PROMOTIONS = "promotions"  # where promotional credits come from: granted by an operator, never paid for
USER_FACING = frozenset({"system", "user"})
# The ledger's own accounts, outside any tenant's reach: the other side of credits entering or leaving.
INTERNAL = frozenset({WORLD, SPENT, EXPIRED, PROMOTIONS})


def user_code(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def account_id(tenant_id: uuid.UUID, code: str) -> uuid.UUID:
    return uuid.uuid5(_ACCOUNT_NAMESPACE, f"{tenant_id}/{code}")


def kind_of(code: str) -> AccountKind:
    if code.startswith("user:"):
        return "user"
    if code == SYSTEM or code in INTERNAL:
        return code  # type: ignore[return-value]
    raise ValueError(f"unknown account code {code!r}")


def owner_of(code: str) -> uuid.UUID | None:
    return uuid.UUID(code.removeprefix("user:")) if code.startswith("user:") else None


SYSTEM_CREDITS = "System Credits"
_OUTSIDE_LABELS = {"purchase": "Purchase", "refund": "Refund"}
_INTERNAL_LABELS = {SPENT: "SMS sent", EXPIRED: "Expired", PROMOTIONS: "Promotional credits"}


def counterparty_label(code: str | None, kind: str, names: dict[str, str]) -> str | None:
    """What the other side of a movement is called in a log: a person (from `names`, code -> name),
    System Credits, or, for the internal accounts, what happened (a purchase, credits spent on SMS)."""
    if code is None:
        return None
    if code == SYSTEM:
        return SYSTEM_CREDITS
    if code == WORLD:
        return _OUTSIDE_LABELS.get(kind, "Outside")
    if code in _INTERNAL_LABELS:
        return _INTERNAL_LABELS[code]
    return names.get(code, "Former user")

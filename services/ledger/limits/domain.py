"""The rules of spending limits, pure and synchronous: which calendar month a moment falls in (in the
tenant's zone), what a limit leaves of it, whether a hold fits, and who may read or set a limit.

What counts toward the month: the credits of every hold placed for the person's messages this month that
is still open (reserved, so a burst of concurrent sends cannot overshoot) plus what was captured of those
already settled. What a void, an expiry or a partial capture gave back does not count. A hold belongs
to the month it was placed in, whenever it is settled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from common.contracts import problems
from common.identity import Identity
from common.problems import Forbidden, NotFound, RuleBroken

SMALLEST_LIMIT = 1
LARGEST_LIMIT = 10_000_000


class MonthlyLimitReached(RuleBroken):
    problem = problems.MONTHLY_LIMIT_REACHED


class LimitInvalid(RuleBroken):
    problem = problems.LIMIT_INVALID


class LimitsForbidden(Forbidden):
    pass


class UserNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such user.")


@dataclass(frozen=True)
class Month:
    """A calendar month in a zone, as the instants it starts and ends at (the next one's start)."""

    starts_at: datetime
    resets_at: datetime


def month_of(moment: datetime, zone: tzinfo) -> Month:
    """The calendar month `moment` falls in, in `zone`. Midnight on the first is wall-clock time there, so
    the month is as long as the zone says (a daylight-saving change inside it moves no boundary)."""
    local = moment.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    following = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=zone)
    return Month(start.astimezone(UTC), following.astimezone(UTC))


def remaining(limit: int | None, used: int) -> int | None:
    """What the limit leaves this month (never below zero); None without a limit."""
    return None if limit is None else max(limit - used, 0)


def check_hold(limit: int | None, used: int, quantity: int, name: str | None) -> None:
    """Whether a hold of `quantity` fits in what the limit leaves this month."""
    left = remaining(limit, used)
    if left is None or quantity <= left:
        return
    who = name or "This user"
    raise MonthlyLimitReached(
        f"{who} has {left} of their {limit} credits left this month; this message needs {quantity}.",
        errors=[{"field": "quantity", "message": f"At most {left} credits this month.",
                 "remaining": left, "monthly_credit_limit": limit, "needed": quantity}],
    )


def check_limit(limit: int | None) -> None:
    if limit is not None and not SMALLEST_LIMIT <= limit <= LARGEST_LIMIT:
        raise LimitInvalid(
            f"A monthly credit limit is {SMALLEST_LIMIT:,} to {LARGEST_LIMIT:,} credits, or null for none.",
            errors=[{"field": "monthly_credit_limit",
                     "message": f"From {SMALLEST_LIMIT} to {LARGEST_LIMIT}, or null."}],
        )


def require_may_set(identity: Identity) -> uuid.UUID:
    """The gateway (a service token for a tenant), a master, or a user who manages credits (everyone's in
    the tenant: `common.permissions.may_manage`) sets limits. Answers the tenant."""
    tenant_id = identity.require_tenant()
    if identity.role in ("service", "master") or (identity.role == "user" and identity.manage_credits):
        return tenant_id
    raise LimitsForbidden("Only masters and users who manage credits set spending limits.")


def require_may_see(identity: Identity, user_id: uuid.UUID) -> uuid.UUID:
    """Those who may set a person's limit, and the person themselves, may read it. Answers the tenant."""
    tenant_id = identity.require_tenant()
    if identity.user_id == user_id and identity.role in ("master", "user"):
        return tenant_id
    return require_may_set(identity)

"""Balance alerts, pure and synchronous: the levels an account's holder sets, what each is in credits, and
when a change of the available balance crosses one.

A level is a number of credits (`absolute`) or a percentage of the account's last purchase (`percent`: 20
means a fifth of the quantity last bought, rounded down; with no purchase yet it is inactive). A level is
*crossed* when the available balance goes from at or above it to below it (`ledger.balance.low`, once) and
*recovered* when it is back at or above it (`ledger.balance.recovered`, once). An account with levels of its
own is alerted by those alone; the tenant's single threshold applies only to accounts with none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from common.contracts import problems
from common.identity import Identity
from common.problems import Forbidden, RuleBroken

Kind = Literal["absolute", "percent"]
MAX_LEVELS = 5


class AlertInvalid(RuleBroken):
    problem = problems.ALERT_INVALID


class AlertsForbidden(Forbidden):
    pass


@dataclass(frozen=True)
class Level:
    """One alert level of one account, with whether the available balance is below it now."""

    id: uuid.UUID
    account_id: uuid.UUID
    position: int
    name: str
    kind: Kind
    value: int
    below: bool = False


@dataclass(frozen=True)
class AccountAlerts:
    """An account's levels (in the order they were set) and the quantity of its last purchase."""

    levels: tuple[Level, ...] = ()
    last_purchase: int | None = None


@dataclass(frozen=True)
class Crossing:
    level: Level
    threshold: int
    recovered: bool  # False: crossed below; True: back at or above


def threshold_of(level: Level, last_purchase: int | None) -> int | None:
    """The level in credits now; None when a percentage has no purchase to be a percentage of."""
    if level.kind == "absolute":
        return level.value
    if not last_purchase:
        return None
    return last_purchase * level.value // 100


def evaluate(alerts: AccountAlerts, available: int) -> tuple[AccountAlerts, list[Crossing]]:
    """The levels after the available balance became `available`, and the crossings to announce: those
    crossed below, highest first, then those recovered, lowest first (the order a balance moving one
    credit at a time would meet them). An inactive level keeps its flag: nothing is announced for it."""
    after: list[Level] = []
    crossings: list[Crossing] = []
    for level in alerts.levels:
        threshold = threshold_of(level, alerts.last_purchase)
        if threshold is None:
            after.append(level)
            continue
        below = available < threshold
        if below != level.below:
            crossings.append(Crossing(level, threshold, recovered=not below))
        after.append(replace(level, below=below))
    lows = sorted((c for c in crossings if not c.recovered), key=lambda c: (-c.threshold, c.level.position))
    ups = sorted((c for c in crossings if c.recovered), key=lambda c: (c.threshold, c.level.position))
    return replace(alerts, levels=tuple(after)), [*lows, *ups]


def check_levels(levels: Sequence[tuple[str, str, int]]) -> None:
    """The rules of a set of levels (name, kind, value): at most five, distinct names, credits at least 1,
    a percentage from 1 to 100."""
    if len(levels) > MAX_LEVELS:
        raise AlertInvalid(f"An account has at most {MAX_LEVELS} alert levels.")
    names = [name.strip().casefold() for name, _, _ in levels]
    if any(not name for name in names):
        raise AlertInvalid("Every alert level needs a name.")
    if len(set(names)) != len(names):
        raise AlertInvalid("Two alert levels have the same name.")
    for name, kind, value in levels:
        if kind == "absolute" and value < 1:
            raise AlertInvalid(f"The level {name!r} must be at least 1 credit.")
        if kind == "percent" and not 1 <= value <= 100:
            raise AlertInvalid(f"The level {name!r} must be a percentage from 1 to 100.")


def new_levels(
    account_id: uuid.UUID, wanted: Sequence[tuple[str, str, int]], available: int, last_purchase: int | None
) -> list[Level]:
    """Levels that replace an account's: each starts below if the balance already is, so setting them sends
    nothing (no storm of alerts for what the holder can see), and the next rise above announces recovery."""
    check_levels(wanted)
    levels = [Level(uuid.uuid4(), account_id, n, name.strip(), kind, value)  # type: ignore[arg-type]
              for n, (name, kind, value) in enumerate(wanted)]
    return [replace(level, below=(t := threshold_of(level, last_purchase)) is not None and available < t)
            for level in levels]


def require_setter(identity: Identity) -> uuid.UUID:
    """Levels are set for a person, through the gateway, which has checked that they manage the account."""
    tenant = identity.require_tenant()
    if identity.role not in ("master", "user"):
        raise AlertsForbidden("Alert levels are set by a person who manages the account.")
    return tenant


def latest_purchases(
    bought: Sequence[tuple[uuid.UUID, int]], known: Mapping[uuid.UUID, AccountAlerts]
) -> dict[uuid.UUID, AccountAlerts]:
    """The alerts of accounts a purchase credited (account, quantity), with that purchase as their last."""
    return {account: replace(known.get(account, AccountAlerts()), last_purchase=quantity)
            for account, quantity in bought}

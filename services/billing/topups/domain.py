"""Auto top-up rules, pure and synchronous: valid settings, an account's available credits after a
ledger transaction, and whether that moment calls for a top-up.

Never a loop of charges: a top-up starts only when the account is active (a declined card suspends
it), below its threshold, no other top-up is in flight, the event is newer than the last top-up's
credit (an older one describes a balance from before it), and the day's cap leaves room. Just before
its card is charged, the month's cap in money must leave room too (`within_monthly_cap`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal

from common import accounts
from common.contracts import problems
from common.contracts.events import TransactionPosted
from common.problems import NotFound, RuleBroken
from services.billing.price_lists.domain import PriceList, QuantityOutOfRange

TopUpStatus = Literal["active", "suspended", "off"]
# Credits taken back by a refund or swept by a credit-mode switch were not spent: buying more because
# of them would undo what someone just chose to do.
_NOT_SPENDING = frozenset({"refund", "mode_change"})
Decision = Literal["top_up", "not_active", "above_threshold", "stale", "in_flight", "daily_cap"]
# Why a top-up was not charged when the month's cap had no room for it: recorded and emailed as a decline.
MONTHLY_CAP_REACHED = "monthly cap reached"


class AutoTopUpInvalid(RuleBroken):
    problem = problems.AUTO_TOP_UP_INVALID


class NoSavedCard(RuleBroken):
    problem = problems.NO_SAVED_CARD


class AutoTopUpNotFound(NotFound):
    problem = problems.AUTO_TOP_UP_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("This account has no auto top-up.")


@dataclass(frozen=True)
class TopUpRequest:
    """What someone asks for an account; the payer is whoever asks."""

    account_id: uuid.UUID
    account_code: str
    threshold: int
    quantity: int
    daily_cap: int
    monthly_cap_cents: int | None = None


@dataclass(frozen=True)
class AutoTopUp:
    account_id: uuid.UUID
    tenant_id: uuid.UUID
    account_code: str
    payer_user_id: uuid.UUID
    threshold: int
    quantity: int
    daily_cap: int
    status: TopUpStatus = "active"
    suspended_reason: str | None = None
    topped_up_through_seq: int = 0
    monthly_cap_cents: int | None = None


def check_settings(
    threshold: int, quantity: int, daily_cap: int, price_list: PriceList, monthly_cap_cents: int | None = None
) -> None:
    """Every problem at once, per field."""
    errors = []
    if threshold < 1:
        errors.append({"field": "threshold", "message": "The threshold must be at least 1 credit."})
    try:
        price_list.unit_price_for(quantity)
    except QuantityOutOfRange as exc:
        errors.append({"field": "quantity", "message": exc.detail})
    if daily_cap < quantity:
        errors.append({"field": "daily_cap", "message": "The daily cap must allow at least one top-up."})
    if monthly_cap_cents is not None and monthly_cap_cents < 1:
        errors.append({"field": "monthly_cap_cents", "message": "The monthly cap is at least 1 cent, or null."})
    if errors:
        raise AutoTopUpInvalid("The auto top-up settings are not valid.", errors=errors)


def available_after(posted: TransactionPosted) -> dict[uuid.UUID, int]:
    """Each user-facing account's available credits (balance - held) once the transaction applied;
    none for transactions that are not spending."""
    levels: dict[uuid.UUID, int] = {}
    if posted.kind in _NOT_SPENDING:
        return levels
    for posting in posted.postings:
        if accounts.kind_of(posting.account_code) in accounts.USER_FACING:
            levels[posting.account_id] = posting.balance_after - posting.held_after
    for hold in posted.holds:
        if accounts.kind_of(hold.account_code) in accounts.USER_FACING:
            levels[hold.account_id] = hold.balance_after - hold.held_after
    return levels


def decide(config: AutoTopUp, available: int, seq: int, in_flight: bool, bought_today: int) -> Decision:
    if config.status != "active":
        return "not_active"
    if available >= config.threshold:
        return "above_threshold"
    if seq <= config.topped_up_through_seq:
        return "stale"
    if in_flight:
        return "in_flight"
    if bought_today + config.quantity > config.daily_cap:
        return "daily_cap"
    return "top_up"


def month_of(day: date) -> tuple[date, date]:
    """The calendar month a local day falls in: its first day, and the first day of the next."""
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def within_monthly_cap(cap_cents: int | None, charged_this_month_cents: int, price_cents: int) -> bool:
    """Whether charging `price_cents` keeps the month's auto top-up spending at or under the cap."""
    return cap_cents is None or charged_this_month_cents + price_cents <= cap_cents

"""What the live stream tells clients: each bus event shaped into small messages (never the internal
envelope), each with the account it concerns so that who may see it is decided by the design's
permission table (`common.permissions.may_manage`), as the accounts and the log are.

Pure: no I/O. The account's owner is read from the ledger's account code (`user:<id>`), or, where an
event names only the public account id, by comparing it with the two ids a caller can be told apart by
(System Credits, and their own User Credits)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common import permissions
from common.accounts import SYSTEM, USER_FACING, account_id, kind_of, owner_of, user_code
from common.contracts import events
from common.contracts.events import Event

# Someone's User Credits, not the caller's (only the public id was given): who it is does not matter to
# `may_manage`, only that it is not System Credits and not the caller's own.
_SOMEONE_ELSE = uuid.UUID(int=0)


@dataclass(frozen=True)
class Concerns:
    """Whose the message is about: an account of the tenant (by public id, with its code when known), or
    the whole tenant (`account_id` None: everyone of it may see it)."""

    tenant_id: uuid.UUID
    account_id: uuid.UUID | None = None
    account_code: str | None = None
    also_user: uuid.UUID | None = None  # someone who may see it besides the account's managers (a sender)


@dataclass(frozen=True)
class LiveMessage:
    """One SSE message before it has an id: its `event:` name and its `data:` object."""

    name: str  # balance | hold | message | purchase | low_balance | balance_recovered | credit_mode
    data: dict[str, Any]
    concerns: Concerns = field(compare=False)


def actor_of(user_id: uuid.UUID, role: str, team: str | None, manage_credits: bool) -> permissions.Actor:
    return permissions.Actor(user_id, role, team, manage_credits)


def _owner(actor: permissions.Actor, concerns: Concerns) -> permissions.Owner | None:
    assert concerns.account_id is not None
    if concerns.account_code is not None:
        user = owner_of(concerns.account_code)
    elif concerns.account_id == account_id(concerns.tenant_id, SYSTEM):
        user = None
    elif concerns.account_id == account_id(concerns.tenant_id, user_code(actor.user_id)):
        user = actor.user_id
    else:
        user = _SOMEONE_ELSE
    return None if user is None else permissions.Owner(user, None)


def may_see(actor: permissions.Actor, tenant_id: uuid.UUID, message: LiveMessage) -> bool:
    """The caller (of `tenant_id`) may see this message: it is their tenant's, and it concerns the whole
    tenant, an account they may manage, or them (a message they sent)."""
    concerns = message.concerns
    if concerns.tenant_id != tenant_id:
        return False
    if concerns.account_id is None:
        return True
    if concerns.also_user is not None and concerns.also_user == actor.user_id:
        return True
    return permissions.may_manage(actor, _owner(actor, concerns))


def messages_of(event: Event) -> list[LiveMessage]:
    """The messages an event makes (none for a type the stream does not show)."""
    shape = _SHAPES.get(event.type)
    return shape(event) if shape is not None else []


def _user_facing(code: str) -> bool:
    try:
        return kind_of(code) in USER_FACING
    except ValueError:
        return False


def _transaction(event: Event) -> list[LiveMessage]:
    posted = event.payload(events.TransactionPosted)
    # `consistency_token`: given to GET /logs, the log answers only once it includes this transaction.
    common = {"transaction_id": str(posted.transaction_id), "kind": posted.kind,
              "occurred_at": posted.occurred_at.isoformat(), "consistency_token": posted.seq}
    balances: dict[str, tuple[uuid.UUID, int, int]] = {}
    for posting in posted.postings:
        balances[posting.account_code] = (posting.account_id, posting.balance_after, posting.held_after)
    for hold in posted.holds:
        balances[hold.account_code] = (hold.account_id, hold.balance_after, hold.held_after)
    shaped = [
        LiveMessage("balance", {"account_id": str(account), "balance": balance, "held": held,
                                "available": balance - held, **common},
                    Concerns(posted.tenant_id, account, code))
        for code, (account, balance, held) in balances.items() if _user_facing(code)
    ]
    shaped += [
        LiveMessage("hold", {"hold_id": str(hold.hold_id), "account_id": str(hold.account_id),
                             "held_delta": hold.held_delta, "held_after": hold.held_after, **common},
                    Concerns(posted.tenant_id, hold.account_id, hold.account_code))
        for hold in posted.holds if _user_facing(hold.account_code)
    ]
    return shaped


def _settled(event: Event) -> list[LiveMessage]:
    settled = event.payload(events.MessageSettled)
    account = account_id(settled.tenant_id, settled.account_code)
    # The sender sees their message settle even when it was paid from System Credits (events from before
    # the sender was named reach only the account's managers).
    sender = settled.sender_user_id
    data = {"message_id": str(settled.message_id), "account_id": str(account),
            "captured_credits": settled.captured_credits, "accepted_recipients": settled.accepted_recipients,
            "recipients": settled.recipients,
            # Every part answered: sent to the carrier where any was accepted (receipts may follow).
            "status": "submitted" if settled.accepted_recipients else "failed"}
    return [LiveMessage("message", data, Concerns(settled.tenant_id, account, settled.account_code,
                                                  sender))]


def _paid(event: Event) -> list[LiveMessage]:
    paid = event.payload(events.PurchasePaid)
    data = {"purchase_id": str(paid.purchase_id), "account_id": str(paid.account_id), "quantity": paid.quantity,
            "status": "paid"}
    return [LiveMessage("purchase", data, Concerns(paid.tenant_id, paid.account_id, paid.account_code,
                                                   paid.buyer_user_id))]


def _failed(event: Event) -> list[LiveMessage]:
    failed = event.payload(events.PurchaseFailed)
    data = {"purchase_id": str(failed.purchase_id), "account_id": str(failed.account_id), "quantity": None,
            "status": "failed"}
    return [LiveMessage("purchase", data, Concerns(failed.tenant_id, failed.account_id))]


def _low(event: Event) -> list[LiveMessage]:
    low = event.payload(events.BalanceLow)
    data = {"account_id": str(low.account_id), "available": low.available, "threshold": low.threshold,
            "level": low.level}
    return [LiveMessage("low_balance", data, Concerns(low.tenant_id, low.account_id, low.account_code))]


def _recovered(event: Event) -> list[LiveMessage]:
    up = event.payload(events.BalanceRecovered)
    data = {"account_id": str(up.account_id), "available": up.available, "threshold": up.threshold,
            "level": up.level}
    return [LiveMessage("balance_recovered", data, Concerns(up.tenant_id, up.account_id, up.account_code))]


def _mode(event: Event) -> list[LiveMessage]:
    # The accounts themselves change (User Credits appear or are swept): clients reload them.
    changed = event.payload(events.CreditModeChanged)
    return [LiveMessage("credit_mode", {"mode": changed.mode, "previous_mode": changed.previous_mode},
                        Concerns(changed.tenant_id))]


_SHAPES: dict[str, Callable[[Event], list[LiveMessage]]] = {
    events.TRANSACTION_POSTED: _transaction,
    events.MESSAGE_SETTLED: _settled,
    events.PURCHASE_PAID: _paid,
    events.PURCHASE_FAILED: _failed,
    events.BALANCE_LOW: _low,
    events.BALANCE_RECOVERED: _recovered,
    events.CREDIT_MODE_CHANGED: _mode,
}
# What the stream shows: the feed binds only these types' routing keys.
SHOWN_TYPES = frozenset(_SHAPES)

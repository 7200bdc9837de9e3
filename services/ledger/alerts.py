"""Low-balance alerts, raised inside the transaction that changed the balance."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace

from common import events
from common.events import BalanceLow, Event
from services.ledger import domain


def after_change(
    tenant_id: uuid.UUID, changed: Iterable[domain.Account], threshold: int
) -> tuple[list[domain.Account], list[Event]]:
    """For each changed user-facing account, `ledger.balance.low` once when its available balance
    crosses below the tenant's threshold, and re-armed once it is back at or above it. Answers the
    accounts with their alert flag as it is to be stored, and the alerts to publish with the change.
    No I/O: the flags were read with the account locks, and are written with the balances."""
    accounts: list[domain.Account] = []
    alerts: list[Event] = []
    for account in changed:
        if not account.user_facing or threshold <= 0:
            accounts.append(account)
            continue
        send, alerted = domain.low_balance_alert(account.available, threshold, account.low_balance_alerted)
        accounts.append(replace(account, low_balance_alerted=alerted))
        if send:
            payload = BalanceLow(tenant_id=tenant_id, account_id=account.id, account_code=account.code,
                                 available=account.available, threshold=threshold)
            alerts.append(Event.new(type=events.BALANCE_LOW, source="ledger",
                                    subject=f"{tenant_id}/{account.id}", data=payload))
    return accounts, alerts

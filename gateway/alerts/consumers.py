"""`ledger.balance.low` and `ledger.balance.recovered`, on the `gateway.alerts` queue: an email to the
account's holder and the tenant's masters, owed once per event (the inbox row and the emails commit together).

Only the events of an account's own alert levels are emailed: the tenant's single threshold (events with no
`alert_id`) was never emailed, and stays a signal for subscribers and the live stream."""

from __future__ import annotations

import uuid

from aiohttp import web

from common import inbox
from common.accounts import user_code
from common.bus import EventHandler
from common.contracts import events
from common.contracts.events import BalanceLow, BalanceRecovered, Event
from common.logs import get_logger
from common.runtime import DB
from gateway.alerts.emails import recipients
from gateway.alerts.store import AlertEmail, owe
from gateway.directory import store as directory

log = get_logger(__name__)

CONSUMER = "gateway.alerts"


def alerts_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        alert: BalanceLow | BalanceRecovered
        if event.type == events.BALANCE_LOW:
            alert, kind = event.payload(BalanceLow), "balance_low"
        elif event.type == events.BALANCE_RECOVERED:
            alert, kind = event.payload(BalanceRecovered), "balance_recovered"
        else:
            return
        if alert.alert_id is None or alert.level is None:
            return
        async with app[DB].acquire() as conn, conn.transaction():
            if not await inbox.first_delivery(conn, CONSUMER, event.id):
                return
            people = await directory.people_of(conn, alert.tenant_id)
            holder = next((p for p in people if user_code(p.id) == alert.account_code), None)
            chosen = recipients(people, alert.account_code)
            for person in chosen:
                email = AlertEmail(uuid.uuid4(), alert.tenant_id, event.id, kind, alert.account_id,
                                   holder.name if holder else None, person.name, alert.level, alert.threshold,
                                   alert.available)
                await owe(conn, email, person.email)
        log.info("balance_alert_emailed", kind=kind, account_id=str(alert.account_id), recipients=len(chosen))

    return handle

"""Sending one message: each recipient's segments go to the carrier in order, each one recorded as
about to go before it is submitted and with the carrier's answer after.

Exactly once under a crash: a segment's reference (`<part id>/<seq>`) is the same on every attempt.
A segment marked as going whose answer was never recorded (the process died between submit_sm and
the commit of submit_sm_resp, a window of a few milliseconds) is submitted again after a restart with
that reference; the carrier recognises it and answers with the first message id without sending it
again (the simulator does; for a carrier that does not de-duplicate, that window is where a recipient
could receive a duplicate, which is still charged once, because what is charged is the recorded
answers, never the attempts).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from common import sms
from common.logs import get_logger
from services.messaging.messages import store as messages_store
from services.messaging.messages.domain import UNANSWERED
from services.messaging.sending import domain, usecases
from services.messaging.sending.smpp import CarrierLink, CarrierUnavailable
from services.messaging.settings import MessagingSettings

log = get_logger(__name__)
RETRY_SECONDS = 1.0


class MessageSender:
    def __init__(self, pool: asyncpg.Pool, link: CarrierLink, settings: MessagingSettings) -> None:
        self._pool, self._link, self._settings = pool, link, settings

    async def send(self, message_id: uuid.UUID) -> None:
        """Submit every part not yet answered; returns once each has an answer (or has expired)."""
        async with self._pool.acquire() as conn:
            message = await messages_store.message(conn, message_id)
            parts = await messages_store.parts(conn, message_id) if message else []
        if message is None or message["settled_at"] is not None:
            return
        segmentation = sms.segment(message["body"])
        pdus = domain.pdus(segmentation, domain.concat_reference(message_id))
        pending = [p for p in parts if p["state"] in UNANSWERED]
        # Parts of one message go side by side; the link's window and rate bound them all together.
        await asyncio.gather(*(self._send_part(message, part, pdus) for part in pending))

    async def _send_part(self, message: asyncpg.Record, part: asyncpg.Record, pdus: list[domain.Pdu]) -> None:
        seq, total = part["next_segment"], len(pdus)
        while seq <= total:
            if not domain.may_submit(message["hold_expires_at"], datetime.now(UTC), self._settings.hold_margin_seconds):
                await usecases.part_ended(self._pool, message["id"], part["id"], seq, "expired", None)
                log.warning("part_expired_unsent", message_id=str(message["id"]), to=sms.mask(part["recipient"]))
                return
            if not await usecases.begin_segment(self._pool, part["id"], seq):
                return  # answered meanwhile by another delivery of this message
            try:
                answer = await self._link.submit(part["recipient"], pdus[seq - 1],
                                                  domain.carrier_reference(part["id"], seq))
            except CarrierUnavailable as exc:
                log.warning("segment_unanswered", message_id=str(message["id"]), seq=seq, error=str(exc))
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if answer.status in domain.TRANSIENT_STATUSES:
                await asyncio.sleep(RETRY_SECONDS)  # the carrier's window is full: slow down, offer it again
                continue
            if not answer.accepted:
                await usecases.part_ended(self._pool, message["id"], part["id"], seq, "rejected", answer.status)
                log.info("segment_rejected", message_id=str(message["id"]), to=sms.mask(part["recipient"]),
                         seq=seq, status=answer.status)
                return
            assert answer.carrier_id is not None
            await usecases.segment_accepted(self._pool, message["id"], part["id"], seq, answer.carrier_id, seq == total)
            seq += 1
        log.info("part_accepted", message_id=str(message["id"]), to=sms.mask(part["recipient"]), segments=total)

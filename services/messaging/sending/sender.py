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
import contextlib
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
# How long a delivery's claim on a message lasts unless renewed (every third of it while it sends): how long
# another delivery waits before it resumes a message whose sender died.
SEND_LEASE_SECONDS = 15.0


class SendingTakenOver(Exception):
    """Our claim on the message ran out (a stall longer than its lease) and another delivery took it: this one
    stops at once rather than submit beside it; its delivery goes back to the queue."""


class MessageSender:
    def __init__(self, pool: asyncpg.Pool, link: CarrierLink, settings: MessagingSettings,
                 lease_seconds: float = SEND_LEASE_SECONDS) -> None:
        self._pool, self._link, self._settings = pool, link, settings
        self._lease = lease_seconds

    async def send(self, message_id: uuid.UUID) -> None:
        """Submit every part not yet answered; returns once each has an answer (or has expired).

        One delivery of a message sends at a time (its claim, `messages.sender_token`): a second delivery of
        the same message, a copy published again or handed to another replica, waits while the first sends
        and returns once nothing is left unanswered; if the first died, it takes over when the lease runs out
        and resumes from what the parts recorded. Without the claim both would submit every segment (the
        carrier's de-duplication by reference was all that kept a recipient from two SMS)."""
        token = uuid.uuid4()
        while not await usecases.claim_sending(self._pool, message_id, token, self._lease):
            if not await self._unanswered(message_id):
                return  # the delivery that held the claim sent everything
            await asyncio.sleep(self._lease / 3)
        try:
            await self._while_claimed(message_id, token)
        finally:
            try:
                await asyncio.shield(usecases.release_sending(self._pool, message_id, token))
            except Exception as exc:  # the database is away: the lease runs out instead
                log.warning("send_claim_not_released", message_id=str(message_id), error=str(exc))

    async def _while_claimed(self, message_id: uuid.UUID, token: uuid.UUID) -> None:
        sending = asyncio.create_task(self._send_claimed(message_id))
        try:
            while True:
                done, _ = await asyncio.wait({sending}, timeout=self._lease / 3)
                if done:
                    return sending.result()
                if not await usecases.renew_sending(self._pool, message_id, token, self._lease):
                    raise SendingTakenOver(f"the claim on message {message_id} ran out and was taken over")
        finally:
            if not sending.done():
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending

    async def _read(self, message_id: uuid.UUID) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
        async with self._pool.acquire() as conn:
            message = await messages_store.message(conn, message_id)
            parts = await messages_store.parts(conn, message_id) if message else []
        return message, parts

    async def _unanswered(self, message_id: uuid.UUID) -> bool:
        message, parts = await self._read(message_id)
        return message is not None and message["settled_at"] is None and any(
            p["state"] in UNANSWERED for p in parts)

    async def _send_claimed(self, message_id: uuid.UUID) -> None:
        message, parts = await self._read(message_id)
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

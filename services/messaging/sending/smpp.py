"""The link to the carrier: an SMPP 3.4 transceiver session (smpp34, whose Rust core frames the PDUs,
numbers and windows them and keeps the session alive with enquire_link), bound again whenever it
drops, throttled to the carrier's window and rate, and delivering receipts as they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import smpp34

from common.logs import get_logger
from services.messaging.sending.domain import Pdu, Receipt, parse_receipt
from services.messaging.settings import MessagingSettings

log = get_logger(__name__)

ReceiptHandler = Callable[[Receipt], Awaitable[None]]
_DELIVERY_RECEIPT = 0x04  # esm_class bits 2-5: "SMSC delivery receipt"
# The core acknowledges a receipt to the carrier before we see it: one we cannot store at once (the
# database restarting) is tried again for this long, in the background, before it is given up on.
RECEIPT_RETRY_SECONDS, RECEIPT_RETRY_PAUSE = 120.0, 1.0
_REQUEST_FINAL_RECEIPT = 0x01  # registered_delivery: a receipt on final success or failure
_TON_INTERNATIONAL, _TON_ALPHANUMERIC, _NPI_ISDN = 1, 5, 1
TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE = 0x001E, 0x0427  # SMPP 3.4, 5.3.2


class CarrierUnavailable(Exception):
    """No answer from the carrier (not bound, the session dropped, or no response in time): whether
    the segment reached it is unknown, so it is offered again with the same reference."""


@dataclass(frozen=True)
class Answer:
    carrier_id: str | None
    status: int  # SMPP command_status; 0 is success

    @property
    def accepted(self) -> bool:
        return self.status == 0 and bool(self.carrier_id)


class TokenBucket:
    """At most `rate` tokens a second, in bursts of at most `burst`."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self._clock = rate, burst or max(1.0, rate / 10), clock
        self._tokens, self._at = self.capacity, clock()
        self._lock = asyncio.Lock()

    def wait_for_token(self) -> float:
        """Take a token if there is one (0.0), else how long until there is."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    async def take(self) -> None:
        async with self._lock:  # first come, first served
            delay = self.wait_for_token()
            while delay > 0:
                await asyncio.sleep(delay)
                delay = self.wait_for_token()


class CarrierLink:
    def __init__(self, settings: MessagingSettings, on_receipt: ReceiptHandler) -> None:
        self._settings = settings
        self._on_receipt = on_receipt
        self._window = asyncio.Semaphore(settings.smpp_window)
        self._bucket = TokenBucket(settings.smpp_rate_per_second)
        self._smsc: smpp34.Smsc | None = None
        self._bound = asyncio.Event()
        self._recording: set[asyncio.Task[None]] = set()  # receipts still being stored

    @property
    def is_bound(self) -> bool:
        return self._bound.is_set()

    async def run(self) -> None:
        """Bind, read until the session ends, bind again: forever."""
        while True:
            client = self._client()
            try:
                self._smsc = await client.connect()
                self._bound.set()
                log.info("smpp_bound", host=self._settings.smpp_host, port=self._settings.smpp_port)
                await self._read(self._smsc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the library raises its own and OS errors alike
                log.warning("smpp_unavailable", error=repr(exc))
            finally:
                self._bound.clear()
                self._smsc = None
                with contextlib.suppress(Exception):
                    await client.stop()
            await asyncio.sleep(self._settings.smpp_reconnect_seconds)

    def _client(self) -> smpp34.Client:
        s = self._settings
        return smpp34.Client(
            host=s.smpp_host, port=s.smpp_port, system_id=s.smpp_system_id, password=s.smpp_password,
            bind_type="TRX", window_size=s.smpp_window, connect_timeout_ms=int(s.smpp_submit_timeout * 1000),
        )

    async def _read(self, smsc: smpp34.Smsc) -> None:
        while True:
            event = await smsc.next()
            if isinstance(event, smpp34.Disconnected):
                log.warning("smpp_disconnected")
                return
            if event.esm_class & 0x3C == _DELIVERY_RECEIPT:
                await self._receipt(event)

    async def _receipt(self, event: smpp34.DeliverSmEvent) -> None:
        tlv = next((t for t in event.tlvs if t.tag == TLV_RECEIPTED_MESSAGE_ID), None)
        receipted = tlv.value.rstrip(b"\0").decode("latin-1") if tlv else None
        receipt = parse_receipt(event.short_message, receipted)
        if receipt is None:
            log.warning("smpp_receipt_unreadable")
            return
        try:
            await self._on_receipt(receipt)
        except Exception as exc:
            # Stored later, beside the session: reading the next PDUs does not wait for the database.
            log.warning("smpp_receipt_retried", carrier_id=receipt.carrier_id, error=repr(exc))
            task = asyncio.create_task(self._record_later(receipt))
            self._recording.add(task)
            task.add_done_callback(self._recording.discard)

    async def _record_later(self, receipt: Receipt) -> None:
        deadline = time.monotonic() + RECEIPT_RETRY_SECONDS
        while True:
            await asyncio.sleep(RECEIPT_RETRY_PAUSE)
            try:
                await self._on_receipt(receipt)
                log.info("smpp_receipt_recorded_late", carrier_id=receipt.carrier_id)
                return
            except Exception:
                if time.monotonic() > deadline:
                    # Acknowledged, and gone with this process: the recipient expires at the end of its
                    # validity and its credits come back (never charged for a delivery we cannot show).
                    log.exception("smpp_receipt_not_recorded", carrier_id=receipt.carrier_id)
                    return

    async def submit(self, destination: str, pdu: Pdu, reference: str) -> Answer:
        """Submit one segment; answers the carrier's answer or raises CarrierUnavailable."""
        timeout = self._settings.smpp_submit_timeout
        try:
            await asyncio.wait_for(self._bound.wait(), timeout)
        except TimeoutError:
            raise CarrierUnavailable("not bound to the carrier") from None
        async with self._window:
            await self._bucket.take()
            smsc = self._smsc
            if smsc is None:
                raise CarrierUnavailable("the session dropped")
            try:
                response = await asyncio.wait_for(self._submit(smsc, destination, pdu, reference), timeout)
            except (smpp34.SmppError, OSError, TimeoutError) as exc:
                raise CarrierUnavailable(repr(exc)) from exc
        return Answer(response.message_id, response.command_status)

    async def _submit(self, smsc: smpp34.Smsc, destination: str, pdu: Pdu, reference: str) -> smpp34.SubmitSmResp:
        source = self._settings.smpp_source_addr
        numeric = source.lstrip("+").isdigit()
        tag = self._settings.smpp_reference_tlv
        return await smsc.submit_sm(
            destination.lstrip("+"), pdu.short_message,
            source_addr=source.lstrip("+"), source_addr_ton=_TON_INTERNATIONAL if numeric else _TON_ALPHANUMERIC,
            source_addr_npi=_NPI_ISDN if numeric else 0, dest_addr_ton=_TON_INTERNATIONAL, dest_addr_npi=_NPI_ISDN,
            esm_class=pdu.esm_class, data_coding=pdu.data_coding, registered_delivery=_REQUEST_FINAL_RECEIPT,
            tlvs=[smpp34.Tlv(tag, reference.encode())] if tag else [],
        )

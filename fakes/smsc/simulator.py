"""A local SMSC to send to without a carrier account: `python -m fakes.smsc`.

It binds any ESME (smpp34's server) and answers by the documented test numbers:

- a number ending in `97` is rejected at submission (ESME_RINVDSTADR; SMSC_SIMULATOR_REJECT);
- a number ending in `99` is accepted, then its receipt says UNDELIV (SMSC_SIMULATOR_UNDELIVERABLE);
- a number ending in `98` is accepted and never gets a receipt, so it expires (SMSC_SIMULATOR_SILENT);
- any other number is accepted and delivered: DELIVRD after a short random delay (around
  SMSC_SIMULATOR_RECEIPT_SECONDS, from half of it to one and a half times it).

Like a carrier that de-duplicates, it recognises a segment submitted again with the same reference
(the optional parameter SMPP_REFERENCE_TLV) and answers with the first message id, sending nothing.
A small HTTP API shows what it received (`GET /submissions`), for tests and the curious.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import smpp34
from aiohttp import web
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.logs import get_logger
from common.sms import mask

log = get_logger(__name__)
_STATES = {"DELIVRD": 2, "UNDELIV": 5}
ESME_RINVDSTADR = 0x0B  # "invalid destination address"
# SMPP 3.4, 5.3.2. Spelled here, not imported from messaging's client: a carrier does not share our
# code, and a fake that did would agree with any mistake in it.
TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE = 0x001E, 0x0427


class SimulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="SMS_CREDITS_FIELD_")

    host: str = Field(default="127.0.0.1", validation_alias="SMSC_SIMULATOR_HOST")
    port: int = Field(default=2775, validation_alias="SMSC_SIMULATOR_PORT")
    http_port: int = Field(default=8085, validation_alias="SMSC_SIMULATOR_HTTP_PORT")
    reject: str = Field(default="97$", validation_alias="SMSC_SIMULATOR_REJECT")
    undeliverable: str = Field(default="99$", validation_alias="SMSC_SIMULATOR_UNDELIVERABLE")
    silent: str = Field(default="98$", validation_alias="SMSC_SIMULATOR_SILENT")
    receipt_seconds: float = Field(default=0.5, validation_alias="SMSC_SIMULATOR_RECEIPT_SECONDS", ge=0)
    latency_seconds: float = Field(default=0.0, validation_alias="SMSC_SIMULATOR_LATENCY_SECONDS", ge=0)
    reference_tlv: int = Field(default=0x1400, validation_alias="SMPP_REFERENCE_TLV")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")


@dataclass
class Submission:
    message_id: str
    reference: str | None
    destination: str
    data_coding: int
    esm_class: int
    short_message: str  # hex: the payload exactly as submitted, UDH included
    received_at: str
    duplicates: int = 0  # times the same reference was submitted again (and not sent again)


class Smsc:
    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.accepted: list[Submission] = []
        self.rejected: list[dict[str, Any]] = []
        self._by_reference: dict[str, Submission] = {}
        self._sessions: dict[str, smpp34.Esme] = {}  # system id -> its latest bound session
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, server: smpp34.Server) -> None:
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                self._sessions[event.system_id] = event
                log.info("esme_bound", system_id=event.system_id)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._spawn(self._answer(event))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, event: smpp34.SubmitSmEvent) -> None:
        if self.settings.latency_seconds:
            await asyncio.sleep(self.settings.latency_seconds)
        reference = next((t.value.decode() for t in event.tlvs if t.tag == self.settings.reference_tlv), None)
        if reference is not None and reference in self._by_reference:
            first = self._by_reference[reference]
            first.duplicates += 1
            event.accept(message_id=first.message_id)
            return
        destination = event.destination_addr
        if re.search(self.settings.reject, destination):
            self.rejected.append({"destination": destination, "reference": reference})
            event.reject(ESME_RINVDSTADR)
            return
        submission = Submission(
            message_id=f"{next(self._ids):010x}", reference=reference, destination=destination,
            data_coding=event.data_coding, esm_class=event.esm_class, short_message=event.short_message.hex(),
            received_at=datetime.now(UTC).isoformat(),
        )
        self.accepted.append(submission)
        if reference is not None:
            self._by_reference[reference] = submission
        event.accept(message_id=submission.message_id)
        if event.registered_delivery & 0x03 and not re.search(self.settings.silent, destination):
            self._spawn(self._receipt(event, submission))

    async def _receipt(self, event: smpp34.SubmitSmEvent, submission: Submission) -> None:
        await asyncio.sleep(self.settings.receipt_seconds * random.uniform(0.5, 1.5))  # noqa: S311 - not secret
        stat = "UNDELIV" if re.search(self.settings.undeliverable, submission.destination) else "DELIVRD"
        stamp = datetime.now(UTC).strftime("%y%m%d%H%M")
        text = (f"id:{submission.message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
                f"submit date:{stamp} done date:{stamp} stat:{stat} err:000 text:")
        tlvs = [smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, submission.message_id.encode() + b"\0"),
                smpp34.Tlv(TLV_MESSAGE_STATE, bytes([_STATES[stat]]))]
        # The ESME may be reconnecting: try its latest session for a while.
        for _ in range(60):
            session = self._sessions.get(self._system_id_of(event))
            if session is not None:
                with contextlib.suppress(smpp34.SmppError):
                    answer = await session.deliver_sm(
                        destination_addr=event.source_addr, source_addr=event.destination_addr,
                        esm_class=0x04, short_message=text.encode(), tlvs=tlvs,
                    )
                    if answer.is_success:
                        return
            await asyncio.sleep(0.5)
        log.warning("receipt_undelivered", message_id=submission.message_id, to=mask(submission.destination))

    def _system_id_of(self, event: smpp34.SubmitSmEvent) -> str:
        for system_id, session in self._sessions.items():
            if session.session_id == event.session_id:
                return system_id
        return next(iter(self._sessions), "")

    def routes(self) -> list[web.RouteDef]:
        async def submissions(_: web.Request) -> web.Response:
            return web.json_response({"accepted": [asdict(s) for s in self.accepted], "rejected": self.rejected})

        async def healthz(_: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        return [web.get("/submissions", submissions), web.get("/healthz", healthz), web.get("/readyz", healthz)]


async def run(settings: SimulatorSettings) -> None:
    smsc = Smsc(settings)
    server = smpp34.Server(host=settings.host, port=settings.port, system_id="SIMULATOR")
    await server.start()
    app = web.Application()
    app.add_routes(smsc.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.http_port).start()
    log.info("smsc_simulator_started", smpp_port=settings.port, http_port=settings.http_port)
    try:
        await smsc.serve(server)
    finally:
        await runner.cleanup()
        await server.stop()


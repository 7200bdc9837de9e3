"""A delivery receipt the carrier link could not store at once (the database restarting) is stored when
the database is back: the SMPP core acknowledged it already, so dropping it would lose it for good."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from services.messaging.sending import smpp
from services.messaging.sending.domain import Receipt
from services.messaging.settings import MessagingSettings


@dataclass
class _Receipted:
    """A deliver_sm as the SMPP core hands it over."""

    short_message: bytes = b"id:00000000ab sub:001 dlvrd:000 stat:UNDELIV err:001 text:"
    tlvs: list[object] = field(default_factory=list)


async def test_a_receipt_the_database_refused_is_stored_once_it_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smpp, "RECEIPT_RETRY_PAUSE", 0.01)
    stored: list[Receipt] = []
    failures = 3

    async def on_receipt(receipt: Receipt) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionRefusedError("the database is restarting")
        stored.append(receipt)

    link = smpp.CarrierLink(MessagingSettings(internal_token_secret="s" * 40), on_receipt)
    await link._receipt(_Receipted())  # type: ignore[arg-type]
    for _ in range(100):
        if stored:
            break
        await asyncio.sleep(0.01)
    assert stored == [Receipt("00000000ab", "UNDELIV", "001")]

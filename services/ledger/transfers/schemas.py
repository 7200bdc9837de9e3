"""A posted transfer in the shape of the ledger's API (`common.contracts.ledger`, which also holds the
transfer order it takes)."""

from __future__ import annotations

import uuid

import asyncpg

from common.accounts import account_id
from common.contracts.ledger import BalanceAfter, PostedTransfer, TransferPage, TransferRecord
from services.ledger.postings.domain import PostedTransaction
from services.ledger.transfers.usecases import TransferRows


def transfer_answer(tenant_id: uuid.UUID, posted: PostedTransaction, from_code: str, to_code: str) -> PostedTransfer:
    """Both sides' balances right after the transfer, and its place in the journal (the consistency
    token a log read may wait for)."""

    def side(code: str) -> BalanceAfter:
        balance, held = posted.balances[code]
        return BalanceAfter(id=account_id(tenant_id, code), code=code, balance=balance, available=balance - held)

    return PostedTransfer(id=posted.id, source=side(from_code), target=side(to_code), consistency_token=posted.seq)


def transfer_record(row: asyncpg.Record) -> TransferRecord:
    return TransferRecord.model_validate(dict(row))


def transfer_page(page: TransferRows) -> TransferPage:
    return TransferPage(items=[transfer_record(row) for row in page.rows], next_cursor=page.next_cursor)

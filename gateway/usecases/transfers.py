"""A transfer of credits between two accounts of the caller's tenant: the gateway decides who may move
what; the ledger checks the transfer's own rules (quantity, terms, mode, recipient, balance) on the
locked accounts."""

from __future__ import annotations

import asyncpg

from common.accounts import account_id
from common.contracts.ledger import TransferOrder
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain, terms
from gateway.schemas.credits import TransferAnswer, TransferRequest
from gateway.usecases.accounts import accounts_named
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


async def transfer(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, request: TransferRequest, idempotency_key: str
) -> TransferAnswer:
    tenant = caller.require_tenant()
    source, target = await accounts_named(pool, tenant, request.from_account, request.to_account)
    domain.authorise_transfer(caller.person, source, target)
    order = TransferOrder(from_code=source.code, to_code=target.code, quantity=request.quantity,
                          accept_terms=request.accept_terms, note=request.note, terms_version=terms.VERSION)
    posted = await ledger.transfer(identity_for(caller), order, idempotency_key)
    return TransferAnswer.model_validate({
        "id": posted.id,
        "from": {"id": account_id(tenant.id, source.code), "balance": posted.source.balance},
        "to": {"id": account_id(tenant.id, target.code), "balance": posted.target.balance},
        "consistency_token": posted.consistency_token,
    })

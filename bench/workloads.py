"""The requests the load generator sends: random transfers between the seeded accounts (or, the hot
account, from System Credits to three users), through the gateway (as each tenant's master, signed in
like any client) or straight to the ledger (as the gateway would call it), and the trivial /healthz that
shows what the client and the HTTP stack alone cost."""

from __future__ import annotations

import random
import uuid

import aiohttp

from bench.clients import InternalTokens, error_label, identity_of, json_body, sign_in, write_headers
from bench.seed import PASSWORD, Directory, SeededTenant
from common.accounts import SYSTEM, account_id
from common.identity import Identity


class _Accounts:
    """Each tenant's user accounts as (id, code), worked out once rather than per request."""

    def __init__(self, directory: Directory, excluded: frozenset[uuid.UUID] = frozenset()) -> None:
        self._tenants = [
            (seeded, [seeded.account(p) for p in seeded.users if p.id not in excluded]) for seeded in directory.tenants
        ]
        self._rng = random.Random()

    def pick(self) -> tuple[SeededTenant, tuple[uuid.UUID, str], tuple[uuid.UUID, str], int]:
        """A tenant, two different accounts of it and a quantity, at random."""
        seeded, accounts = self._rng.choice(self._tenants)
        source, target = self._rng.sample(accounts, 2)
        return seeded, source, target, self._rng.randint(1, 5)


class HotAccount:
    """A master's day: one credit at a time from the first tenant's System Credits to one of three users,
    so that every transfer takes the same account's lock (and the same lot)."""

    RECIPIENTS = 3

    def __init__(self, directory: Directory) -> None:
        self._seeded = directory.tenants[0]
        tenant_id = self._seeded.tenant.id
        self._source = (account_id(tenant_id, SYSTEM), SYSTEM)
        # The last users: benchmarks that watch balances use the first ones.
        self._targets = [self._seeded.account(p) for p in self._seeded.users[-self.RECIPIENTS:]]
        self._rng = random.Random()

    def pick(self) -> tuple[SeededTenant, tuple[uuid.UUID, str], tuple[uuid.UUID, str], int]:
        return self._seeded, self._source, self._rng.choice(self._targets), 1


class GatewayTransfers:
    """POST /api/v1/transfers as each tenant's master (who may move any user's credits), between two
    users at random, or as `accounts` picks them."""

    def __init__(self, gateway_url: str, directory: Directory, tokens: dict[uuid.UUID, str],
                 accounts: _Accounts | HotAccount | None = None) -> None:
        self._url = gateway_url + "/api/v1/transfers"
        self._accounts = accounts or _Accounts(directory)
        self._tokens = {tenant_id: "Bearer " + token for tenant_id, token in tokens.items()}

    @classmethod
    async def signed_in(cls, gateway_url: str, directory: Directory, hot: bool = False) -> GatewayTransfers:
        """`hot`: the HotAccount workload instead of random pairs."""
        async with aiohttp.ClientSession() as session:
            tokens = {s.tenant.id: await sign_in(session, gateway_url, s.master.email, PASSWORD)
                      for s in directory.tenants}
        return cls(gateway_url, directory, tokens, HotAccount(directory) if hot else None)

    async def __call__(self, client: aiohttp.ClientSession) -> str | None:
        seeded, (source, _), (target, _), quantity = self._accounts.pick()
        body = {"from_account": str(source), "to_account": str(target), "quantity": quantity, "accept_terms": True}
        headers = write_headers(self._tokens[seeded.tenant.id])
        async with client.post(self._url, data=json_body(body), headers=headers) as response:
            await response.read()
            return None if response.status == 201 else error_label(response.status)


class LedgerTransfers:
    """POST /transfers on the ledger, as the gateway would call it for each tenant's master."""

    def __init__(self, ledger_url: str, secret: str, directory: Directory,
                 excluded: frozenset[uuid.UUID] = frozenset()) -> None:
        self._url = ledger_url + "/transfers"
        self._accounts = _Accounts(directory, excluded)
        self._tokens = InternalTokens(secret)
        self._identities: dict[uuid.UUID, Identity] = {
            s.tenant.id: identity_of(s.master, s.tenant) for s in directory.tenants
        }

    async def __call__(self, client: aiohttp.ClientSession) -> str | None:
        seeded, (_, source), (_, target), quantity = self._accounts.pick()
        body = {"from_code": source, "to_code": target, "quantity": quantity, "accept_terms": True,
                "terms_version": "bench"}
        headers = write_headers(self._tokens.header(self._identities[seeded.tenant.id], "ledger"))
        async with client.post(self._url, data=json_body(body), headers=headers) as response:
            await response.read()
            return None if response.status == 201 else error_label(response.status)


class Healthz:
    """GET /healthz: no database, no auth; as cheap as a request to the service gets."""

    def __init__(self, service_url: str) -> None:
        self._url = service_url + "/healthz"

    async def __call__(self, client: aiohttp.ClientSession) -> str | None:
        async with client.get(self._url) as response:
            await response.read()
            return None if response.status == 200 else error_label(response.status)

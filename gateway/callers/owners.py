"""The owners of User Credits accounts a gateway process looked up lately, by (tenant, account): a transfer
names two accounts, and whose they are (and so who may move them) was a directory read on every one. What
`gateway.callers.memory` may remember of the directory, under its rules: a change to the owner (deactivated,
another team or role) or to their tenant (its credit mode) makes every replica forget it. An account nobody
owns is not remembered: a person created since would own it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from prometheus_client import Counter

from gateway.callers.memory import Memory
from gateway.directory.domain import Person

LOOKUPS = Counter("gateway_owner_cache_lookups_total",
                  "Accounts named by a request, by where their owner came from: hit (memory), miss (the "
                  "directory), bypass (the directory: memory off or not to be trusted)", ["outcome"])
INVALIDATIONS = Counter("gateway_owner_cache_invalidations_total",
                        "Times the account owners' cache forgot owners, by cause", ["cause"])

Key = tuple[uuid.UUID, uuid.UUID]  # (tenant, account)


class OwnerCache(Memory[Key, Person]):
    lookups = LOOKUPS
    invalidations = INVALIDATIONS

    def owners(self, tenant_id: uuid.UUID, accounts: Sequence[uuid.UUID]) -> tuple[dict[uuid.UUID, Person],
                                                                                     list[uuid.UUID]]:
        """The owners remembered, by account, and the accounts to look up."""
        found: dict[uuid.UUID, Person] = {}
        missing: list[uuid.UUID] = []
        for account in accounts:
            owner = self.get((tenant_id, account))
            if owner is None:
                missing.append(account)
            else:
                found[account] = owner
        return found, missing

    def remember(self, tenant_id: uuid.UUID, owners: dict[uuid.UUID, Person], ticket: int) -> None:
        for account, owner in owners.items():
            self.put((tenant_id, account), owner, owner.id, tenant_id, ticket)

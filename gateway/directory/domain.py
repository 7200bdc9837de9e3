"""Who may do what: the design's permission table as pure functions.

The gateway decides what a caller may see and ask for; the services check again what they own (the
ledger its balances, billing its purchases), so a bug here cannot move a credit on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from common import permissions
from common.accounts import SYSTEM, account_id, user_code
from common.contracts import problems
from common.problems import Forbidden, NotFound, RuleBroken

CreditMode = Literal["shared", "individual"]


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    name: str
    legal_name: str | None
    abn: str | None
    credit_mode: CreditMode
    timezone: str
    low_balance_threshold: int = 100
    refund_undelivered: bool = True  # an undelivered message's credits come back


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    tenant_id: uuid.UUID | None
    email: str
    name: str
    role: Literal["master", "user", "operator", "service"]
    team: str | None
    active: bool
    send_sms: bool
    manage_credits: bool

    @property
    def is_master(self) -> bool:
        return self.role == "master"


@dataclass(frozen=True)
class AccountRef:
    """An account as the gateway names it to clients: the ledger's id, plus whose it is."""

    id: uuid.UUID
    code: str
    kind: Literal["system", "user"]
    owner: Person | None


class AccountNotFound(NotFound):
    problem = problems.ACCOUNT_NOT_FOUND


class AccountForbidden(Forbidden):
    problem = problems.ACCOUNT_FORBIDDEN


class RecipientCannotReceive(RuleBroken):
    problem = problems.RECIPIENT_CANNOT_RECEIVE


def tenant_accounts(tenant: Tenant, people: Iterable[Person]) -> list[AccountRef]:
    """System Credits always; User Credits for each person only in individual mode."""
    accounts = [AccountRef(account_id(tenant.id, SYSTEM), SYSTEM, "system", None)]
    if tenant.credit_mode == "individual":
        for person in sorted(people, key=lambda p: p.name.lower()):
            if person.role != "operator":
                code = user_code(person.id)
                accounts.append(AccountRef(account_id(tenant.id, code), code, "user", person))
    return accounts


def named_accounts(
    tenant: Tenant, wanted: Iterable[uuid.UUID], owners: dict[uuid.UUID, Person]
) -> dict[uuid.UUID, AccountRef]:
    """Those of the wanted accounts that exist in this tenant, by id: System Credits, and in individual
    mode the User Credits of the people in `owners` (account id -> person, as the directory found them).
    Gives the same accounts as `tenant_accounts` would, without listing the whole tenant."""
    system = account_id(tenant.id, SYSTEM)
    found: dict[uuid.UUID, AccountRef] = {}
    for wanted_id in wanted:
        if wanted_id == system:
            found[wanted_id] = AccountRef(system, SYSTEM, "system", None)
        elif tenant.credit_mode == "individual" and wanted_id in owners:
            owner = owners[wanted_id]
            found[wanted_id] = AccountRef(wanted_id, user_code(owner.id), "user", owner)
    return found


def owned_candidates(tenant: Tenant, wanted: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Those of the wanted accounts that could be a person's User Credits, whose owner the directory knows:
    none in shared mode, and never System Credits."""
    if tenant.credit_mode != "individual":
        return []
    system = account_id(tenant.id, SYSTEM)
    return [w for w in dict.fromkeys(wanted) if w != system]


def find_account(accounts: Iterable[AccountRef], wanted: uuid.UUID) -> AccountRef:
    for account in accounts:
        if account.id == wanted:
            return account
    raise AccountNotFound("No such account.")


def _actor(person: Person) -> permissions.Actor:
    return permissions.Actor(person.id, person.role, person.team, person.manage_credits)


def _owner(account: AccountRef) -> permissions.Owner | None:
    return permissions.Owner(account.owner.id, account.owner.team) if account.owner else None


def may_manage(caller: Person, account: AccountRef) -> bool:
    """See the account, its balance and its log."""
    return permissions.may_manage(_actor(caller), _owner(account))


def may_purchase_for(caller: Person, account: AccountRef) -> bool:
    return permissions.may_purchase_for(_actor(caller), _owner(account))


def may_transfer_from(caller: Person, account: AccountRef) -> bool:
    return permissions.may_transfer_from(_actor(caller), _owner(account))


def may_transfer_to(caller: Person, account: AccountRef) -> bool:
    return permissions.may_transfer_to(_actor(caller), _owner(account))


def managed_accounts(caller: Person, accounts: Iterable[AccountRef]) -> list[AccountRef]:
    return [a for a in accounts if may_manage(caller, a)]


def require_can_receive(account: AccountRef) -> None:
    """Credits may only go to System Credits or an active user who may send SMS."""
    owner = account.owner
    if owner is not None and not (owner.active and owner.send_sms):
        raise RecipientCannotReceive(
            f"{owner.name} cannot receive credits: the user is inactive or may not send SMS."
        )


def authorise_purchase(caller: Person, account: AccountRef) -> None:
    if not may_purchase_for(caller, account):
        raise AccountForbidden("You may not purchase credits for this account.")
    require_can_receive(account)


def authorise_transfer(caller: Person, source: AccountRef, target: AccountRef) -> None:
    """Who may move what; the rules about the transfer itself (quantity, terms, mode, the recipient,
    the balance) are the ledger's, checked on the locked accounts."""
    if not may_transfer_from(caller, source):
        raise AccountForbidden("You may not transfer credits from this account.")
    if not may_transfer_to(caller, target):
        raise AccountForbidden("You may not transfer credits to this account.")

"""What the gateway does for a request: consult the directory, decide, and call the services."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from common.accounts import SYSTEM_CREDITS, counterparty_label
from common.identity import Identity
from common.problems import Forbidden, Unauthenticated
from gateway import domain, store
from gateway.auth import Caller, issue_access_token, password_matches, service_caller, subject_of
from gateway.clients import ServiceClient
from gateway.domain import AccountRef, Person
from gateway.schemas import AccountView, LogEntry, LogPage, OwnerView, TokenAnswer


async def sign_in(pool: asyncpg.Pool, email: str, password: str, secret: str, ttl: int) -> TokenAnswer:
    async with pool.acquire() as conn:
        found = await store.credentials_by_email(conn, email)
    person, password_hash = found if found else (None, None)
    if not await password_matches(password, password_hash) or person is None or not person.active:
        # One answer for every failure: no hint of which emails exist.
        raise Unauthenticated("The email or password is not correct.")
    return TokenAnswer(access_token=issue_access_token(str(person.id), secret, ttl), expires_in=ttl)


async def sign_in_service(pool: asyncpg.Pool, client_id: str, client_secret: str, secret: str, ttl: int) -> TokenAnswer:
    async with pool.acquire() as conn:
        secret_hash = await store.service_client_secret_hash(conn, client_id)
    if not await password_matches(client_secret, secret_hash):
        raise Unauthenticated("The client id or secret is not correct.")
    return TokenAnswer(access_token=issue_access_token(client_id, secret, ttl, kind="service"), expires_in=ttl)


class ServiceTokenRequired(Forbidden):
    slug = "service-only"


def require_service(caller: Caller) -> None:
    if caller.person.role != "service":
        raise ServiceTokenRequired("Holds are for internal systems signed in with a service token.")


async def caller_from_token(pool: asyncpg.Pool, token: str, secret: str) -> Caller:
    """The person behind a token, read fresh from the directory so that deactivation or a changed
    role takes effect on the next request, not when the token expires."""
    kind, subject = subject_of(token, secret)
    async with pool.acquire() as conn:
        if kind == "service":
            if await store.service_client_secret_hash(conn, subject) is None:
                raise Unauthenticated("The access token is no longer valid.")
            return service_caller(subject)
        try:
            person = await store.person(conn, uuid.UUID(subject))
        except ValueError:
            raise Unauthenticated("The access token is invalid.") from None
        if person is None or not person.active:
            raise Unauthenticated("The access token is no longer valid.")
        tenant = await store.tenant(conn, person.tenant_id) if person.tenant_id else None
    return Caller(person, tenant)


def identity_for(caller: Caller) -> Identity:
    person = caller.person
    return Identity(
        role=person.role,
        tenant_id=person.tenant_id,
        user_id=person.id,
        team=person.team,
        send_sms=person.send_sms,
        manage_credits=person.manage_credits,
        credit_mode=caller.tenant.credit_mode if caller.tenant else None,
    )


async def tenant_accounts(pool: asyncpg.Pool, caller: Caller) -> list[AccountRef]:
    tenant = caller.require_tenant()
    async with pool.acquire() as conn:
        people = await store.people_of(conn, tenant.id)
    return domain.tenant_accounts(tenant, people)


async def tenant_by_id(pool: asyncpg.Pool, tenant_id: uuid.UUID) -> domain.Tenant | None:
    async with pool.acquire() as conn:
        return await store.tenant(conn, tenant_id)


async def account_by_id(pool: asyncpg.Pool, tenant_id: uuid.UUID, wanted: uuid.UUID) -> AccountRef:
    async with pool.acquire() as conn:
        tenant = await store.tenant(conn, tenant_id)
        if tenant is None:
            raise domain.AccountNotFound("No such account.")
        people = await store.people_of(conn, tenant_id)
    return domain.find_account(domain.tenant_accounts(tenant, people), wanted)


async def people(pool: asyncpg.Pool, caller: Caller) -> list[Person]:
    async with pool.acquire() as conn:
        return await store.people_of(conn, caller.require_tenant().id)


def account_name(account: AccountRef) -> str:
    return account.owner.name if account.owner else SYSTEM_CREDITS


async def account_views(
    ledger: ServiceClient, caller: Caller, refs: list[AccountRef], as_of: datetime | None = None
) -> list[AccountView]:
    if not refs:
        return []
    query = [("code", ref.code) for ref in refs] + ([("as_of", as_of.isoformat())] if as_of else [])
    balances: list[dict[str, Any]] = await ledger.call("GET", "/accounts", identity_for(caller), query=query)
    by_code = {b["code"]: b for b in balances}
    return [
        AccountView(
            id=ref.id,
            kind=ref.kind,
            name=account_name(ref),
            owner=OwnerView(id=ref.owner.id, name=ref.owner.name, email=ref.owner.email) if ref.owner else None,
            balance=by_code[ref.code]["balance"],
            held=by_code[ref.code]["held"],
            available=by_code[ref.code]["available"],
        )
        for ref in refs
    ]


def log_scope(caller: Caller, accounts: list[AccountRef], wanted: list[uuid.UUID] | None) -> list[tuple[str, str]]:
    """The query that tells reporting whose log to read: the accounts named (each must be one the
    caller may view, else it is answered as if it did not exist), or everything the caller may view,
    named by scope so a large tenant's hundreds of accounts never go into a URL."""
    managed = domain.managed_accounts(caller.person, accounts)
    if wanted:
        by_id = {a.id: a for a in managed}
        missing = [w for w in wanted if w not in by_id]
        if missing:
            raise domain.AccountNotFound(f"No such account: {missing[0]}.")
        return [("account", str(w)) for w in dict.fromkeys(wanted)]
    if caller.person.is_master:
        return [("scope", "tenant")]
    if caller.person.manage_credits and any(a.kind == "user" for a in managed):
        return [("scope", "users")]
    return [("account", str(a.id)) for a in managed]


def log_page(page: dict[str, Any], accounts: list[AccountRef], people: list[Person]) -> LogPage:
    """Reporting speaks in account codes and user ids; people read names."""
    names = {a.code: account_name(a) for a in accounts}
    ids = {str(a.id): account_name(a) for a in accounts}
    people_names = {str(p.id): p.name for p in people}
    entries = [
        LogEntry(
            **{
                **entry,
                "account": ids.get(entry["account_id"], "Unknown account"),
                "counterparty": counterparty_label(entry.get("counterparty"), entry["kind"], names),
                "actor": people_names.get(entry.get("actor") or "", entry.get("actor")),
            }
        )
        for entry in page["entries"]
    ]
    return LogPage(entries=entries, next_cursor=page.get("next_cursor"), stale=page.get("stale", False))


def purchase_identity(tenant_id: uuid.UUID) -> Identity:
    """The identity the gateway uses for the hosted checkout pages, where the unguessable session id,
    not a signed-in user, is what grants access."""
    return Identity(role="service", tenant_id=tenant_id)

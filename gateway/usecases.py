"""What the gateway does for a request: consult the directory, decide, and call the services."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from common.accounts import SYSTEM, SYSTEM_CREDITS, account_id, counterparty_label, user_code
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
            found = await store.caller(conn, uuid.UUID(subject))
        except ValueError:
            raise Unauthenticated("The access token is invalid.") from None
    if found is None or not found[0].active:
        raise Unauthenticated("The access token is no longer valid.")
    return Caller(*found)


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


async def accounts_named(pool: asyncpg.Pool, tenant: domain.Tenant, *wanted: uuid.UUID) -> list[AccountRef]:
    """The accounts a request names, in its order; one that is not this tenant's is not found (404),
    whoever owns it. Reads only the people named, whatever the size of the tenant."""
    found = await _named(pool, tenant, list(wanted))
    return [domain.find_account(found.values(), w) for w in wanted]


async def account_named(pool: asyncpg.Pool, tenant: domain.Tenant, wanted: uuid.UUID) -> AccountRef | None:
    return (await _named(pool, tenant, [wanted])).get(wanted)


async def _named(pool: asyncpg.Pool, tenant: domain.Tenant, wanted: list[uuid.UUID]) -> dict[uuid.UUID, AccountRef]:
    owners: dict[uuid.UUID, Person] = {}
    if tenant.credit_mode == "individual":
        async with pool.acquire() as conn:
            owners = await store.people_by_account(conn, tenant.id, wanted)
    return domain.named_accounts(tenant, wanted, owners)


async def tenant_by_id(pool: asyncpg.Pool, tenant_id: uuid.UUID) -> domain.Tenant | None:
    async with pool.acquire() as conn:
        return await store.tenant(conn, tenant_id)


async def account_by_id(pool: asyncpg.Pool, tenant_id: uuid.UUID, wanted: uuid.UUID) -> AccountRef:
    tenant = await tenant_by_id(pool, tenant_id)
    if tenant is None:
        raise domain.AccountNotFound("No such account.")
    [account] = await accounts_named(pool, tenant, wanted)
    return account


async def people(pool: asyncpg.Pool, caller: Caller) -> list[Person]:
    async with pool.acquire() as conn:
        return await store.people_of(conn, caller.require_tenant().id)


async def require_purchase_visible(pool: asyncpg.Pool, caller: Caller, purchase: dict[str, Any]) -> None:
    """A caller sees a purchase they bought, or one for an account they manage."""
    if purchase.get("buyer_user_id") == str(caller.person.id):
        return
    account = await account_named(pool, caller.require_tenant(), uuid.UUID(str(purchase["account_id"])))
    if account is None or not domain.may_manage(caller.person, account):
        raise domain.AccountForbidden("You may not see this purchase.")


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


async def log_scope(pool: asyncpg.Pool, caller: Caller, wanted: list[uuid.UUID] | None) -> list[tuple[str, str]]:
    """The query that tells reporting whose log to read: the accounts named (each must be one the
    caller may view, else it is answered as if it did not exist), or everything the caller may view,
    named by scope so a large tenant's hundreds of accounts never go into a URL. Empty when the caller
    views no account at all (a user of a tenant in shared mode)."""
    tenant = caller.require_tenant()
    person = caller.person
    if wanted:
        found = await _named(pool, tenant, wanted)
        missing = [w for w in wanted if w not in found or not domain.may_manage(person, found[w])]
        if missing:
            raise domain.AccountNotFound(f"No such account: {missing[0]}.")
        return [("account", str(w)) for w in dict.fromkeys(wanted)]
    if person.is_master:
        return [("scope", "tenant")]
    if tenant.credit_mode == "shared":
        return []  # System Credits are the masters'; nobody holds User Credits in shared mode
    if person.manage_credits:
        return [("scope", "users")]
    return [("account", str(account_id(tenant.id, user_code(person.id))))]


async def named_log_page(pool: asyncpg.Pool, tenant: domain.Tenant, page: dict[str, Any]) -> LogPage:
    """Reporting speaks in account ids, account codes and user ids; people read names. Only the people
    on this page are looked up."""
    entries = page["entries"]
    account_ids = {uuid.UUID(e["account_id"]) for e in entries}
    user_ids = {owner for e in entries if (owner := _user_of_code(e.get("counterparty")))}
    user_ids |= {actor for e in entries if (actor := _uuid_or_none(e.get("actor")))}
    async with pool.acquire() as conn:
        people = await store.people_named(conn, tenant.id, list(user_ids), list(account_ids))
    return log_page(page, tenant, people)


def _user_of_code(code: str | None) -> uuid.UUID | None:
    return _uuid_or_none(code.removeprefix("user:")) if code and code.startswith("user:") else None


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None  # an internal system's client id, not a person


def log_page(page: dict[str, Any], tenant: domain.Tenant, people: list[tuple[Person, uuid.UUID]]) -> LogPage:
    names = {user_code(p.id): p.name for p, _ in people}
    ids = {str(account_id(tenant.id, SYSTEM)): SYSTEM_CREDITS} | {str(acc): p.name for p, acc in people}
    people_names = {str(p.id): p.name for p, _ in people}
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

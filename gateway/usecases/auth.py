"""Sign-in, sessions and their refresh tokens, and the caller behind an access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from common.logs import get_logger
from common.problems import NotFound, Unauthenticated
from gateway.callers.cache import CallerCache
from gateway.directory import sessions, store
from gateway.directory.events import announce_sessions_ended
from gateway.directory.sessions import SessionRow
from gateway.settings import GatewaySettings
from gateway.web.auth import (
    Caller,
    InvalidToken,
    RefreshToken,
    TokenSubject,
    Verdict,
    issue_access_token,
    judge_refresh,
    password_matches,
    service_caller,
    subject_of,
)

log = get_logger(__name__)
# Ended sessions are kept this long (a person asking "was I signed out?" can still be answered), then deleted.
ENDED_SESSIONS_KEPT_DAYS = 7


@dataclass(frozen=True)
class TokenPolicy:
    secret: str
    access_ttl: int
    refresh_ttl: int
    reuse_grace: timedelta = timedelta(0)

    @classmethod
    def of(cls, settings: GatewaySettings) -> TokenPolicy:
        return cls(settings.jwt_secret, settings.access_token_ttl, settings.refresh_token_ttl,
                   timedelta(seconds=settings.refresh_reuse_grace_seconds))


@dataclass(frozen=True)
class Device:
    """What a session remembers of where it was started, for its owner's device list."""

    user_agent: str | None
    ip: str | None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class SessionTokens(Tokens):
    refresh_token: str
    refresh_token_expires_in: int


class InvalidRefreshToken(InvalidToken):
    pass


def _tokens(person_id: uuid.UUID, refresh: RefreshToken, policy: TokenPolicy) -> SessionTokens:
    access = issue_access_token(str(person_id), policy.secret, policy.access_ttl, session_id=refresh.session_id)
    return SessionTokens(access, policy.access_ttl, str(refresh), policy.refresh_ttl)


async def sign_in(pool: asyncpg.Pool, email: str, password: str, policy: TokenPolicy, device: Device) -> SessionTokens:
    """A new session for a person whose password matches."""
    async with pool.acquire() as conn:
        found = await store.credentials_by_email(conn, email)
    person, password_hash = found if found else (None, None)
    if not await password_matches(password, password_hash) or person is None or not person.active:
        # One answer for every failure: no hint of which emails exist.
        raise Unauthenticated("The email or password is not correct.")
    refresh = RefreshToken.new(uuid.uuid4())
    async with pool.acquire() as conn:
        await sessions.start(conn, refresh.session_id, person.id, refresh.digest, policy.refresh_ttl,
                             _clip(device.user_agent), device.ip)
    return _tokens(person.id, refresh, policy)


async def sign_in_service(pool: asyncpg.Pool, client_id: str, client_secret: str, policy: TokenPolicy) -> Tokens:
    async with pool.acquire() as conn:
        secret_hash = await store.service_client_secret_hash(conn, client_id)
    if not await password_matches(client_secret, secret_hash):
        raise Unauthenticated("The client id or secret is not correct.")
    return Tokens(issue_access_token(client_id, policy.secret, policy.access_ttl, kind="service"), policy.access_ttl)


async def refresh(pool: asyncpg.Pool, text: str, policy: TokenPolicy, device: Device) -> SessionTokens:
    """The next access and refresh token of a session, for its newest refresh token. An older one of
    the same session means a copy is in someone else's hands: the whole session ends, for both."""
    presented = RefreshToken.parse(text)
    if presented is None:
        raise InvalidRefreshToken("The refresh token is not valid.")
    async with pool.acquire() as conn, conn.transaction():
        found = await sessions.lock_for_refresh(conn, presented.session_id)
        state, person_id = found if found else (None, None)
        verdict = judge_refresh(presented, state, _read_at(state), policy.reuse_grace)
        if verdict in (Verdict.CURRENT, Verdict.RESENT) and state is not None and person_id is not None:
            if verdict is Verdict.RESENT:
                # Expected after a lost answer; a stream of these for one person may be a copied token.
                log.warning("refresh_token_resent", session_id=str(presented.session_id))
            renewed = RefreshToken.new(presented.session_id, state.generation + 1)
            await sessions.rotate(conn, renewed.session_id, renewed.generation, renewed.digest, policy.refresh_ttl,
                                  device.ip, forgive_previous=verdict is Verdict.CURRENT)
            return _tokens(person_id, renewed, policy)
        if verdict is Verdict.REUSED and person_id is not None:
            await _end(conn, presented.session_id, person_id, "reused")
    if verdict is Verdict.REUSED:
        log.warning("refresh_token_reused", session_id=str(presented.session_id))
        raise InvalidRefreshToken("The refresh token was already used; the session has ended. Sign in again.")
    if verdict is Verdict.ENDED:
        raise InvalidRefreshToken("The session has ended; sign in again.")
    raise InvalidRefreshToken("The refresh token is not valid.")


def _read_at(state: sessions.SessionState | None) -> datetime:
    return state.read_at if state is not None and state.read_at is not None else datetime.now(UTC)


async def sign_out_with_refresh_token(pool: asyncpg.Pool, text: str, grace: timedelta = timedelta(0)) -> None:
    """End the session of a refresh token. Nothing to end (an unknown token, a session over) is not an
    error: signing out twice, or after the session expired, leaves the client where it wanted to be."""
    presented = RefreshToken.parse(text)
    if presented is None:
        return
    async with pool.acquire() as conn, conn.transaction():
        found = await sessions.lock_for_refresh(conn, presented.session_id)
        state, person_id = found if found else (None, None)
        verdict = judge_refresh(presented, state, _read_at(state), grace)
        if verdict in (Verdict.CURRENT, Verdict.RESENT, Verdict.REUSED) and person_id is not None:
            await _end(conn, presented.session_id, person_id,
                       "reused" if verdict is Verdict.REUSED else "signed-out")


async def _end(conn: asyncpg.Connection, session_id: uuid.UUID, person_id: uuid.UUID, because: str,
               *, theirs_only: bool = False) -> bool:
    """End a live session and announce it in the same transaction, so that every gateway replica stops
    accepting its access tokens (`gateway.callers`); True when one ended. `theirs_only`: only if the session
    is this person's."""
    ended = await sessions.revoke(conn, session_id, because, person_id=person_id if theirs_only else None)
    if ended:
        await announce_sessions_ended(conn, person_id)
    return ended


async def sign_out(pool: asyncpg.Pool, caller: Caller) -> None:
    """End the session the caller's access token belongs to (internal systems have none)."""
    if caller.session_id is not None:
        async with pool.acquire() as conn, conn.transaction():
            await _end(conn, caller.session_id, caller.person.id, "signed-out")


async def sessions_of(pool: asyncpg.Pool, caller: Caller) -> list[SessionRow]:
    if caller.session_id is None:
        return []
    async with pool.acquire() as conn:
        return await sessions.live_sessions_of(conn, caller.person.id)


async def end_session(pool: asyncpg.Pool, caller: Caller, session_id: uuid.UUID) -> None:
    """A person signs one of their devices out. Another person's session is not found, like an unknown one."""
    async with pool.acquire() as conn, conn.transaction():
        ended = caller.session_id is not None and await _end(
            conn, session_id, caller.person.id, "ended-by-user", theirs_only=True
        )
    if not ended:
        raise NotFound("No such session.")


async def caller_from_token(pool: asyncpg.Pool, token: str, secret: str, cache: CallerCache | None = None) -> Caller:
    """The person behind a token, as the directory has them now with their session, so that deactivation, a
    changed role or a signed-out session takes effect on the next request, not when the token expires. With a
    cache, a person verified lately is taken from it instead: every such change makes every replica forget
    them (`gateway.callers.cache` says how that keeps the same promise). The token itself is checked each time."""
    subject = subject_of(token, secret)
    if subject.kind == "service":
        async with pool.acquire() as conn:
            if await store.service_client_secret_hash(conn, subject.subject) is None:
                raise InvalidToken("The access token is no longer valid.")
        return service_caller(subject.subject)
    person_id, session_id = _person_session(subject)
    remembered = cache.get_caller(person_id, session_id) if cache is not None else None
    if remembered is not None:
        return remembered
    ticket = cache.ticket() if cache is not None else 0
    async with pool.acquire() as conn:
        found = await sessions.caller(conn, person_id, session_id)
    if found is None or not found[0].active:
        raise InvalidToken("The session has ended; sign in again.")
    caller = Caller(found[0], found[1], session_id)
    if cache is not None:
        cache.put_caller(caller, ticket)
    return caller


def _person_session(subject: TokenSubject) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        person_id = uuid.UUID(subject.subject)
    except ValueError:
        raise InvalidToken("The access token is not valid.") from None
    if subject.session_id is None:
        raise InvalidToken("The access token is not valid.")
    return person_id, subject.session_id


async def purge_ended_sessions(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        deleted = await sessions.purge_ended(conn, ENDED_SESSIONS_KEPT_DAYS)
    if deleted:
        log.info("ended_sessions_purged", count=deleted)


def _clip(user_agent: str | None) -> str | None:
    # A header can be kilobytes long; the device list needs the first part.
    return user_agent[:300] if user_agent else None

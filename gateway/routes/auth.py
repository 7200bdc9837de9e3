"""Sign-in and sessions: access tokens for people and internal systems, their renewal, signing out, and
the device list a person can sign out of."""

from __future__ import annotations

from aiohttp import web

from common.problems import Unauthenticated
from common.runtime import DB
from common.web import json_response, parse_json, path_uuid
from gateway.resources import LIMITS, SETTINGS
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.credits import ServiceTokenRequest, TokenAnswer, TokenRequest
from gateway.schemas.sessions import RefreshRequest, SessionTokenAnswer, SessionView, SignOutRequest
from gateway.usecases import auth
from gateway.usecases.auth import Device, SessionTokens, TokenPolicy
from gateway.web.auth import SignInRequired
from gateway.web.middleware import RATE_LIMIT, client_address


def _answer(tokens: SessionTokens) -> web.Response:
    return json_response(SessionTokenAnswer(
        access_token=tokens.access_token, expires_in=tokens.expires_in, refresh_token=tokens.refresh_token,
        refresh_token_expires_in=tokens.refresh_token_expires_in,
    ))


def _device(request: web.Request) -> Device:
    return Device(request.headers.get("User-Agent"), client_address(request))


@api.route("POST", "/auth/token", "Sign in: an access token and a refresh token (a new session)",
           body=TokenRequest, answer=SessionTokenAnswer, public=True, tags=("auth",), errors=(400, 401, 429))
async def sign_in(request: web.Request) -> web.Response:
    body = await parse_json(request, TokenRequest)
    limits, device = request.app[LIMITS], _device(request)
    request[RATE_LIMIT] = await limits.sign_in_attempt(device.ip or "unknown", body.email)
    try:
        tokens = await auth.sign_in(request.app[DB], body.email, body.password,
                                    TokenPolicy.of(request.app[SETTINGS]), device)
    except Unauthenticated:
        await limits.sign_in_failed(body.email)
        raise
    return _answer(tokens)


@api.route("POST", "/auth/refresh", "Renew: the next access token and refresh token of a session (each refresh "
           "token works once)", body=RefreshRequest, answer=SessionTokenAnswer, public=True, tags=("auth",),
           errors=(400, 401, 429))
async def refresh(request: web.Request) -> web.Response:
    body = await parse_json(request, RefreshRequest)
    device = _device(request)
    request[RATE_LIMIT] = await request.app[LIMITS].renewal(device.ip or "unknown")
    tokens = await auth.refresh(request.app[DB], body.refresh_token, TokenPolicy.of(request.app[SETTINGS]), device)
    return _answer(tokens)


@api.route("POST", "/auth/logout", "Sign out: end the session of the refresh token sent, or else of the access "
           "token", body=SignOutRequest, status=204, public=True, tags=("auth",), errors=(400, 401))
async def sign_out(request: web.Request) -> web.Response:
    body = await parse_json(request, SignOutRequest) if request.body_exists else SignOutRequest()
    if body.refresh_token is not None:
        await auth.sign_out_with_refresh_token(request.app[DB], body.refresh_token,
                                               TokenPolicy.of(request.app[SETTINGS]).reuse_grace)
        return web.Response(status=204)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise SignInRequired("Send the refresh token in the body, or the access token of the session to end.")
    settings = request.app[SETTINGS]
    caller = await auth.caller_from_token(request.app[DB], header[7:].strip(), settings.jwt_secret)
    await auth.sign_out(request.app[DB], caller)
    return web.Response(status=204)


@api.route("POST", "/auth/service-token", "Sign in as an internal system", body=ServiceTokenRequest,
           answer=TokenAnswer, public=True, tags=("auth",), errors=(400, 401))
async def service_token(request: web.Request) -> web.Response:
    body = await parse_json(request, ServiceTokenRequest)
    tokens = await auth.sign_in_service(request.app[DB], body.client_id, body.client_secret,
                                        TokenPolicy.of(request.app[SETTINGS]))
    return json_response(TokenAnswer(access_token=tokens.access_token, expires_in=tokens.expires_in))


@api.route("GET", "/me/sessions", "My sessions: where I am signed in", answer=SessionView, answer_is_list=True,
           tags=("auth",), errors=(401,))
async def my_sessions(request: web.Request) -> web.Response:
    caller = caller_of(request)
    rows = await auth.sessions_of(request.app[DB], caller)
    return json_response([
        SessionView(id=r.id, created_at=r.created_at, last_used_at=r.last_used_at, user_agent=r.user_agent,
                    ip=r.ip, current=r.id == caller.session_id)
        for r in rows
    ])


@api.route("DELETE", "/me/sessions/{id}", "Sign one of my sessions out", status=204, tags=("auth",),
           errors=(401, 404, 429))
async def end_my_session(request: web.Request) -> web.Response:
    session_id = path_uuid(request, not_found=no_such("session"))
    await auth.end_session(request.app[DB], caller_of(request), session_id)
    return web.Response(status=204)

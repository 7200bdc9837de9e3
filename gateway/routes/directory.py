"""Sign-in, who am I, and the people of the tenant."""

from __future__ import annotations

from aiohttp import web

from common.problems import Unauthenticated
from common.runtime import DB
from common.web import json_response, parse_json
from gateway import domain, terms, usecases
from gateway.directory import update_user
from gateway.resources import LIMITS, SETTINGS
from gateway.routes.registry import api, caller_of, path_uuid
from gateway.schemas import (
    MeView,
    ServiceTokenRequest,
    TenantView,
    TermsView,
    TokenAnswer,
    TokenRequest,
    UserChange,
    UserDetail,
    UserView,
)


@api.route("POST", "/auth/token", "Sign in", body=TokenRequest, answer=TokenAnswer, public=True, tags=("auth",))
async def sign_in(request: web.Request) -> web.Response:
    body = await parse_json(request, TokenRequest)
    settings, limits = request.app[SETTINGS], request.app[LIMITS]
    await limits.sign_in_attempt(request.remote or "unknown", body.email)
    try:
        token = await usecases.sign_in(
            request.app[DB], body.email, body.password, settings.jwt_secret, settings.access_token_ttl
        )
    except Unauthenticated:
        await limits.sign_in_failed(body.email)
        raise
    return json_response(token)


@api.route("POST", "/auth/service-token", "Sign in as an internal system", body=ServiceTokenRequest,
           answer=TokenAnswer, public=True, tags=("auth",))
async def service_token(request: web.Request) -> web.Response:
    body = await parse_json(request, ServiceTokenRequest)
    settings = request.app[SETTINGS]
    token = await usecases.sign_in_service(
        request.app[DB], body.client_id, body.client_secret, settings.jwt_secret, settings.access_token_ttl
    )
    return json_response(token)


@api.route("GET", "/me", "Who am I", answer=MeView, tags=("directory",))
async def me(request: web.Request) -> web.Response:
    caller = caller_of(request)
    p, t = caller.person, caller.tenant
    return json_response(
        MeView(
            id=p.id, name=p.name, email=p.email, role=p.role, team=p.team, send_sms=p.send_sms,
            manage_credits=p.manage_credits,
            tenant=TenantView(id=t.id, name=t.name, credit_mode=t.credit_mode, timezone=t.timezone) if t else None,
        )
    )


@api.route("GET", "/terms", "The conditions a transfer agrees to, and their version", answer=TermsView,
           tags=("directory",))
async def transfer_terms(_: web.Request) -> web.Response:
    return json_response(TermsView(version=terms.VERSION, conditions=list(terms.CONDITIONS)))


@api.route("GET", "/users", "People a transfer or purchase may name", answer=UserView, answer_is_list=True,
           tags=("directory",))
async def list_users(request: web.Request) -> web.Response:
    caller = caller_of(request)
    accounts = await usecases.tenant_accounts(request.app[DB], caller)
    by_owner = {a.owner.id: a for a in accounts if a.owner}
    people = await usecases.people(request.app[DB], caller)
    eligible = [
        UserView(id=p.id, name=p.name, account_id=by_owner[p.id].id if p.id in by_owner else None)
        for p in people
        if p.active and p.send_sms and p.role in ("master", "user")
        and (p.id not in by_owner or domain.may_transfer_to(caller.person, by_owner[p.id]))
    ]
    return json_response(eligible)


@api.route("PATCH", "/users/{id}", "Change a user (masters only)", body=UserChange, answer=UserDetail,
           tags=("directory",))
async def change_user(request: web.Request) -> web.Response:
    caller = caller_of(request)
    user_id = path_uuid(request, "user")
    body = await parse_json(request, UserChange)
    person = await update_user(request.app[DB], caller, user_id, body.model_dump(exclude_unset=True))
    return json_response(UserDetail.of(person))

"""Sign-in, who am I, and the people of the tenant."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_json, path_uuid
from gateway.directory import terms
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.credits import (
    MeView,
    TenantView,
    TermsView,
    UserChange,
    UserDetail,
    UserView,
)
from gateway.usecases import directory


@api.route("GET", "/me", "Who am I", answer=MeView, tags=("directory",), errors=(401,))
async def me(request: web.Request) -> web.Response:
    caller = caller_of(request)
    p, t = caller.person, caller.tenant
    return json_response(
        MeView(
            id=p.id, name=p.name, email=p.email, role=p.role, team=p.team, send_sms=p.send_sms,
            manage_credits=p.manage_credits,
            tenant=TenantView(id=t.id, name=t.name, credit_mode=t.credit_mode, timezone=t.timezone,
                              refund_undelivered=t.refund_undelivered) if t else None,
        )
    )


@api.route("GET", "/terms", "The conditions a transfer agrees to, and their version", answer=TermsView,
           tags=("directory",), errors=(401,))
async def transfer_terms(_: web.Request) -> web.Response:
    return json_response(TermsView(version=terms.VERSION, conditions=list(terms.CONDITIONS)))


@api.route("GET", "/users", "People a transfer or purchase may name", answer=UserView, answer_is_list=True,
           tags=("directory",))
async def list_users(request: web.Request) -> web.Response:
    return json_response(await directory.eligible_people(request.app[DB], caller_of(request)))


@api.route("PATCH", "/users/{id}", "Change a user (masters only)", body=UserChange, answer=UserDetail,
           tags=("directory",))
async def change_user(request: web.Request) -> web.Response:
    caller = caller_of(request)
    user_id = path_uuid(request, not_found=no_such("user"))
    body = await parse_json(request, UserChange)
    person = await directory.update_user(request.app[DB], caller, user_id, body.model_dump(exclude_unset=True))
    return json_response(UserDetail.of(person))

"""Onboarding: an operator creates a tenant, a master adds users, anyone sets their password from an emailed
link, and the CRM keeps its people in step by its own ids."""

from __future__ import annotations

from aiohttp import web

from common.problems import MalformedRequest
from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json
from gateway.directory.domain import Person, Tenant
from gateway.directory.onboarding import link_key
from gateway.resources import LIMITS, SETTINGS
from gateway.routes.registry import api, caller_of
from gateway.schemas.credits import UserDetail
from gateway.schemas.onboarding import (
    DirectoryUser,
    DirectoryUserRequest,
    NewTenantRequest,
    NewUserRequest,
    PasswordResetRequest,
    PasswordSet,
    TenantCreated,
    TenantDetail,
)
from gateway.usecases import directory_sync, onboarding
from gateway.web.idempotency import idempotent
from gateway.web.ratelimit import client_address

MAX_EXTERNAL_ID = 200


def _link_key(request: web.Request) -> bytes:
    return link_key(request.app[SETTINGS].jwt_secret)


def tenant_detail(tenant: Tenant) -> TenantDetail:
    return TenantDetail(id=tenant.id, name=tenant.name, legal_name=tenant.legal_name, abn=tenant.abn,
                        timezone=tenant.timezone, credit_mode=tenant.credit_mode)


@api.route("POST", "/admin/tenants", "Create a tenant and invite its first master (operators only)",
           body=NewTenantRequest, answer=TenantCreated, status=201, headers=("Idempotency-Key",), tags=("admin",),
           errors=(400, 401, 403, 409, 429))
@idempotent
async def create_tenant(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, NewTenantRequest)
    tenant, master = await onboarding.create_tenant(request.app[DB], caller, body, key, _link_key(request))
    return json_response(TenantCreated(tenant=tenant_detail(tenant), master=UserDetail.of(master)), status=201)


@api.route("POST", "/users", "Add a user to your tenant and invite them by email (masters only)",
           body=NewUserRequest, answer=UserDetail, status=201, tags=("directory",), errors=(400, 401, 403, 409, 429))
async def add_user(request: web.Request) -> web.Response:
    body = await parse_json(request, NewUserRequest)
    person = await onboarding.add_user(request.app[DB], caller_of(request), body, _link_key(request))
    return json_response(UserDetail.of(person), status=201)


@api.route("POST", "/auth/password-reset", "Email a link to set a new password (202 whether or not the email "
           "has an account)", body=PasswordResetRequest, status=202, public=True, tags=("auth",), errors=(400, 429))
async def request_password_reset(request: web.Request) -> web.Response:
    body = await parse_json(request, PasswordResetRequest)
    address = client_address(request.remote, request.headers.get("X-Forwarded-For"),
                             request.app[LIMITS].trusted_proxies)
    quota = await request.app[LIMITS].password_reset(address, body.email)
    await onboarding.request_password_reset(request.app[DB], body.email, _link_key(request))
    return web.Response(status=202, headers=quota.headers())


@api.route("POST", "/auth/password-reset/confirm", "Set a password with the token of an emailed link",
           body=PasswordSet, status=204, public=True, tags=("auth",), errors=(400, 422))
async def set_password(request: web.Request) -> web.Response:
    body = await parse_json(request, PasswordSet)
    await onboarding.set_password(request.app[DB], body.token, body.password)
    return web.Response(status=204)


@api.route("PUT", "/directory/users/{external_id}", "Create or update a person by the CRM's own id (internal "
           "systems bound to a tenant)", body=DirectoryUserRequest, answer=DirectoryUser, tags=("directory-sync",),
           errors=(400, 401, 403, 409, 429))
async def put_directory_user(request: web.Request) -> web.Response:
    caller = caller_of(request)
    external_id = _external_id(request)
    body = await parse_json(request, DirectoryUserRequest)
    person = await directory_sync.put_user(request.app[DB], caller, external_id, body, _link_key(request))
    return json_response(directory_user(person, external_id))


def directory_user(person: Person, external_id: str) -> DirectoryUser:
    return DirectoryUser(**UserDetail.of(person).model_dump(), external_id=external_id)


def _external_id(request: web.Request) -> str:
    """The CRM's id as it sent it: not trimmed (two ids differing in a space are two ids), but never blank
    and with no control characters (Postgres stores no NUL)."""
    external_id = request.match_info["external_id"]
    if not external_id.strip() or len(external_id) > MAX_EXTERNAL_ID or any(c < " " for c in external_id):
        raise MalformedRequest(f"The external id must be 1 to {MAX_EXTERNAL_ID} printable characters.")
    return external_id

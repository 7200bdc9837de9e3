"""Operator actions."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json, path_uuid
from gateway.resources import LEDGER, MESSAGING
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.credits import CreditModeRequest, GrantAnswer, GrantRequest, TenantPolicies, TenantView
from gateway.schemas.messages import DestinationRates
from gateway.usecases import lots
from gateway.usecases.directory import change_credit_mode, require_operator, set_tenant_policies
from gateway.usecases.identity import identity_for
from gateway.web.idempotency import idempotent


@api.route("PUT", "/admin/tenants/{id}/credit-mode", "Switch a tenant's credit mode (operators only)",
           body=CreditModeRequest, answer=TenantView, tags=("admin",))
async def credit_mode(request: web.Request) -> web.Response:
    caller = caller_of(request)
    tenant_id = path_uuid(request, not_found=no_such("tenant"))
    body = await parse_json(request, CreditModeRequest)
    tenant = await change_credit_mode(request.app[DB], request.app[LEDGER], caller, tenant_id, body.mode)
    return json_response(
        TenantView(id=tenant.id, name=tenant.name, credit_mode=tenant.credit_mode, timezone=tenant.timezone,
                   refund_undelivered=tenant.refund_undelivered)
    )


@api.route("POST", "/admin/tenants/{id}/grants", "Grant promotional credits to one of a tenant's accounts "
           "(operators only): spent first, never refunded or invoiced", body=GrantRequest, answer=GrantAnswer,
           status=201, headers=("Idempotency-Key",), tags=("admin",), errors=(400, 401, 403, 404, 409, 422))
@idempotent
async def grant(request: web.Request) -> web.Response:
    caller = caller_of(request)
    tenant_id = path_uuid(request, not_found=no_such("tenant"))
    body = await parse_json(request, GrantRequest)
    granted = await lots.grant(request.app[DB], request.app[LEDGER], caller, tenant_id, body, idempotency_key(request))
    return json_response(granted, status=201)


@api.route("PUT", "/admin/tenants/{id}/policies", "Set a tenant's policies (operators only): whether undelivered "
           "messages give their credits back", body=TenantPolicies, answer=TenantView, tags=("admin",),
           errors=(400, 401, 403, 404))
async def tenant_policies(request: web.Request) -> web.Response:
    caller = caller_of(request)
    tenant_id = path_uuid(request, not_found=no_such("tenant"))
    body = await parse_json(request, TenantPolicies)
    tenant = await set_tenant_policies(request.app[DB], caller, tenant_id, body.refund_undelivered)
    return json_response(TenantView(id=tenant.id, name=tenant.name, credit_mode=tenant.credit_mode,
                                    timezone=tenant.timezone, refund_undelivered=tenant.refund_undelivered))


@api.route("PUT", "/admin/destination-rates", "Set what an SMS segment costs by destination country (operators "
           "only): the whole table, `*` for every other country", body=DestinationRates, answer=DestinationRates,
           tags=("admin",), errors=(400, 401, 403, 422))
async def set_destination_rates(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await parse_json(request, DestinationRates)
    require_operator(caller, "Only platform operators set the destination rates.")
    return json_response(await request.app[MESSAGING].set_destination_rates(identity_for(caller), body))

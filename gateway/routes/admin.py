"""Operator actions."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_json, path_uuid
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.credits import CreditModeRequest, TenantView
from gateway.usecases.directory import change_credit_mode


@api.route("PUT", "/admin/tenants/{id}/credit-mode", "Switch a tenant's credit mode (operators only)",
           body=CreditModeRequest, answer=TenantView, tags=("admin",))
async def credit_mode(request: web.Request) -> web.Response:
    caller = caller_of(request)
    tenant_id = path_uuid(request, not_found=no_such("tenant"))
    body = await parse_json(request, CreditModeRequest)
    tenant = await change_credit_mode(request.app[DB], request.app[LEDGER], caller, tenant_id, body.mode)
    return json_response(
        TenantView(id=tenant.id, name=tenant.name, credit_mode=tenant.credit_mode, timezone=tenant.timezone)
    )

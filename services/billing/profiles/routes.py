"""A person's billing profile: the billing details and card billing offers on their next purchase."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import identity_of, json_response
from services.billing.profiles import usecases
from services.billing.profiles.schemas import billing_profile_answer
from services.billing.resources import PROVIDER


async def get_billing_profile(request: web.Request) -> web.Response:
    """The caller's last billing details and saved card, offered on their next purchase."""
    details, card = await usecases.profile_of(request.app[DB], identity_of(request), request.app[PROVIDER].name)
    return json_response(billing_profile_answer(details, card))


routes = [web.get("/billing-profile", get_billing_profile)]

"""The public API, one module per area; importing them registers their routes on `api`."""

from gateway.routes import (  # noqa: F401
    accounts,
    admin,
    auth,
    auto_top_up,
    billing_admin,
    directory,
    events,
    history,
    holds,
    logs,
    messages,
    mode_requests,
    onboarding,
    payments,
    prices,
    purchases,
    refunds,
    stream,
    usage,
    webhooks,
)
from gateway.routes.registry import api

__all__ = ["api"]

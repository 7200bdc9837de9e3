"""The public API, one module per area; importing them registers their routes on `api`."""

from gateway.routes import (  # noqa: F401
    accounts,
    admin,
    admin_accounts,
    alerts,
    auth,
    auto_top_up,
    billing_admin,
    directory,
    events,
    history,
    holds,
    limits,
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

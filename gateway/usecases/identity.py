"""The identity the gateway vouches for when it calls a service on someone's behalf."""

from __future__ import annotations

import uuid

from common.identity import Identity
from gateway.web.auth import Caller

# The hosted checkout pages: the unguessable session id, not a signed-in user, grants access there.
CHECKOUT = Identity(role="service")


def identity_for(caller: Caller) -> Identity:
    person = caller.person
    return Identity(
        role=person.role,
        tenant_id=person.tenant_id,
        user_id=person.id,
        team=person.team,
        send_sms=person.send_sms,
        manage_credits=person.manage_credits,
        credit_mode=caller.tenant.credit_mode if caller.tenant else None,
    )


def purchase_identity(tenant_id: uuid.UUID) -> Identity:
    """The identity the gateway uses for the hosted checkout pages, where the unguessable session id,
    not a signed-in user, is what grants access."""
    return Identity(role="service", tenant_id=tenant_id)


def tenant_service(caller: Caller) -> Identity:
    """The gateway itself, acting for the caller's tenant (to release what a failed request left)."""
    return Identity(role="service", tenant_id=caller.require_tenant().id)

"""The rules of endpoints: who may manage them, which event types they may want, and their secrets."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

from common.contracts import problems
from common.contracts.catalogue import CATALOGUE
from common.identity import Identity
from common.problems import Forbidden, NotFound, RuleBroken

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix every secret has, not a secret)
SECRET_BYTES = 32
# After a rotation the previous secret signs too, for this long: time for the receiver to switch.
PREVIOUS_SECRET_VALID = timedelta(hours=24)
# What an outside system may subscribe to: the catalogue's public events (the rest are the services' own).
PUBLIC_TYPES = frozenset(spec.type for spec in CATALOGUE.values() if spec.audience == "public")


class MastersOnly(Forbidden):
    problem = problems.MASTERS_ONLY


class WebhookNotFound(NotFound):
    problem = problems.WEBHOOK_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("No such webhook.")


class UnknownEventType(RuleBroken):
    problem = problems.WEBHOOK_EVENT_TYPE_UNKNOWN


def require_master(identity: Identity) -> uuid.UUID:
    """The tenant of a master calling; anyone else (a user, an operator, a service) is refused."""
    if identity.role != "master" or identity.tenant_id is None:
        raise MastersOnly("Only a tenant's master users manage webhooks.")
    return identity.tenant_id


def wanted_types(event_types: Sequence[str]) -> list[str]:
    """The event types asked for, each once and in the order given; UnknownEventType names any that is
    not a public event type."""
    for index, event_type in enumerate(event_types):
        if event_type not in PUBLIC_TYPES:
            raise UnknownEventType(
                f"{event_type!r} is not an event type webhooks can receive; the public types are "
                f"{', '.join(sorted(PUBLIC_TYPES))}.",
                errors=[{"field": f"event_types.{index}", "message": f"unknown event type {event_type!r}"}],
            )
    return list(dict.fromkeys(event_types))


def new_secret() -> str:
    """`whsec_` and the base64 of 32 random bytes, as Standard Webhooks libraries read it."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()

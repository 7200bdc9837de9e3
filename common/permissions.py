"""The design's "Who may do what" table, shared by the gateway (which decides what a caller may ask)
and the ledger (which checks again before it moves a credit, so a gateway bug cannot move one alone).

Pure functions over two small facts: who acts, and whose account it is (None for System Credits).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    role: str  # master | user | operator | service
    team: str | None
    manage_credits: bool

    @property
    def is_master(self) -> bool:
        return self.role == "master"


@dataclass(frozen=True)
class Owner:
    user_id: uuid.UUID
    team: str | None


def _same_team(actor: Actor, owner: Owner) -> bool:
    return actor.team is not None and actor.team == owner.team


def may_manage(actor: Actor, owner: Owner | None) -> bool:
    """See the account, its balance and its log."""
    if owner is None:
        return actor.is_master
    return actor.is_master or actor.manage_credits or owner.user_id == actor.user_id


def may_purchase_for(actor: Actor, owner: Owner | None) -> bool:
    if owner is None:
        return actor.is_master
    return actor.is_master or actor.manage_credits or owner.user_id == actor.user_id or _same_team(actor, owner)


def may_transfer_from(actor: Actor, owner: Owner | None) -> bool:
    # The same people who manage an account may move credits out of it.
    return may_manage(actor, owner)


def may_transfer_to(actor: Actor, owner: Owner | None) -> bool:
    # Credits may be given to whoever one may buy them for.
    return may_purchase_for(actor, owner)

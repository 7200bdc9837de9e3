"""What the replica knows of a tenant, and how it names accounts and people. Pure and synchronous."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import tzinfo

from common import accounts
from common.zones import zone_or_utc

# Before the directory has announced a tenant (or when it announced a zone this machine does not
# know), times are shown in UTC: with the offset printed beside every time, never a wrong local time.
FALLBACK_TIMEZONE = "UTC"
FORMER_USER = "Former user"


@dataclass(frozen=True)
class Directory:
    """What the replica knows of one tenant: its name, time zone and people (account code -> name)."""

    tenant_id: uuid.UUID
    tenant_name: str | None = None
    timezone: str = FALLBACK_TIMEZONE
    names: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def zone(self) -> tzinfo:  # looked up once, not once per row of a 200,000-row CSV
        return zone_or_utc(self.timezone)

    @property
    def zone_name(self) -> str:
        """The IANA name of `zone`: the tenant's, or UTC where this machine does not know that one."""
        return str(getattr(self.zone, "key", FALLBACK_TIMEZONE))

    @property
    def display_name(self) -> str:
        return self.tenant_name or f"Tenant {self.tenant_id}"

    def account(self, code: str) -> str:
        """'System Credits' or the owner's name (the log holds only user-facing accounts)."""
        return accounts.counterparty_label(code, "", self.names) or code

    def counterparty(self, code: str | None, kind: str) -> str:
        return accounts.counterparty_label(code, kind, self.names) or ""

    def person(self, user_id: uuid.UUID | None) -> str:
        """Who made a change; empty when the system did (an expiry, a sweep nobody asked for)."""
        if user_id is None:
            return ""
        return self.names.get(accounts.user_code(user_id), FORMER_USER)




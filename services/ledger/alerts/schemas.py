"""What the alerts' routes accept beyond the shared contracts: the account they are about."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AlertsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=60, description="The account's code: `system` or `user:<id>`")

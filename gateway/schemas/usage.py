"""The usage chart's public shapes: which accounts (as for the log) and the figures per day."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from common.contracts.reporting import Usage as Usage
from common.contracts.reporting import UsageDay as UsageDay


class UsageQuery(BaseModel):
    # Unknown fields are refused rather than ignored, as in every public request.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account: list[uuid.UUID] | None = Field(
        default=None, description="Only these accounts (repeat the parameter); else every account I manage"
    )
    days: int = Field(default=30, description="How many days back, today included (1 to 30)",
                      json_schema_extra={"minimum": 1, "maximum": 30})

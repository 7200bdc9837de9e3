"""The shape of a journal read."""

from __future__ import annotations

from pydantic import BaseModel, Field


class JournalQuery(BaseModel):
    after_seq: int = Field(default=0, ge=0)
    limit: int = Field(default=500, ge=1, le=5000)

"""The shapes of sessions: the token pair a sign-in or renewal answers, renewing and signing out, and the
device list a person can sign out of."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from gateway.schemas.credits import TokenAnswer, _Request


class SessionTokenAnswer(TokenAnswer):
    refresh_token: str = Field(description="Opaque; exchanged at /auth/refresh for the next pair, once")
    refresh_token_expires_in: int = Field(description="Seconds the session lasts if it is not used")


class RefreshRequest(_Request):
    refresh_token: str = Field(min_length=1, max_length=200)


class SignOutRequest(_Request):
    refresh_token: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="The session to end; without it, the session of the access token sent",
    )


class SessionView(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime = Field(description="When it was signed in or last renewed its access token")
    user_agent: str | None
    ip: str | None
    current: bool = Field(description="Whether this is the session of the access token asking")

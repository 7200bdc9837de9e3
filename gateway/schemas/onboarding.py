"""The public shapes of onboarding: a new tenant and its first master, a new user, a password set from an
emailed link, and a person kept in step by the CRM's directory sync."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from common.contracts.billing import EMAIL
from gateway.directory.onboarding import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    australian_business_number,
    iana_time_zone,
)
from gateway.schemas.credits import UserDetail


class _Request(BaseModel):
    # Unknown fields are refused rather than ignored, and text is trimmed, as in every public request.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Email = Annotated[str, Field(min_length=3, max_length=254, pattern=EMAIL)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Team = Annotated[str | None, Field(max_length=100, description="null: no team")]
Abn = Annotated[
    str,
    Field(min_length=11, max_length=20, description="Australian Business Number, checked (e.g. 53 004 085 616)"),
    AfterValidator(australian_business_number),
]
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64, description="IANA time zone of the tenant's reports (e.g. Australia/Sydney)"),
    AfterValidator(iana_time_zone),
]


class NewMaster(_Request):
    name: Name
    email: Email


class NewTenantRequest(_Request):
    name: Name
    legal_name: Name
    abn: Abn
    timezone: TimeZone
    credit_mode: Literal["individual", "shared"]
    master: NewMaster = Field(description="The tenant's first master user, who is emailed an invitation")


class TenantDetail(BaseModel):
    id: uuid.UUID
    name: str
    legal_name: str | None
    abn: str | None
    timezone: str
    credit_mode: Literal["individual", "shared"]


class TenantCreated(BaseModel):
    tenant: TenantDetail
    master: UserDetail


class NewUserRequest(_Request):
    name: Name
    email: Email
    role: Literal["master", "user"] = "user"
    team: Team = None
    send_sms: StrictBool = True
    manage_credits: StrictBool = False


class PasswordResetRequest(_Request):
    # Any text is answered alike (202): a pattern here would tell which addresses are worth trying.
    email: str = Field(min_length=1, max_length=254)


class PasswordSet(_Request):
    token: str = Field(min_length=1, max_length=200, description="From the emailed link's `token`")
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class DirectoryUserRequest(_Request):
    """The whole person as the CRM has them: a field left out takes its default, as with any PUT."""

    name: Name
    email: Email
    role: Literal["master", "user"]
    team: Team = None
    active: StrictBool = True
    send_sms: StrictBool = True
    manage_credits: StrictBool = False
    invite: StrictBool = Field(default=False, description="Email an invitation when this creates the person")


class DirectoryUser(UserDetail):
    external_id: str = Field(description="The CRM's own id for the person")

from __future__ import annotations

from pydantic import Field

from common.mail import MailSettings
from common.settings import LOCAL_POSTGRES


# MailSettings: SMTP_HOST and the other email settings (common.mail), as billing reads them.
class GatewaySettings(MailSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/gateway", validation_alias="GATEWAY_DATABASE_URL")
    port: int = Field(default=8080, validation_alias="GATEWAY_PORT")
    # Signs the access tokens handed to clients; distinct from the internal secret so that a leaked
    # client-facing key does not let anyone speak to the services directly.
    jwt_secret: str = Field(validation_alias="JWT_SECRET", min_length=32)
    access_token_ttl: int = Field(default=900, validation_alias="ACCESS_TOKEN_TTL", ge=60, le=86400)
    # A session (its refresh token) ends after this long without being used; each use moves it on.
    refresh_token_ttl: int = Field(default=30 * 86400, validation_alias="REFRESH_TOKEN_TTL", ge=60)
    # How long after a rotation the previous refresh token still renews the session once more (a client
    # that never got the answer: a tab closed or a connection dropped); after it, a reuse ends the session.
    refresh_reuse_grace_seconds: int = Field(default=30, validation_alias="REFRESH_REUSE_GRACE_SECONDS",
                                             ge=0, le=300)
    # Browser origins allowed to call the API (CORS), comma-separated, e.g. `http://localhost:3000`.
    cors_origins: str = Field(default="", validation_alias="CORS_ORIGINS")
    # Our own proxies (IPs or CIDRs, comma-separated): only from them is X-Forwarded-For believed.
    trusted_proxies: str = Field(default="", validation_alias="TRUSTED_PROXIES")
    ledger_url: str = Field(default="http://127.0.0.1:8081", validation_alias="LEDGER_URL")
    billing_url: str = Field(default="http://127.0.0.1:8082", validation_alias="BILLING_URL")
    reporting_url: str = Field(default="http://127.0.0.1:8083", validation_alias="REPORTING_URL")
    messaging_url: str = Field(default="http://127.0.0.1:8084", validation_alias="MESSAGING_URL")
    webhooks_url: str = Field(default="http://127.0.0.1:8086", validation_alias="WEBHOOKS_URL")
    # Sending SMS: how long the credits of a message stay reserved if messaging never settles them (the
    # ledger then releases them, and messaging submits nothing after it), and how big a message may be.
    message_hold_seconds: int = Field(default=900, validation_alias="MESSAGE_HOLD_SECONDS", ge=120, le=86400)
    max_message_segments: int = Field(default=10, validation_alias="MAX_MESSAGE_SEGMENTS", ge=1, le=255)
    max_message_recipients: int = Field(default=100, validation_alias="MAX_MESSAGE_RECIPIENTS", ge=1, le=1000)
    # Sign-in is limited tightly per account and generously per address (an office shares one);
    # writes only against runaway clients (high enough that a load test measures the system, not the
    # limiter).
    sign_in_limit_per_ip: str = Field(default="300/minute", validation_alias="SIGN_IN_LIMIT_PER_IP")
    sign_in_limit_per_email: str = Field(default="10/minute", validation_alias="SIGN_IN_LIMIT_PER_EMAIL")
    write_limit_per_user: str = Field(default="5000/second", validation_alias="WRITE_LIMIT_PER_USER")
    lockout_failures: int = Field(default=10, validation_alias="LOCKOUT_FAILURES", ge=1)
    lockout_seconds: int = Field(default=900, validation_alias="LOCKOUT_SECONDS", ge=1)
    request_timeout: float = Field(default=30.0, validation_alias="REQUEST_TIMEOUT_SECONDS", gt=0)
    service_timeout: float = Field(default=10.0, validation_alias="SERVICE_TIMEOUT_SECONDS", gt=0)
    # Onboarding: where the links in invitation and password-reset emails point (never taken from a
    # request's Host header, which a caller chooses), and how often a password reset may be asked for.
    public_base_url: str = Field(default="http://127.0.0.1:8080", validation_alias="PUBLIC_BASE_URL")
    password_reset_limit_per_ip: str = Field(default="30/minute", validation_alias="PASSWORD_RESET_LIMIT_PER_IP")
    password_reset_limit_per_email: str = Field(default="3/hour", validation_alias="PASSWORD_RESET_LIMIT_PER_EMAIL")
    # The live stream (GET /api/v1/stream): how many messages per tenant each process keeps for clients
    # resuming with Last-Event-ID, and how many streams one process serves at once (more: 503).
    live_buffer_size: int = Field(default=500, validation_alias="LIVE_BUFFER_SIZE", ge=1, le=100_000)
    live_max_streams: int = Field(default=2000, validation_alias="LIVE_MAX_STREAMS", ge=1)
    # How often an open stream checks its caller again (session, active, role, team, manage_credits) as
    # every request does: a sign-out or a change of rights ends it within this, not at the token's expiry.
    live_recheck_seconds: float = Field(default=15.0, validation_alias="LIVE_RECHECK_SECONDS", gt=0, le=30)
    # The callers each process remembers (gateway.callers): events make every replica forget a changed one at
    # once; this is the longest any is remembered regardless (a backstop), 0 to look every caller up.
    caller_cache_seconds: float = Field(default=30.0, validation_alias="CALLER_CACHE_SECONDS", ge=0, le=300)
    caller_cache_size: int = Field(default=10_000, validation_alias="CALLER_CACHE_SIZE", ge=1)

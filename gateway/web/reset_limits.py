"""How often a password reset may be asked for, in this process's memory (as the sign-in limits,
`gateway.web.ratelimit`). Per address, against one machine mailing thousands of people; per email, so
that nobody's mailbox is flooded with reset links. An email that has no account is counted the same as
one that has: a limit that only real accounts reach would tell which exist."""

from __future__ import annotations

from limits import parse

from gateway.settings import GatewaySettings
from gateway.web.ratelimit import MovingWindow, Quota, RateLimited, tightest


class PasswordResetLimits:
    def __init__(self, per_ip: str, per_email: str) -> None:
        self._per_ip = MovingWindow(parse(per_ip))
        self._per_email = MovingWindow(parse(per_email))

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> PasswordResetLimits:
        return cls(settings.password_reset_limit_per_ip, settings.password_reset_limit_per_email)

    def attempt(self, ip: str, email: str) -> Quota:
        """Count a request; refuse it when the address or the email is over its limit."""
        windows = ((self._per_ip, ip), (self._per_email, email.strip().lower()))
        for window, key in windows:
            if not window.test(key):
                raise RateLimited("Too many password reset requests; try again later.", window.retry_after(key),
                                  window.quota(key))
        for window, key in windows:
            window.hit(key)
        return tightest(*(window.quota(key) for window, key in windows))

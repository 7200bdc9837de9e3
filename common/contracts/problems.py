"""The catalogue of problem types (RFC 9457): one slug, one title each, for the whole system.

A domain error names its problem type from here; what HTTP status it answers is decided at the web edge
(`common.web`) from the error's kind, never by the domain. A slug is part of the public API (it is the
last segment of the problem's `type` URI), so a slug once published keeps its meaning and its title.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str


CATALOGUE: dict[str, ProblemType] = {}


def _problem(slug: str, title: str) -> ProblemType:
    # Registering a slug twice is the bug this catalogue exists to prevent: fail at import, in every test.
    if slug in CATALOGUE:
        raise ValueError(f"problem type {slug!r} is declared twice")
    CATALOGUE[slug] = problem = ProblemType(slug, title)
    return problem


def problem_type(slug: str) -> ProblemType:
    """The catalogued type of a slug (a KeyError names a slug nobody declared)."""
    return CATALOGUE[slug]


# The generic kinds: what an error answers when nothing more specific is known.
MALFORMED_REQUEST = _problem("malformed-request", "Malformed request")
UNAUTHENTICATED = _problem("unauthenticated", "Authentication required")
FORBIDDEN = _problem("forbidden", "Not allowed")
NOT_FOUND = _problem("not-found", "Not found")
CONFLICT = _problem("conflict", "Conflict")
RULE_BROKEN = _problem("rule-broken", "The request breaks a rule")
RATE_LIMITED = _problem("rate-limited", "Too many requests")
UNAVAILABLE = _problem("unavailable", "Service unavailable")
NOT_READY = _problem("not-ready", "Not ready")
INTERNAL = _problem("internal", "Internal error")

# Who may call.
TENANT_USERS_ONLY = _problem("tenant-users-only", "Only a tenant's users may do this")
SERVICE_ONLY = _problem("service-only", "Only internal systems with a service token may do this")
MASTERS_ONLY = _problem("masters-only", "Only master users may do this")
OPERATORS_ONLY = _problem("operators-only", "Only platform operators may do this")

# Requests and their keys.
IDEMPOTENCY_KEY_REUSED = _problem(
    "idempotency-key-reused", "Idempotency key already used for a different request"
)
INVALID_SIGNATURE = _problem("invalid-signature", "The signature is not valid")
INVALID_CURSOR = _problem("invalid-cursor", "The cursor is not valid")
FILTER_OUT_OF_RANGE = _problem("filter-out-of-range", "A filter is out of range")
ACCOUNTS_MISSING = _problem("accounts-missing", "The accounts to read are missing")

# Accounts, credits and their rules.
ACCOUNT_NOT_FOUND = _problem("account-not-found", "No such account")
ACCOUNT_FORBIDDEN = _problem("account-forbidden", "Not allowed on this account")
NOT_SENDING_ACCOUNT = _problem("not-sending-account", "Not the account this sender spends from")
INSUFFICIENT_CREDITS = _problem("insufficient-credits", "Not enough credits")
QUANTITY_OUT_OF_RANGE = _problem("quantity-out-of-range", "Quantity out of range")
TERMS_NOT_ACCEPTED = _problem("terms-not-accepted", "The conditions were not accepted")
SAME_ACCOUNT = _problem("same-account", "From and to are the same account")
SHARED_MODE = _problem("shared-mode", "Not available in shared credit mode")
RECIPIENT_CANNOT_RECEIVE = _problem("recipient-cannot-receive", "The recipient cannot receive credits")
OPEN_HOLDS = _problem("open-holds", "Open holds block the switch")
HOLD_NOT_FOUND = _problem("hold-not-found", "No such hold")
HOLD_RESOLVED = _problem("hold-resolved", "The hold was already resolved")

# Messages.
SEND_SMS_FORBIDDEN = _problem("send-sms-forbidden", "Not allowed to send SMS")
INVALID_MESSAGE = _problem("invalid-message", "The message cannot be sent")
ATTEMPT_CANCELLED = _problem("attempt-cancelled", "This attempt was cancelled")
MESSAGE_NOT_FOUND = _problem("message-not-found", "No such message")
MESSAGE_FORBIDDEN = _problem("message-forbidden", "Not allowed to see this message")

# Purchases, payments, refunds and top-ups.
PURCHASE_NOT_FOUND = _problem("purchase-not-found", "No such purchase")
INVOICE_NOT_READY = _problem("invoice-not-ready", "The invoice is not issued yet")
ACCOUNT_MISMATCH = _problem("account-mismatch", "The account does not match")
PRICE_LIST_INVALID = _problem("price-list-invalid", "The price list is not valid")
CHECKOUT_NOT_FOUND = _problem("checkout-not-found", "No such checkout session")
CHECKOUT_COMPLETED = _problem("checkout-completed", "The checkout is already completed")
CARD_INVALID = _problem("card-invalid", "The card details are not valid")
REFUND_FORBIDDEN = _problem("refund-forbidden", "Not allowed to refund")
REFUND_NOT_FOUND = _problem("refund-not-found", "No such refund")
ADJUSTMENT_NOTE_NOT_READY = _problem("adjustment-note-not-ready", "The adjustment note is not issued yet")
REFUND_QUANTITY_OUT_OF_RANGE = _problem("refund-quantity-out-of-range", "Refund quantity out of range")
PURCHASE_NOT_REFUNDABLE = _problem("purchase-not-refundable", "The purchase cannot be refunded")
AUTO_TOP_UP_INVALID = _problem("auto-top-up-invalid", "The auto top-up is not valid")
AUTO_TOP_UP_NOT_FOUND = _problem("auto-top-up-not-found", "No auto top-up is set")
NO_SAVED_CARD = _problem("no-saved-card", "No saved card")

# Reports.
REPORT_TOO_LARGE = _problem("report-too-large", "The report is too large")

# Sessions (an expired access token is renewed with the refresh token; any other 401 means sign in again).
TOKEN_EXPIRED = _problem("token-expired", "The access token has expired")

# Onboarding: people added by an operator, a master or the CRM's directory sync, and their password links.
EMAIL_TAKEN = _problem("email-taken", "The email address is already in use")
PASSWORD_LINK_INVALID = _problem("password-link-invalid", "The password link is not valid")
SERVICE_CLIENT_UNBOUND = _problem("service-client-unbound", "The internal system is bound to no tenant")

# The protocol itself: idempotent retries and what the HTTP layer refuses before any handler runs.
IDEMPOTENCY_REQUEST_IN_PROGRESS = _problem(
    "idempotency-request-in-progress", "A request with this idempotency key is still in progress"
)
UNSUPPORTED_MEDIA_TYPE = _problem("unsupported-media-type", "Unsupported media type")
METHOD_NOT_ALLOWED = _problem("method-not-allowed", "Method not allowed")
REQUEST_TOO_LARGE = _problem("request-too-large", "Request too large")
TRANSFER_NOT_FOUND = _problem("transfer-not-found", "No such transfer")

# Webhooks: outside systems subscribed to a tenant's public events.
WEBHOOK_NOT_FOUND = _problem("webhook-not-found", "No such webhook")
WEBHOOK_DELIVERY_NOT_FOUND = _problem("webhook-delivery-not-found", "No such webhook delivery")
WEBHOOK_URL_INVALID = _problem("webhook-url-invalid", "The webhook URL is not valid")
WEBHOOK_TARGET_REFUSED = _problem("webhook-target-refused", "The webhook's target address is not allowed")
WEBHOOK_EVENT_TYPE_UNKNOWN = _problem("webhook-event-type-unknown", "Not an event type webhooks can receive")

# The live stream (GET /api/v1/stream).
LIVE_STREAMS_FULL = _problem("live-streams-full", "Too many live streams")
LIVE_STREAM_PEOPLE_ONLY = _problem("live-stream-people-only", "The live stream is for a tenant's people")

# The event log's catch-up (GET /api/v1/events).
TENANT_REQUIRED = _problem("tenant-required", "Name the tenant whose events to read")
EVENT_TYPE_NOT_FOUND = _problem("event-type-not-found", "No such event type")

# A master's request to switch their tenant's credit mode, decided by an operator.
CREDIT_MODE_REQUEST_NOT_FOUND = _problem("credit-mode-request-not-found", "No such credit mode request")
CREDIT_MODE_REQUEST_PENDING = _problem("credit-mode-request-pending", "A credit mode request is already pending")
CREDIT_MODE_REQUEST_DECIDED = _problem("credit-mode-request-decided", "The credit mode request is already decided")
CREDIT_MODE_UNCHANGED = _problem("credit-mode-unchanged", "The tenant already uses this credit mode")

# Lots and promotional grants (the ledger).
GRANT_INVALID = _problem("grant-invalid", "The grant is not valid")

# Spending limits (the ledger enforces them on a hold) and balance alerts.
MONTHLY_LIMIT_REACHED = _problem("monthly-limit-reached", "The monthly credit limit is reached")
LIMIT_INVALID = _problem("limit-invalid", "The limit is not valid")
ALERT_INVALID = _problem("alert-invalid", "The alert is not valid")
ALERT_NOT_FOUND = _problem("alert-not-found", "No such alert")
DESTINATION_RATES_INVALID = _problem("destination-rates-invalid", "The destination rates are not valid")
PRICES_CHANGED = _problem("prices-changed", "The destination prices changed: send it again")

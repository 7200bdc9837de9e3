"""Sending SMS: the credits are reserved first (a ledger hold, synchronously, so a shortfall is a 422
and nothing is sent), then the message is handed to messaging, which submits it to the carrier from
its own queue and settles the hold with what the carrier accepted. A hand-over that certainly never
reached messaging releases the hold at once (the compensation); any other failure leaves it to the
hold's expiry, since messaging may have the message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from common import destinations, sms
from common.accounts import SYSTEM, account_id, user_code
from common.contracts import problems
from common.contracts.ledger import HoldRequest, HoldView
from common.contracts.messaging import Message, MessageOrder
from common.logs import get_logger
from common.problems import Conflict, Forbidden, RuleBroken
from gateway.clients.base import ServiceNotReached, UpstreamProblem
from gateway.clients.ledger import LedgerClient
from gateway.clients.messaging import MessagingClient
from gateway.directory import domain
from gateway.schemas.messages import DestinationCost, MessageAccepted, MessageView, PreviewView, SendMessageRequest
from gateway.settings import GatewaySettings
from gateway.usecases.accounts import accounts_named
from gateway.usecases.identity import identity_for, tenant_service
from gateway.web.auth import Caller

log = get_logger(__name__)
# A message's id comes from its sender and Idempotency-Key: a retried request names the same message,
# and so the same hold and the same hand-over, and is answered as the first.
_MESSAGE_IDS = uuid.UUID("1b0c8c52-7a53-4d4e-9a37-6f8a2f3e51c4")


class SendingForbidden(Forbidden):
    problem = problems.SEND_SMS_FORBIDDEN


class InvalidMessage(RuleBroken):
    problem = problems.INVALID_MESSAGE


class AttemptCancelled(Conflict):
    problem = problems.ATTEMPT_CANCELLED


@dataclass(frozen=True)
class MessageLimits:
    max_recipients: int
    max_segments: int
    hold_seconds: int  # how long the credits stay reserved if messaging never settles them

    @classmethod
    def of(cls, settings: GatewaySettings) -> MessageLimits:
        return cls(settings.max_message_recipients, settings.max_message_segments, settings.message_hold_seconds)


def preview(
    body: str, recipients: int, max_segments: int, to: list[str] | None = None, rates: dict[str, int] | None = None
) -> PreviewView:
    """Segments and credits a message would take (the live counter): with the recipients themselves
    (`to`) and the destination rates, priced by destination, each country on a line of its own."""
    counted = sms.segment(body)
    lines: list[DestinationCost] = []
    credits = counted.segments * recipients
    if to is not None and rates is not None:
        valid = list(dict.fromkeys(n for n in (_e164_or_none(t) for t in to) if n))
        by_region: dict[str, list[int]] = {}
        for number, rate in zip(valid, destinations.price(valid, rates), strict=True):
            by_region.setdefault(destinations.region_of(number), []).append(rate)
        lines = [DestinationCost(region=region, recipients=len(found), credits_per_segment=found[0],
                                 credits=counted.segments * sum(found)) for region, found in sorted(by_region.items())]
        recipients, credits = len(valid), sum(line.credits for line in lines)
    return PreviewView(
        encoding=counted.encoding, characters=len(body), units=counted.units, segments=counted.segments,
        per_segment=counted.per_segment, remaining=counted.remaining, max_segments=max_segments,
        recipients=recipients, credits=credits, destinations=lines,
    )


def _e164_or_none(number: str) -> str | None:
    try:
        return sms.e164(number)
    except sms.InvalidNumber:
        return None


async def send(
    pool: asyncpg.Pool, ledger: LedgerClient, messaging: MessagingClient, caller: Caller,
    request: SendMessageRequest, idempotency_key: str, limits: MessageLimits,
) -> MessageAccepted:
    if not caller.person.send_sms:
        raise SendingForbidden("You are not allowed to send SMS.")
    account = await sending_account(pool, caller, request.from_account)
    recipients = valid_recipients(request.to, limits.max_recipients)
    counted = segments(request.body, limits.max_segments)
    message_id = uuid.uuid5(_MESSAGE_IDS, f"{caller.person.id}/{idempotency_key}")
    # Priced by destination: messaging checks the same table when the message is handed over.
    priced = destinations.price(recipients, await messaging.destination_rates(identity_for(caller)))
    credits = counted.segments * sum(priced)
    hold = await _reserve(ledger, caller, account, message_id, credits, limits.hold_seconds,
                          hold_note(len(recipients)))
    order = MessageOrder(id=message_id, hold_id=hold.id, hold_expires_at=hold.expires_at, account_code=account.code,
                         recipients=recipients, body=request.body, segments=counted.segments, credits=credits,
                         credits_per_segment=priced)
    message = await _hand_over(ledger, messaging, caller, hold, order)
    log.info("message_handed_over", message_id=str(message_id), recipients=len(recipients), credits=credits)
    return MessageAccepted(
        id=message_id, status=message.status, from_account=account.id, encoding=counted.encoding,
        segments=counted.segments, recipients=len(recipients), credits=credits,
    )


async def message_of(
    messaging: MessagingClient, caller: Caller, tenant: domain.Tenant, message_id: uuid.UUID
) -> MessageView:
    """A message of the caller's tenant (messaging decides who may see it) and each recipient's status.
    Messaging says which recipients it announced as undelivered; whether their credits come back is the
    tenant's policy (the ledger applies it): a tenant that keeps undelivered messages charged gets none."""
    message = await messaging.message(identity_for(caller), message_id)
    answer = message.model_dump()
    if not tenant.refund_undelivered:
        answer["recipients"] = [{**r, "credits_returned": 0} for r in answer["recipients"]]
    return MessageView.model_validate({**answer, "from_account": account_id(tenant.id, message.account_code)})


async def sending_account(pool: asyncpg.Pool, caller: Caller, wanted: uuid.UUID | None) -> domain.AccountRef:
    """A sender pays from their own User Credits in individual mode and System Credits in shared mode,
    and from no other account."""
    tenant = caller.require_tenant()
    code = SYSTEM if tenant.credit_mode == "shared" else user_code(caller.person.id)
    [own] = await accounts_named(pool, tenant, account_id(tenant.id, code))
    if wanted is not None and wanted != own.id:
        await accounts_named(pool, tenant, wanted)  # another tenant's, or none: 404
        raise domain.AccountForbidden(
            "You send from your own credits: "
            + ("System Credits, in shared mode." if code == SYSTEM else "your User Credits, in individual mode.")
        )
    return own


def valid_recipients(numbers: list[str], maximum: int) -> list[str]:
    """E.164, each once (a number given twice is sent and charged once), every bad one named."""
    normalised, errors = [], []
    for index, number in enumerate(numbers):
        try:
            normalised.append(sms.e164(number))
        except sms.InvalidNumber as exc:
            errors.append({"field": f"to.{index}", "message": f"{number[:40]}: {exc}"})
    if errors:
        raise InvalidMessage("Some recipients are not valid phone numbers.", errors=errors)
    unique = list(dict.fromkeys(normalised))
    if len(unique) > maximum:
        raise InvalidMessage(f"A message goes to at most {maximum} recipients.",
                             errors=[{"field": "to", "message": f"At most {maximum} recipients."}])
    return unique


def segments(body: str, maximum: int) -> sms.Segmentation:
    counted = sms.segment(body)
    if counted.segments == 0:
        raise InvalidMessage("Write a message: it is empty.", errors=[{"field": "body", "message": "Empty."}])
    if counted.segments > maximum:
        raise InvalidMessage(f"The message is {counted.segments} segments long; at most {maximum} are allowed.",
                             errors=[{"field": "body", "message": f"At most {maximum} segments."}])
    return counted


def hold_note(recipients: int) -> str:
    """The hold's words in the log, on the reservation and on its capture or release."""
    return f"SMS to {recipients} recipient{'' if recipients == 1 else 's'}"


async def _reserve(
    ledger: LedgerClient, caller: Caller, account: domain.AccountRef, message_id: uuid.UUID, credits: int,
    hold_seconds: int, note: str,
) -> HoldView:
    """The hold, keyed by the message: a retried request reserves once. The ledger checks again that
    this person may spend from this account."""
    hold = HoldRequest(account_id=account.id, quantity=credits, reference=f"message:{message_id}",
                       note=note, expires_in=hold_seconds)
    return await ledger.place_hold(identity_for(caller), hold, idempotency_key=f"message:{message_id}")


async def _hand_over(
    ledger: LedgerClient, messaging: MessagingClient, caller: Caller, hold: HoldView, order: MessageOrder
) -> Message:
    identity = identity_for(caller)
    if hold.status != "open":
        # A retry of a message already settled (its hold captured) is answered as it is; a retry of an
        # attempt whose hold was released unsent never sends under that key again.
        try:
            return await messaging.message(identity, order.id)
        except UpstreamProblem as exc:
            if exc.status != 404:
                raise
            raise AttemptCancelled("This attempt was cancelled and nothing was sent: send it again with a new "
                                   "Idempotency-Key.") from None
    try:
        return await messaging.hand_over(identity, order)
    except ServiceNotReached:
        # Messaging never got the message: release its credits now rather than at the hold's expiry.
        await ledger.void_hold(tenant_service(caller), hold.id)
        raise
    except UpstreamProblem as exc:
        if (400 <= exc.status < 500 and exc.status != 409) or exc.slug == "prices-changed":
            # Messaging refused it (it stored nothing): nothing will be sent, so nothing stays reserved.
            await ledger.void_hold(tenant_service(caller), hold.id)
        raise

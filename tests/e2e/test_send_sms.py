"""Sending SMS end to end: gateway, ledger, messaging and the SMSC simulator each their own process,
over real Postgres and RabbitMQ; by API, by a crash of messaging mid-batch, and in the browser."""

from __future__ import annotations

import asyncio
import math
import re
import signal
import uuid
from collections import Counter
from typing import Any

import aiohttp
from playwright.async_api import Browser, expect

from common.sms import e164
from tests.e2e.browser_helpers import browsing, shot, sign_in_page
from tests.e2e.conftest import Client, System
from tests.e2e.test_purchase_flow import GOOD_CARD, own_account, pay, start_purchase
from tests.support import NEVER_RECEIPTED, REJECTED_AT_SUBMIT, UNDELIVERABLE, eventually, mobile_number


def number(ending: str = "") -> str:
    """A random valid Australian mobile number (optionally ending as the simulator's rules want)."""
    return e164(mobile_number(ending))


async def fund(client: Client, http: aiohttp.ClientSession, quantity: int) -> dict[str, Any]:
    """Buy `quantity` credits for the client's own account and wait until they are there."""
    account = await own_account(client)
    created = await start_purchase(client, account["id"], quantity)
    await pay(http, created["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await own_account(client))["balance"] >= account["balance"] + quantity

    await eventually(credited, timeout=10)
    return await own_account(client)


async def send(client: Client, to: list[str], body: str, key: str | None = None) -> tuple[int, dict[str, Any]]:
    return await client.post("/api/v1/messages", {"to": to, "body": body},
                             headers={"Idempotency-Key": key or str(uuid.uuid4())})


async def settled(client: Client, message_id: str, timeout: float = 20, receipts: bool = True) -> dict[str, Any]:
    """The message once the carrier answered for every recipient (and, with `receipts`, every delivery
    receipt is in)."""
    found: dict[str, Any] = {}

    async def final() -> bool:
        status, message = await client.get(f"/api/v1/messages/{message_id}")
        found.update(message)
        done = not receipts or message["status"] in ("delivered", "failed")
        return status == 200 and done and message["settled_at"] is not None

    await eventually(final, timeout=timeout, every=0.2)
    return found


async def submissions(system: System) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(system.url("smsc") + "/submissions") as response:
        return list((await response.json())["accepted"])


async def log_entries(client: Client, account_id: str) -> list[dict[str, Any]]:
    status, page = await client.get(f"/api/v1/logs?account={account_id}&limit=500")
    assert status == 200, page
    return list(page["entries"])


async def test_each_test_number_settles_as_documented_and_undelivered_recipients_get_their_credits_back(
    sign_in: Any, http: aiohttp.ClientSession, system: System
):
    ben = await sign_in("ben@acme.test")
    before = await fund(ben, http, 100)
    delivered, rejected, undeliverable, silent = (number(), number(REJECTED_AT_SUBMIT), number(UNDELIVERABLE),
                                                  number(NEVER_RECEIPTED))
    body = "Open home this Saturday 10am at 4 Smith St. Reply STOP to opt out. " * 3  # 207 chars: 2 segments
    status, sent = await send(ben, [delivered, rejected, undeliverable, silent], body)
    assert status == 202, sent
    assert (sent["segments"], sent["recipients"], sent["credits"], sent["encoding"]) == (2, 4, 8, "gsm7")
    assert sent["from_account"] == before["id"]

    message = await settled(ben, sent["id"])
    assert message["captured_credits"] == 6  # the carrier accepted three recipients' two segments

    async def receipted() -> bool:
        _, found = await ben.get(f"/api/v1/messages/{sent['id']}")
        return all(r["delivery"] != "pending" for r in found["recipients"])

    await eventually(receipted, timeout=15)  # the silent one expires after RECEIPT_VALIDITY_SECONDS
    _, message = await ben.get(f"/api/v1/messages/{sent['id']}")
    assert {r["to"]: (r["status"], r["delivery"], r["credits"], r["credits_returned"])
            for r in message["recipients"]} == {
        delivered: ("delivered", "delivered", 2, 0), rejected: ("failed", "rejected", 0, 0),
        undeliverable: ("failed", "undeliverable", 2, 2), silent: ("failed", "expired", 2, 2)}

    async def given_back() -> bool:
        after = await own_account(ben)
        return bool(after["held"] == before["held"] and after["balance"] == before["balance"] - 2)

    await eventually(given_back, timeout=10)  # 6 captured, 4 of them given back: only the delivered one paid

    async def refunds_logged() -> bool:
        return len([e for e in await log_entries(ben, before["id"]) if e["kind"] == "delivery_refund"
                    and e["reference"] == f"message:{sent['id']}"]) == 2

    await eventually(refunds_logged, timeout=10)

    async def logged() -> bool:
        return any(e["kind"] == "capture" for e in await log_entries(ben, before["id"])
                   if e["reference"] == f"message:{sent['id']}")

    await eventually(logged, timeout=10)
    [capture] = [e for e in await log_entries(ben, before["id"])
                 if e["kind"] == "capture" and e["reference"] == f"message:{sent['id']}"]
    assert (capture["direction"], capture["quantity"]) == ("out", 6)


async def test_sending_with_too_few_credits_is_422_and_nothing_is_sent(sign_in: Any, system: System):
    dan = await sign_in("dan@acme.test")
    account = await own_account(dan)
    assert account["available"] < 1000, "this test needs Dan to hold fewer than 1,000 credits"
    body = "x" * 1530  # 10 segments
    recipients = [number() for _ in range(max(1, math.ceil((account["available"] + 1) / 10)))]
    status, problem = await send(dan, recipients, body)
    assert status == 422 and problem["type"].endswith("insufficient-credits"), problem
    assert (await own_account(dan))["held"] == account["held"]
    await asyncio.sleep(0.5)
    sent_to = {s["destination"] for s in await submissions(system)}
    assert not sent_to & {r.lstrip("+") for r in recipients}


async def test_bad_messages_are_refused_with_the_reason(sign_in: Any):
    ben = await sign_in("ben@acme.test")
    checks = [
        ({"to": [number()], "body": ""}, 422, "body"),
        ({"to": [number()], "body": "   "}, 422, "body"),
        ({"to": ["0412 345 678", number()], "body": "Hi"}, 422, "to.0"),
        ({"to": [number()], "body": "x" * 1531}, 422, "body"),  # 11 segments
        ({"to": [], "body": "Hi"}, 400, "to"),
    ]
    for request, expected, field in checks:
        status, problem = await ben.post("/api/v1/messages", request, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert status == expected, (request, problem)
        assert field in [e["field"] for e in problem.get("errors", [])], problem
    gail_system = (await (await sign_in("master@globex.test")).get("/api/v1/accounts"))[1][0]["id"]
    status, _ = await ben.post("/api/v1/messages", {"from_account": gail_system, "to": [number()], "body": "Hi"},
                               headers={"Idempotency-Key": str(uuid.uuid4())})
    assert status == 404  # another tenant's account does not exist for Ben


async def test_the_same_idempotency_key_sends_once(sign_in: Any, http: aiohttp.ClientSession, system: System):
    cleo = await sign_in("cleo@acme.test")
    before = await fund(cleo, http, 100)
    key, to = str(uuid.uuid4()), number()
    first = await send(cleo, [to], "Hello once", key)
    again = await send(cleo, [to], "Hello once", key)
    assert first[0] == again[0] == 202 and first[1]["id"] == again[1]["id"]
    different = await send(cleo, [to, number()], "Hello once", key)
    assert different[0] == 409
    await settled(cleo, first[1]["id"])
    assert [s["destination"] for s in await submissions(system)].count(to.lstrip("+")) == 1
    assert (await own_account(cleo))["balance"] == before["balance"] - 1


async def test_killing_messaging_mid_batch_sends_each_message_once_and_spends_each_credit_once(
    sign_in: Any, http: aiohttp.ClientSession, system: System
):
    ava = await sign_in("master@acme.test")
    before = await fund(ava, http, 200)
    batch = [[number(), number()] for _ in range(30)]  # 60 submits: 1.5 s at the simulator's pace
    # Handed over together, as a CRM's batch would be: the carrier's pace, not ours, then decides how far
    # the sending got when messaging is killed.
    answers = await asyncio.gather(*(send(ava, recipients, "Reminder: inspection tomorrow at 9am.")
                                     for recipients in batch))
    assert all(status == 202 for status, _ in answers), answers
    sent = [answer for _, answer in answers]
    ours = {n.lstrip("+") for recipients in batch for n in recipients}

    async def some_sent() -> bool:
        return len([s for s in await submissions(system) if s["destination"] in ours]) >= 8

    await eventually(some_sent, timeout=15, every=0.02)
    system.stop("messaging", signal.SIGKILL)
    at_kill = len([s for s in await submissions(system) if s["destination"] in ours])
    system.start("messaging")
    await system.wait_ready("messaging")

    # Receipts are not waited for: one the carrier handed over just before the kill is acknowledged by
    # the SMPP core and gone with the process (that recipient stays `submitted`; no credit depends on it).
    for answer in sent:
        await settled(ava, answer["id"], timeout=30, receipts=False)
    accepted = [s for s in await submissions(system) if s["destination"] in ours]
    per_number = Counter(s["destination"] for s in accepted)
    duplicates = sum(s["duplicates"] for s in accepted)
    print(f"\nkill mid-batch: {at_kill} of 60 submitted at the kill; after restart {len(accepted)} sent, "
          f"{duplicates} resubmission(s) recognised by the carrier")
    assert at_kill < 60, "the kill came after the batch: nothing was tested"
    assert len(accepted) == 60 and set(per_number.values()) == {1}

    references = {f"message:{a['id']}" for a in sent}

    async def captured() -> bool:
        entries = [e for e in await log_entries(ava, before["id"]) if e["reference"] in references]
        # A receipt the carrier sent just before the kill died with the process: once RECEIPT_VALIDITY_SECONDS
        # have passed, that recipient expires and its credit is given back, as for any lost receipt.
        given_back = sum(e["quantity"] for e in entries if e["kind"] == "delivery_refund")
        account = await own_account(ava)
        return account["held"] == before["held"] and account["balance"] == before["balance"] - 60 + given_back

    await eventually(captured, timeout=15)
    captures = [e for e in await log_entries(ava, before["id"]) if e["kind"] == "capture"
                and e["reference"] in references]
    assert len(captures) == 30 and sum(e["quantity"] for e in captures) == 60


async def test_ben_sends_an_sms_from_the_send_sms_page_with_a_live_counter(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession
):
    ben_api = await sign_in("ben@acme.test")
    before = await fund(ben_api, http, 100)
    to = number()
    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "ben@acme.test")
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="Send SMS").click()
        await expect(page.get_by_role("heading", name="Send SMS")).to_be_visible()
        await expect(page.locator("#send-from")).to_contain_text(f"{before['available']:,} available")
        form = page.get_by_role("form", name="Send SMS")
        await form.get_by_label("To", exact=True).fill(to)
        message = form.get_by_label("Message", exact=True)
        await message.fill("a" * 160)
        counter = page.locator("#send-counter")
        await expect(counter).to_contain_text("1 segment (0 left)")
        await message.press("End")
        await message.type("€")  # two septets: now over 160, two segments
        await expect(counter).to_contain_text("2 segments")
        await expect(counter.locator("[data-credits]")).to_have_text("2 credits")
        await message.fill("Hi 😀")
        await expect(counter).to_contain_text("Unicode")
        await expect(counter).to_contain_text("1 segment (65 left)")  # an emoji is two UTF-16 units
        await shot(page, "20-send-sms")
        await form.get_by_role("button", name="Send", exact=True).click()
        await expect(page.get_by_role("heading", name="Message sent")).to_be_visible()
        await expect(page.locator("#send-recipients")).to_contain_text("Delivered", timeout=15_000)
        await expect(page.locator("#send-summary")).to_contain_text(re.compile(r"1 of 1 credits? spent"))
        await shot(page, "21-sms-delivered")
    assert (await own_account(ben_api))["balance"] == before["balance"] - 1

"""From the payment provider's webhook to the credits being visible: in the balance (the ledger has
applied billing.purchase.paid) and in the 30-day log (reporting has applied ledger.transaction.posted),
one purchase at a time, while the system takes a steady open-loop background of transfers: random ones
straight to the ledger, then hot-account ones (from System Credits) through the gateway. Every service
runs and consumes its events.

The webhook is signed and sent as the test provider sends it; balances are read from the ledger and the
log from reporting directly (what the gateway would ask them), polling every few milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import aiohttp

from bench import load, seed, stats, system
from bench.clients import InternalTokens, identity_of, json_body, write_headers
from bench.load import Request
from bench.machine import Probe
from bench.modes import Mode
from bench.options import Options
from bench.results import Result, Row
from bench.seed import SeededTenant
from bench.workloads import GatewayTransfers, LedgerTransfers
from common.identity import Identity
from fakes.payments.webhooks import SIGNATURE_HEADER
from gateway.directory.domain import Person
from services.billing.payments.signatures import sign

NAME = "purchase_latency"
BUYERS = 20  # accounts kept out of the background load, so a change in their balance is the purchase
QUANTITY = 100  # the default price list's minimum
LIGHT_BACKGROUND = 100  # transfers per second
LOG_GOAL_MS = 250
SYSTEM_CREDITS = 10**12  # for the hot-account background
_POLL_SECONDS = 0.005
_GIVE_UP_SECONDS = 20.0


@dataclass
class Purchase:
    webhook: float  # seconds until billing answered the webhook
    balance: float | None  # seconds from sending the webhook until the balance showed the credits
    log: float | None  # ... until the 30-day log showed the purchase


@dataclass(frozen=True)
class Background:
    """The open-loop load behind the purchases."""

    rate: int  # transfers per second offered
    label: str  # how the latency rows name it: "500/s behind"
    case: str  # its own row
    request: Request
    target: str  # what it goes to, for the row's note


async def run(mode: Mode, options: Options, result: Result) -> None:
    """Fills `result` as it goes: what was measured before a failure is kept."""
    async with system.running(NAME, system.EVERYTHING) as running:
        try:
            directory = await seed.seed(running, mode.users, system_credits=SYSTEM_CREDITS)
            seeded = directory.tenants[0]
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
                buyer = _Buyer(client, running, seeded)
                for background in await _backgrounds(running, directory, mode):
                    await _phase(result, running, buyer, seeded, background, mode)
        finally:
            result.services = running.usage()
    result.notes.append(f"purchases of {QUANTITY} credits one at a time, polled every {_POLL_SECONDS * 1000:.0f} ms, "
                        f"at most {mode.purchases} or {mode.purchase_budget_seconds:.0f} s per background; "
                        f"every service running; goal: webhook -> 30-day log p99 < {LOG_GOAL_MS} ms at "
                        f"{mode.background_rate}/s")


async def _backgrounds(running: system.System, directory: seed.Directory, mode: Mode) -> list[Background]:
    """A light background straight to the ledger first (the pipeline's own latency), then the issue's
    rate the same way, then that rate of hot-account transfers through the gateway (a master's day:
    every transfer from System Credits, the whole system's path). None touches the buyers' accounts."""
    buyers = frozenset(p.id for p in directory.tenants[0].users[:BUYERS])
    spread = LedgerTransfers(running.url("ledger"), running.secret, seed.Directory(directory.tenants[:1]),
                             excluded=buyers)
    hot = await GatewayTransfers.signed_in(running.url("gateway"), directory, hot=True)
    rate = mode.background_rate
    return [Background(r, f"{r}/s behind", f"background transfers, {r}/s asked", spread, "the ledger")
            for r in sorted({LIGHT_BACKGROUND, rate})] + [
        Background(rate, f"{rate}/s hot account via the gateway behind",
                   f"background transfers, {rate}/s asked, hot account via the gateway", hot, "the gateway")]


async def _phase(result: Result, running: system.System, buyer: _Buyer, seeded: SeededTenant,
                 background: Background, mode: Mode) -> None:
    buyers = seeded.users[:BUYERS]
    stop = asyncio.Event()
    loaded = asyncio.create_task(
        load.open_loop(background.request, background.rate, 3600, Probe(running.pids()), until=stop))
    await asyncio.sleep(mode.warmup_seconds)
    purchases = []
    deadline = time.monotonic() + mode.purchase_budget_seconds
    for n in range(mode.purchases):
        if time.monotonic() > deadline:
            break
        purchases.append(await buyer.purchase(buyers[n % BUYERS]))
        await asyncio.sleep(0.1)
    stop.set()
    _report(result, purchases, await loaded, background)


class _Buyer:
    """The tenant's master buying credits for a user, and the test provider confirming the payment."""

    def __init__(self, client: aiohttp.ClientSession, running: system.System, seeded: SeededTenant) -> None:
        self._client, self._running, self._seeded = client, running, seeded
        self._tokens = InternalTokens(running.secret)
        self._identity: Identity = identity_of(seeded.master, seeded.tenant)
        self._webhook_secret = running.env["TEST_PROVIDER_WEBHOOK_SECRET"]

    def _auth(self, audience: str) -> str:
        return self._tokens.header(self._identity, audience)

    async def purchase(self, person: Person) -> Purchase:
        account, code = self._seeded.account(person)
        body = {"account_id": str(account), "account_code": code, "quantity": QUANTITY,
                "billing": {"name": "Bench Buyer", "email": "buyer@bench.test"}}
        async with self._client.post(self._running.url("billing") + "/purchases", data=json_body(body),
                                     headers=write_headers(self._auth("billing"))) as response:
            created = await response.json()
            if response.status != 201:
                raise RuntimeError(f"purchase answered {response.status}: {created}")
        before = await self._balance(code)
        started = time.perf_counter()
        await self._webhook(created["id"], created["checkout_url"].rsplit("/", 1)[1])
        answered = time.perf_counter() - started
        balance, logged = await asyncio.gather(
            self._until(started, lambda: self._balance_reached(code, before + QUANTITY)),
            self._until(started, lambda: self._logged(account, f"purchase:{created['id']}")),
        )
        return Purchase(answered, balance, logged)

    async def _webhook(self, purchase_id: str, session_id: str) -> None:
        event = {"id": f"evt_bench_{uuid.uuid4().hex}", "type": "payment.succeeded", "created": int(time.time()),
                 "data": {"session_id": session_id, "purchase_id": purchase_id, "card_brand": "visa",
                          "card_last4": "4242"}}
        payload = json.dumps(event).encode()
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(self._webhook_secret, payload, int(time.time()))}
        async with self._client.post(self._running.url("billing") + "/webhooks/test", data=payload,
                                     headers=headers) as response:
            answer = await response.json()
            if response.status != 200 or answer.get("outcome") != "paid":
                raise RuntimeError(f"webhook answered {response.status}: {answer}")

    async def _balance(self, code: str) -> int:
        async with self._client.get(self._running.url("ledger") + "/accounts", params={"code": code},
                                    headers={"Authorization": self._auth("ledger")}) as response:
            return int((await response.json())[0]["balance"])

    async def _balance_reached(self, code: str, wanted: int) -> bool:
        return await self._balance(code) >= wanted

    async def _logged(self, account: uuid.UUID, reference: str) -> bool:
        query = {"account": str(account), "kind": "purchase", "limit": "1"}
        async with self._client.get(self._running.url("reporting") + "/logs", params=query,
                                    headers={"Authorization": self._auth("reporting")}) as response:
            entries = (await response.json())["entries"]
            return bool(entries) and entries[0]["reference"] == reference

    @staticmethod
    async def _until(started: float, seen: Callable[[], Awaitable[bool]]) -> float | None:
        """Seconds from `started` until `seen()` answers true; None past the give-up time."""
        while time.perf_counter() - started < _GIVE_UP_SECONDS:
            if await seen():
                return time.perf_counter() - started
            await asyncio.sleep(_POLL_SECONDS)
        return None


def _report(result: Result, purchases: list[Purchase], loaded: load.Leg, background: Background) -> None:
    usage = loaded.usage
    load1 = usage.load1 if usage else None
    achieved = loaded.throughput
    behind = background.label
    for case, values in (
        (f"webhook answered, {behind}", [p.webhook for p in purchases]),
        (f"webhook -> balance, {behind}", [p.balance for p in purchases]),
        (f"webhook -> 30-day log, {behind}", [p.log for p in purchases]),
    ):
        seen = [v for v in values if v is not None]
        latency = stats.latency_ms(seen)
        result.add(Row(case=case, p50_ms=latency["p50_ms"], p95_ms=latency["p95_ms"], p99_ms=latency["p99_ms"],
                       max_ms=latency["max_ms"], requests=len(values), errors=len(values) - len(seen), load1=load1,
                       note=f"background achieved {achieved:,.0f} of {background.rate} transfers/s"))
    result.add(Row(
        case=background.case, throughput=round(achieved, 1), unit="transfers/s", **loaded.latency_ms(),
        requests=loaded.requests,
        errors=sum(loaded.errors.values()), load1=load1,
        note=f"open loop to {background.target}; {loaded.not_sent:,} not sent (still waiting for a connection)",
        details={"usage": asdict(usage) if usage else None, "errors": dict(loaded.errors)},
    ))

"""The load: purchases, transfers, holds and SMS through the gateway, as real clients would send them.

A fixed number of asyncio workers (not a task per request) each run one operation at a time. Every
write carries an Idempotency-Key; after a connection error, a timeout or a 5xx the client sends the
same request again with the same key, until it gets a definite answer (a 2xx or a 4xx) or gives up at
the resolve deadline. Each operation's final outcome is recorded for the checks: accepted (it must
have taken effect exactly once) or rejected (it must have taken no effect).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from gateway.seed import DEMO_PASSWORD
from tests.support import NEVER_RECEIPTED, REJECTED_AT_SUBMIT, UNDELIVERABLE, mobile_number

GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
CARDS = (GOOD_CARD, DECLINED_CARD)
TIMEOUT = aiohttp.ClientTimeout(total=20)
State = Literal["accepted", "rejected", "unresolved"]
# Every SMS goes to one recipient of each of the SMSC simulator's fates (fakes/smsc/simulator.py), named
# by the delivery it should end with, and the ending of the number that brings it about.
RECIPIENT_KINDS = {"delivered": "", "rejected": REJECTED_AT_SUBMIT, "expired": NEVER_RECEIPTED,
                   "undeliverable": UNDELIVERABLE}
SMS_SENDERS = ("ben", "cleo", "dan")  # Acme is in individual mode: each pays from their own User Credits


class Unresolved(Exception):
    """No definite answer before the resolve deadline."""


@dataclass
class Operation:
    kind: Literal["purchase", "transfer", "hold", "sms"]
    key: str
    tenant_id: str
    account_id: str  # credited (purchase), debited (transfer), held (hold), paying (sms)
    quantity: int  # credits; for an SMS, those reserved for it
    state: State = "unresolved"
    status: int | None = None  # the deciding answer's status
    requests: int = 0  # HTTP requests sent for it, retries included
    retries: int = 0
    target_id: str | None = None  # transfer: the account credited
    ledger_id: str | None = None  # transfer id, purchase id or hold id
    captured: int = 0  # holds: credits finally spent; SMS: captured, as messaging recorded it (checks.py)
    settled_as: str | None = None  # holds: captured, voided or expired
    detail: str | None = None
    message_id: str | None = None  # SMS: the message the gateway accepted
    recipients: dict[str, str] = field(default_factory=dict)  # SMS: number -> its kind (RECIPIENT_KINDS)
    refunded: int = 0  # SMS: credits owed back for recipients it never reached, from messaging (checks.py)


@dataclass(frozen=True)
class Attempt:
    """One HTTP request the client sent (monotonic seconds), and whether it failed: a 5xx or no answer at
    all. A 429 or an idempotent request still in progress is a careful server's "later", not a failure."""

    started: float
    ended: float
    failed: bool


@dataclass
class Stats:
    server_errors: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    attempts: list[Attempt] = field(default_factory=list)  # every request, retries included (availability)


@dataclass(frozen=True)
class Actor:
    handle: str  # "ben", "acme-master", ...
    name: str
    token: str
    tenant_id: str


@dataclass
class World:
    """Who acts, and the accounts they act on (ids as the gateway names them)."""

    people: dict[str, Actor]
    service_token: str
    accounts: dict[str, str]  # name -> account id ("acme:system", "acme:ben", "globex:system", ...)
    tenants: dict[str, str]  # "acme"/"globex" -> tenant id

    def tenant_of(self, account_id: str) -> str:
        return next(name.split(":")[0] for name, known in self.accounts.items() if known == account_id)


class Client:
    """HTTP with a real client's retry discipline."""

    def __init__(self, session: aiohttp.ClientSession, base: str, stats: Stats) -> None:
        self.session, self.base, self.stats = session, base, stats
        self.resolve_by = float("inf")  # monotonic time after which a request gives up

    async def send(self, op: Operation | None, method: str, path: str, token: str | None = None,
                   body: Any = None, key: str | None = None) -> tuple[int, Any]:
        """Send until a definite answer; the same body and the same Idempotency-Key every time."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key:
            headers["Idempotency-Key"] = key
        url = path if path.startswith("http") else self.base + path
        attempt = 0
        while True:
            attempt += 1
            if op is not None:
                op.requests += 1
                op.retries += attempt > 1
            started = time.monotonic()
            try:
                async with self.session.request(method, url, json=body, headers=headers, timeout=TIMEOUT) as r:
                    answer = await r.json(content_type=None)
                    self.stats.attempts.append(Attempt(started, time.monotonic(), r.status >= 500))
                    # The same key still in flight elsewhere (its gateway may have died with it): not an
                    # answer yet, so come back as Retry-After says, like any careful client.
                    in_progress = r.status == 409 and str(answer.get("type", "")).endswith(
                        "/idempotency-request-in-progress")
                    if r.status < 500 and r.status != 429 and not in_progress:
                        return r.status, answer
                    self.stats.server_errors[r.status] += 1
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                self.stats.attempts.append(Attempt(started, time.monotonic(), True))
                self.stats.transport_errors[type(exc).__name__] += 1
            if time.monotonic() > self.resolve_by:
                raise Unresolved(f"{method} {path}: no definite answer in time")
            await asyncio.sleep(min(2.0, 0.1 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.0))


def _settled_as(purchase: dict[str, Any]) -> str | None:
    """How a purchase stands after its payment: its status, or "declined" for a pending purchase whose
    card was declined (it stays pending, the decline recorded, for another card on the same checkout)."""
    status = purchase.get("status")
    if status == "pending" and purchase.get("failure_reason"):
        return "declined"
    return str(status) if status else None


class Driver:
    def __init__(self, client: Client, world: World, rng: random.Random) -> None:
        self.client, self.world, self.rng = client, world, rng
        self.operations: list[Operation] = []
        # Accounts that have received credits: holds are placed only there (an account never opened
        # is unknown to the ledger, a rejection that teaches nothing).
        self.funded: set[str] = set()

    async def run(self, workers: int, stop_at: float) -> None:
        await asyncio.gather(*(self._worker(stop_at) for _ in range(workers)))

    async def _worker(self, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            # About one in fifty is an SMS: a few dozen messages a campaign, each to four recipients.
            kind = self.rng.choices(("purchase", "transfer", "hold", "sms"), weights=(2, 6, 3, 0.2))[0]
            op = await {"purchase": self.purchase, "transfer": self.transfer, "hold": self.hold,
                        "sms": self.sms}[kind]()
            self.operations.append(op)

    def _new(self, kind: Literal["purchase", "transfer"], tenant: str, account: str, quantity: int) -> Operation:
        return Operation(kind, str(uuid.uuid4()), self.world.tenants[tenant], self.world.accounts[account], quantity)

    async def _resolving(self, op: Operation, work: Any) -> Operation:
        try:
            await work
        except Unresolved as exc:
            op.state, op.detail = "unresolved", str(exc)
        return op

    # -- purchases ----------------------------------------------------------------------------------

    async def purchase(self) -> Operation:
        buyer, account = self.rng.choice([
            ("acme-master", "acme:system"), ("acme-master", "acme:ben"), ("acme-master", "acme:dan"),
            ("ben", "acme:ben"), ("cleo", "acme:cleo"), ("globex-master", "globex:system"),
        ])
        tenant = account.split(":")[0]
        op = self._new("purchase", tenant, account, self.rng.randrange(100, 1001))
        card = DECLINED_CARD if self.rng.random() < 0.1 else GOOD_CARD
        return await self._resolving(op, self._purchase(op, self.world.people[buyer], card))

    async def _purchase(self, op: Operation, buyer: Actor, card: str) -> None:
        body = {"account_id": op.account_id, "quantity": op.quantity,
                "billing": {"name": buyer.name, "email": f"{buyer.handle}@chaos.test"}}
        status, created = await self.client.send(op, "POST", "/api/v1/purchases", buyer.token, body, op.key)
        if status != 201:
            op.state, op.status, op.detail = "rejected", status, created.get("detail")
            return
        op.ledger_id = created["id"]
        form = {"card_number": card, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": buyer.name}
        status, paid = await self.client.send(op, "POST", created["checkout_url"], body=form)
        purchase_status = _settled_as(paid) if status == 200 else None
        # 409: an earlier attempt was charged (its answer was lost); ask the purchase how it ended.
        while purchase_status not in ("paid", "credited", "failed", "declined"):
            if status not in (200, 409):
                op.state, op.status, op.detail = "rejected", status, paid.get("detail")
                return
            await asyncio.sleep(0.2)
            status, paid = await self.client.send(op, "GET", f"/api/v1/purchases/{op.ledger_id}", buyer.token)
            purchase_status = _settled_as(paid) if status == 200 else None
            if time.monotonic() > self.client.resolve_by:
                raise Unresolved(f"purchase {op.ledger_id} still {purchase_status}")
        op.status = status
        # Declined: the purchase stays pending for another card that this buyer never tries, so it is never
        # credited (the checks hold a rejected purchase to no credits at all).
        op.state = "rejected" if purchase_status in ("failed", "declined") else "accepted"
        if op.state == "accepted":
            self.funded.add(op.account_id)

    # -- transfers ----------------------------------------------------------------------------------

    _TRANSFERS = (
        ("acme-master", "acme:system", "acme:ben"), ("acme-master", "acme:system", "acme:cleo"),
        ("acme-master", "acme:system", "acme:dan"), ("acme-master", "acme:ben", "acme:system"),
        ("acme-master", "acme:dan", "acme:ava"), ("dan", "acme:ben", "acme:dan"), ("dan", "acme:cleo", "acme:ben"),
        ("ben", "acme:ben", "acme:cleo"), ("cleo", "acme:cleo", "acme:ben"), ("dan", "acme:dan", "acme:cleo"),
    )

    async def transfer(self) -> Operation:
        actor, source, target = self.rng.choice(self._TRANSFERS)
        quantity = self.rng.randrange(1, 301)
        accept_terms = True
        roll = self.rng.random()
        if roll < 0.03:
            quantity = 0  # out of range: 422
        elif roll < 0.06:
            accept_terms = False  # terms not accepted: 422
        op = self._new("transfer", "acme", source, quantity)
        op.target_id = self.world.accounts[target]
        body = {"from_account": op.account_id, "to_account": op.target_id, "quantity": quantity,
                "accept_terms": accept_terms, "note": f"chaos {op.key[:8]}"}
        return await self._resolving(op, self._transfer(op, self.world.people[actor], body))

    async def _transfer(self, op: Operation, actor: Actor, body: dict[str, Any]) -> None:
        status, answer = await self.client.send(op, "POST", "/api/v1/transfers", actor.token, body, op.key)
        op.status = status
        if status == 201:
            op.state, op.ledger_id = "accepted", answer["id"]
            self.funded.add(op.target_id or "")
        else:
            op.state, op.detail = "rejected", answer.get("type")

    # -- holds --------------------------------------------------------------------------------------

    async def hold(self) -> Operation:
        funded = sorted(self.funded) or [self.world.accounts["acme:system"]]
        account = self.rng.choice(funded)
        tenant = self.world.tenants[self.world.tenant_of(account)]
        op = Operation("hold", str(uuid.uuid4()), tenant, account, self.rng.randrange(1, 51))
        return await self._resolving(op, self._hold(op))

    async def _hold(self, op: Operation) -> None:
        roll = self.rng.random()
        expires_in = 2 if roll < 0.1 else 120  # a few are left to expire: the sweeper releases them
        body = {"account_id": op.account_id, "quantity": op.quantity, "reference": f"chaos:{op.key[:8]}",
                "expires_in": expires_in}
        token = self.world.service_token
        status, hold = await self.client.send(op, "POST", "/api/v1/holds", token, body, op.key)
        op.status = status
        if status != 201:
            op.state, op.detail = "rejected", hold.get("type")
            return
        op.state, op.ledger_id = "accepted", hold["id"]
        if roll < 0.1:
            op.settled_as = "expired"
            return
        await asyncio.sleep(self.rng.uniform(0, 0.3))
        if roll < 0.4:
            status, hold = await self.client.send(op, "POST", f"/api/v1/holds/{op.ledger_id}/void", token)
        else:
            spend = {"quantity": self.rng.randrange(1, op.quantity + 1)}
            status, hold = await self.client.send(op, "POST", f"/api/v1/holds/{op.ledger_id}/capture", token, spend)
        if status == 200:
            op.settled_as, op.captured = hold["status"], hold["captured"]
        else:
            # Expired before it could be settled (a long outage): nothing was spent.
            op.settled_as, op.detail = "expired", hold.get("type")

    # -- SMS ----------------------------------------------------------------------------------------

    async def sms(self) -> Operation:
        sender = self.rng.choice(SMS_SENDERS)
        op = Operation("sms", str(uuid.uuid4()), self.world.tenants["acme"], self.world.accounts[f"acme:{sender}"],
                       len(RECIPIENT_KINDS))  # one segment to each recipient, at one credit (Australia)
        kinds = list(RECIPIENT_KINDS.items())
        self.rng.shuffle(kinds)
        op.recipients = {mobile_number(ending): kind for kind, ending in kinds}
        return await self._resolving(op, self._sms(op, self.world.people[sender]))

    async def _sms(self, op: Operation, sender: Actor) -> None:
        body = {"to": list(op.recipients), "body": f"Chaos {op.key[:8]}: open house Saturday 10am."}
        status, answer = await self.client.send(op, "POST", "/api/v1/messages", sender.token, body, op.key)
        op.status = status
        if status == 202:
            op.state, op.message_id, op.quantity = "accepted", answer["id"], answer["credits"]
        else:
            # 422: not enough credits; 409: an attempt cancelled (messaging was unreachable, the hold released).
            op.state, op.detail = "rejected", answer.get("type")


async def sign_in_everyone(client: Client, service_client: tuple[str, str]) -> World:
    """Tokens for the demo people and the service client, and the accounts they will act on."""
    people: dict[str, Actor] = {}
    for name, email in (("acme-master", "master@acme.test"), ("ben", "ben@acme.test"), ("cleo", "cleo@acme.test"),
                        ("dan", "dan@acme.test"), ("globex-master", "master@globex.test")):
        status, token = await client.send(None, "POST", "/api/v1/auth/token",
                                          body={"email": email, "password": DEMO_PASSWORD})
        assert status == 200, token
        status, me = await client.send(None, "GET", "/api/v1/me", token["access_token"])
        people[name] = Actor(name, me["name"], token["access_token"], me["tenant"]["id"])
    client_id, secret = service_client
    status, token = await client.send(None, "POST", "/api/v1/auth/service-token",
                                      body={"client_id": client_id, "client_secret": secret})
    assert status == 200, token
    accounts: dict[str, str] = {}
    for person, tenant in (("acme-master", "acme"), ("globex-master", "globex")):
        status, listed = await client.send(None, "GET", "/api/v1/accounts", people[person].token)
        assert status == 200, listed
        for account in listed:
            owner = account["owner"]["email"].split("@")[0] if account["owner"] else "system"
            accounts[f"{tenant}:{'ava' if owner == 'master' else owner}"] = account["id"]
    tenants = {"acme": people["acme-master"].tenant_id, "globex": people["globex-master"].tenant_id}
    return World(people, token["access_token"], accounts, tenants)

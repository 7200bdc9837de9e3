"""Credits by lot, pure and synchronous: which lots a transaction takes credits from and puts them in.

Every credit in a user-facing account belongs to a lot: the purchase, promotional grant or compensation it
came from, with that lot's expiry and whether it was paid for. An account's *holding* of a lot is how many
of its credits it has (`remaining`) and how many of those open holds reserve (`reserved`). A transaction's
movements are carried out on the holdings in one documented spending order:

    promotional before paid, then the soonest to expire (no expiry last), then the oldest, then by lot id

Credits leaving an account are taken from its spendable lots in that order (a lapsed lot is never
spendable: its credits wait for the expiry sweeper); credits entering an account keep the lots they left
(a transfer carries their expiry with them); credits entering from outside (a purchase, a grant) start a
lot of their own. A hold reserves lot by lot in the same order, and its capture or release settles exactly
what it reserved, even from a lot that has lapsed since (credits reserved before the lapse were promised).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from common.accounts import USER_FACING, kind_of
from common.contracts import problems
from common.problems import RuleBroken
from services.ledger.lots.rules import Lot, LotRules, Pin
from services.ledger.postings.domain import InsufficientCredits, Movement, UnbalancedTransaction

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Holding:
    """What one account holds of one lot."""

    lot: Lot
    remaining: int
    reserved: int = 0

    @property
    def free(self) -> int:
        """Credits of this lot in this account that no hold reserves."""
        return self.remaining - self.reserved


def spending_order(holding: Holding) -> tuple[bool, datetime, datetime, str]:
    """Promotional first, then soonest-expiring (none last), then oldest; the lot id settles ties."""
    lot = holding.lot
    return lot.paid, lot.expires_at or _NEVER, lot.granted_at, str(lot.id)


def in_spending_order(holdings: Sequence[Holding]) -> list[Holding]:
    return sorted(holdings, key=spending_order)


def spendable(holdings: Sequence[Holding], now: datetime) -> int:
    """Credits that a transfer or a new hold may take now: unreserved and not lapsed."""
    return sum(h.free for h in holdings if not h.lot.lapsed(now))


def bears_lots(code: str) -> bool:
    """Only user-facing accounts keep credits by lot; the ledger's own accounts are sources and sinks."""
    return kind_of(code) in USER_FACING


@dataclass(frozen=True)
class LotMove:
    """One line of a transaction's effect on lots: an account's holding of a lot changed."""

    code: str
    lot: Lot
    amount: int  # change in remaining
    reserved: int  # change in reserved


@dataclass(frozen=True)
class LotPlan:
    moves: list[LotMove]
    holdings_after: dict[str, list[Holding]]  # each account touched, every holding it keeps (none at zero)
    new_lots: list[tuple[Lot, int]]  # lots this transaction started, with their quantity


class _Book:
    """The holdings of the accounts a transaction touches, changed move by move."""

    def __init__(self, holdings: Mapping[str, Sequence[Holding]]) -> None:
        self.held: dict[str, dict[uuid.UUID, Holding]] = {
            code: {h.lot.id: h for h in hs} for code, hs in holdings.items()
        }
        self.moves: list[LotMove] = []
        self.touched: set[str] = set()

    def of(self, code: str) -> list[Holding]:
        return list(self.held.setdefault(code, {}).values())

    def change(self, code: str, lot: Lot, amount: int, reserved: int = 0) -> None:
        book = self.held.setdefault(code, {})
        holding = book.get(lot.id, Holding(lot, 0, 0))
        after = replace(holding, remaining=holding.remaining + amount, reserved=holding.reserved + reserved)
        if after.remaining < 0 or after.reserved < 0 or after.reserved > after.remaining:
            raise UnbalancedTransaction(f"{code}: lot {lot.id} at {after.remaining}, {after.reserved} reserved")
        book[lot.id] = after
        self.touched.add(code)
        self.moves.append(LotMove(code, lot, amount, reserved))

    def lot(self, code: str, lot_id: uuid.UUID) -> Lot:
        holding = self.held.get(code, {}).get(lot_id)
        if holding is None:
            raise UnbalancedTransaction(f"{code} holds nothing of lot {lot_id}")
        return holding.lot


def plan_lots(
    holdings: Mapping[str, Sequence[Holding]],
    movements: Sequence[Movement],
    held_deltas: Mapping[str, int],
    rules: LotRules,
    now: datetime,
) -> LotPlan:
    """Carry out a transaction's movements and reservations on the lots of the accounts it touches.
    `holdings` holds every lot-bearing account's holdings, read under the account locks. All or nothing:
    a shortfall raises `InsufficientCredits`, anything inconsistent `UnbalancedTransaction` (a bug)."""
    book = _Book(holdings)
    _release_pins(book, held_deltas, rules)
    _reserve(book, held_deltas, now)
    pool: list[tuple[Lot, int]] = []  # credits taken out, in the order taken, not yet put anywhere
    for movement in movements:
        if movement.amount < 0 and bears_lots(movement.code):
            pool.extend(_take(book, movement.code, -movement.amount, rules, now))
    new_lots: list[tuple[Lot, int]] = []
    for movement in movements:
        if movement.amount > 0 and bears_lots(movement.code):
            for lot, amount in _give(movement.code, movement.amount, pool, rules, now, new_lots):
                book.change(movement.code, lot, amount)
    # Whatever is left in the pool went to the ledger's own accounts (spent, expired, world).
    after = {code: [h for h in book.held[code].values() if h.remaining or h.reserved] for code in book.touched}
    return LotPlan(_net(book.moves), after, new_lots)


def _net(moves: list[LotMove]) -> list[LotMove]:
    """One line per account and lot (a capture releases and spends the same lot), in the order first met."""
    netted: dict[tuple[str, uuid.UUID], LotMove] = {}
    for move in moves:
        key = (move.code, move.lot.id)
        seen = netted.get(key)
        netted[key] = move if seen is None else replace(
            seen, amount=seen.amount + move.amount, reserved=seen.reserved + move.reserved)
    return [m for m in netted.values() if m.amount or m.reserved]


def _release_pins(book: _Book, held_deltas: Mapping[str, int], rules: LotRules) -> None:
    released = {code: -delta for code, delta in held_deltas.items() if delta < 0}
    if not released:
        return
    if len(released) != 1 or sum(p.quantity for p in rules.pins) != next(iter(released.values())):
        raise UnbalancedTransaction("a hold's release must settle exactly what it reserved")
    (code,) = released
    for pin in rules.pins:
        book.change(code, book.lot(code, pin.lot_id), 0, -pin.quantity)


def _reserve(book: _Book, held_deltas: Mapping[str, int], now: datetime) -> None:
    for code, delta in held_deltas.items():
        if delta <= 0:
            continue
        for lot, amount in _allocate(book.of(code), delta, now, lapsed_too=False):
            book.change(code, lot, 0, amount)


def _take(book: _Book, code: str, quantity: int, rules: LotRules, now: datetime) -> list[tuple[Lot, int]]:
    if rules.pins:
        taken = _from_pins(book, code, quantity, rules.pins)
    else:
        candidates = [h for h in book.of(code) if rules.only_lots is None or h.lot.id in rules.only_lots]
        taken = _allocate(candidates, quantity, now, lapsed_too=rules.include_lapsed)
    for lot, amount in taken:
        book.change(code, lot, -amount)
    return taken


def _from_pins(book: _Book, code: str, quantity: int, pins: Sequence[Pin]) -> list[tuple[Lot, int]]:
    """A capture spends what its hold reserved (released above), whatever has lapsed since, and nothing
    else: at most each pin's quantity of its lot, the pins in spending order. A pinned lot may hold more
    free credits (released by another hold after a lapse, or given back): they are not this hold's."""
    held = {h.lot.id: h for h in book.of(code)}
    taken = []
    for pin in sorted(pins, key=lambda p: spending_order(held[p.lot_id])):
        amount = min(pin.quantity, quantity)
        if amount:
            taken.append((held[pin.lot_id].lot, amount))
            quantity -= amount
    if quantity:
        raise UnbalancedTransaction(f"a capture takes {quantity} more credits than its hold reserved")
    return taken


def _allocate(holdings: Sequence[Holding], quantity: int, now: datetime, *, lapsed_too: bool) -> list[tuple[Lot, int]]:
    """`quantity` credits from the unreserved part of `holdings`, in spending order, or a shortfall."""
    usable = [h for h in in_spending_order(holdings) if h.free > 0 and (lapsed_too or not h.lot.lapsed(now))]
    available = sum(h.free for h in usable)
    if available < quantity:
        raise InsufficientCredits(
            f"The account has {available} credits available; {quantity - available} more are needed."
        )
    taken = []
    for holding in usable:
        if quantity == 0:
            break
        amount = min(holding.free, quantity)
        taken.append((holding.lot, amount))
        quantity -= amount
    return taken


def _give(
    code: str, quantity: int, pool: list[tuple[Lot, int]], rules: LotRules, now: datetime,
    new_lots: list[tuple[Lot, int]],
) -> list[tuple[Lot, int]]:
    """Where `quantity` credits entering `code` come from: the lots they left (first taken, first given),
    else the lots a restore refills, else a new lot."""
    given: list[tuple[Lot, int]] = []
    while quantity and pool:
        lot, amount = pool[0]
        part = min(amount, quantity)
        given.append((lot, part))
        quantity -= part
        pool[0] = (lot, amount - part)
        if pool[0][1] == 0:
            pool.pop(0)
    if quantity and rules.refill:
        refilled = sum(amount for _, amount in rules.refill)
        if refilled > quantity:
            raise UnbalancedTransaction("a restore refills more credits than it brings back")
        given.extend(rules.refill)
        quantity -= refilled
    if quantity:
        if rules.new_lot is None:  # (what a restore does not refill needs a lot of its own)
            raise UnbalancedTransaction(f"{quantity} credits enter {code} from outside without a lot")
        spec = rules.new_lot
        lot = Lot(spec.id, spec.origin, spec.paid, now, spec.expires_at, spec.reference)
        new_lots.append((lot, quantity))
        given.append((lot, quantity))
    return given


def expiring_by(holdings: Sequence[Holding], until: datetime) -> int:
    """Credits that will lapse between now and `until` (already lapsed ones included: they go next)."""
    return sum(h.remaining for h in holdings if h.lot.expires_at is not None and h.lot.expires_at <= until)


class GrantInvalid(RuleBroken):
    problem = problems.GRANT_INVALID


def check_grant_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at.tzinfo is None:
        raise GrantInvalid("Give expires_at with its time zone, e.g. 2027-06-30T23:59:59+10:00.",
                           errors=[{"field": "expires_at", "message": "needs a time zone"}])
    if expires_at is not None and expires_at <= now:
        raise GrantInvalid("A grant must expire in the future (or never: leave expires_at out).",
                           errors=[{"field": "expires_at", "message": "must be in the future"}])


_ORIGIN_WORDS = {"purchase": "a purchase", "grant": "promotional credits", "compensation": "credits given back",
                 "opening": "credits held before lots"}


def expiry_note(holding: Holding) -> str:
    """The log's words for a lot's expiry."""
    lapsed_at = f" on {holding.lot.expires_at:%Y-%m-%d}" if holding.lot.expires_at else ""
    return f"Expired{lapsed_at}: unspent {_ORIGIN_WORDS.get(holding.lot.origin, 'credits')}"


def refill_for(
    taken: Sequence[tuple[Lot, int]], refilled: Mapping[uuid.UUID, int], quantity: int
) -> list[tuple[Lot, int]]:
    """Which lots `quantity` credits given back after a capture go into: the lots the capture took them
    from, less what earlier give-backs of the same capture refilled, the last in spending order first (a
    capture spends promotional and soon-expiring credits first; what comes back is what it spent last).
    Answers at most `quantity`: credits the capture took from no lot (before lots existed) are not here."""
    refill = []
    for lot, amount in sorted(taken, key=lambda t: spending_order(Holding(t[0], t[1])), reverse=True):
        left = min(amount - refilled.get(lot.id, 0), quantity)
        if left > 0:
            refill.append((lot, left))
            quantity -= left
    return refill

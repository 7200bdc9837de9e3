"""Every consumer's queue, with the events it receives, grouped by the service that consumes them.

A queue's name is also its consumer's key in that service's inbox, so it never changes once deployed.
The whole topology exists before any service publishes (declarations are idempotent): a producer that
starts before a consumer would otherwise publish into an exchange with no queue bound yet, and RabbitMQ
would drop the event: a lost credit.

Who declares it: a service whose broker user may configure everything (`guest` in tests, a bare local
run) declares the whole topology at start, as it always did. In a deployment each service has a user of
its own that may configure only its own queues (the spec's `service`, its first name part; permissions
built by scripts/provision.py): the topology is declared beforehand with the admin's credentials
(`python -m scripts.provision topology`, docker-compose's `topology` step, the Kubernetes topology
operator's objects), and each service declares its own queues and stops at start, naming it, if another
service's queue is missing. Taking the admin's step away would never lose an event silently: the services
would refuse to start. common.topology does the declaring; docs/security.md has the permissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common.contracts import events, headers
from common.contracts.catalogue import CATALOGUE


@dataclass(frozen=True)
class QueueSpec:
    name: str
    types: tuple[str, ...]  # the event types it receives
    # One consumer at a time, however many processes consume (the others wait as hot standbys): for a
    # consumer that keeps the queue's order. Fixed when the queue is first declared.
    single_active: bool = False
    # Narrower than the routing keys: an event of its types reaches the queue only when its AMQP headers
    # match one of these (every header named, with that value). None: every event of its types.
    header_filters: tuple[Mapping[str, str], ...] = ()

    @property
    def routing_keys(self) -> tuple[str, ...]:
        return tuple(events.routing_key(t) for t in self.types)

    @property
    def service(self) -> str:
        return self.name.split(".", 1)[0]


# The ledger: credits paid purchases, follows the directory, debits refunds, settles spending.
LEDGER_PURCHASES = QueueSpec("ledger.purchases", (events.PURCHASE_PAID,))
LEDGER_DIRECTORY = QueueSpec(
    "ledger.directory", (events.TENANT_CHANGED, events.USER_CHANGED, events.CREDIT_MODE_CHANGED)
)
LEDGER_REFUNDS = QueueSpec("ledger.refunds", (events.REFUND_REQUESTED, events.REFUND_FAILED))
LEDGER_SPENDING = QueueSpec("ledger.spending", (events.MESSAGE_SETTLED, events.MESSAGE_UNDELIVERED))
LEDGER_TOP_UP_WATCHES = QueueSpec("ledger.top-up-watches", (events.TOP_UP_WATCH_CHANGED,))

# Billing: marks purchases credited, tops up the accounts it watches, follows refunds through the ledger,
# keeps billing profiles current. Of the ledger's transactions it takes purchases and those touching an
# account with auto top-up on: a transfer between other accounts never reaches it.
BILLING_LEDGER_EVENTS = QueueSpec(
    "billing.ledger-events", (events.TRANSACTION_POSTED,),
    header_filters=({headers.KIND: "purchase"}, {headers.TOP_UP_WATCHED: headers.YES}),
)
BILLING_REFUND_OUTCOMES = QueueSpec(
    "billing.refund-outcomes", (events.REFUND_DEBITED, events.REFUND_REJECTED, events.REFUND_RESTORED)
)
BILLING_DIRECTORY = QueueSpec("billing.directory", (events.TENANT_CHANGED, events.USER_CHANGED))

# Reporting: the 30-day log and the names in it.
REPORTING_LEDGER_EVENTS = QueueSpec("reporting.ledger-events", (events.TRANSACTION_POSTED,))
REPORTING_DIRECTORY = QueueSpec("reporting.directory", (events.TENANT_CHANGED, events.USER_CHANGED))

# Messaging: hands queued messages to the carrier.
MESSAGING_OUTGOING = QueueSpec("messaging.outgoing", (events.MESSAGE_QUEUED,))

# The gateway: emails the account holder and the master when an account crosses an alert level.
GATEWAY_ALERTS = QueueSpec("gateway.alerts", (events.BALANCE_LOW, events.BALANCE_RECOVERED))

# Webhooks: every public event, for the outside systems a tenant subscribed. Deliveries keep the order
# events arrive in, so with several webhooks processes only one consumes at a time.
WEBHOOKS_EVENTS = QueueSpec(
    "webhooks.events", tuple(sorted(spec.type for spec in CATALOGUE.values() if spec.audience == "public")),
    single_active=True,
)

# The services that also hold exclusive queues of a process's own (Broker.subscribe_transient: the gateway's
# live stream and its caches' invalidation), which their broker users may therefore create.
TRANSIENT_SUBSCRIBERS = ("gateway",)

TOPOLOGY: tuple[QueueSpec, ...] = (
    LEDGER_PURCHASES,
    LEDGER_DIRECTORY,
    BILLING_LEDGER_EVENTS,
    REPORTING_LEDGER_EVENTS,
    REPORTING_DIRECTORY,
    LEDGER_REFUNDS,
    BILLING_REFUND_OUTCOMES,
    BILLING_DIRECTORY,
    MESSAGING_OUTGOING,
    LEDGER_SPENDING,
    LEDGER_TOP_UP_WATCHES,
    GATEWAY_ALERTS,
    WEBHOOKS_EVENTS,
)

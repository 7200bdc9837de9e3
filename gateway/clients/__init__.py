"""The gateway's calls to the services: one typed client per service over a shared transport
(`base.ServiceClient`). Handlers and use cases call a client's named methods, never a path."""

from gateway.clients.base import ServiceClient, ServiceNotReached, TypedClient, UpstreamProblem
from gateway.clients.billing import BillingClient
from gateway.clients.ledger import LedgerClient
from gateway.clients.messaging import MessagingClient
from gateway.clients.reporting import ReportingClient
from gateway.clients.webhooks import WebhooksClient

__all__ = [
    "BillingClient",
    "LedgerClient",
    "MessagingClient",
    "ReportingClient",
    "ServiceClient",
    "ServiceNotReached",
    "TypedClient",
    "UpstreamProblem",
    "WebhooksClient",
]

"""Where everything of `make cluster` listens and lives: one table of ports and folders, no I/O.

The balancer takes each service's usual port (the gateway's 8080, the ledger's 8081, ...), so what a
single-process run calls a service's address is the cluster's address of all its replicas; replica r of a
service listens on 18000 + 100 * (r - 1) + (its usual port - 8000). RabbitMQ's nodes and the Postgres pair
take ports of their own beside the machine's usual servers (5432, 5672), which they never touch. An
`offset` moves every port at once, so a test can run a cluster beside a running one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The services, in the order they start (the gateway last: it is ready only once the others are), with the
# Python module each runs and its usual port, which the balancer takes.
SERVICES: dict[str, tuple[str, int]] = {
    "ledger": ("services.ledger", 8081),
    "billing": ("services.billing", 8082),
    "reporting": ("services.reporting", 8083),
    "messaging": ("services.messaging", 8084),
    "webhooks": ("services.webhooks", 8086),
    "gateway": ("gateway", 8080),
}
REPLICAS = 2
RABBIT_NODES = 3


@dataclass(frozen=True)
class Replica:
    service: str
    number: int  # 1-based
    port: int

    @property
    def name(self) -> str:
        return f"{self.service}-{self.number}"

    @property
    def module(self) -> str:
        return SERVICES[self.service][0]


@dataclass(frozen=True)
class RabbitNode:
    number: int
    port: int  # AMQP
    dist_port: int  # Erlang distribution, for the other nodes and rabbitmqctl
    root: Path
    prefix: str = "sms-credits-cluster"  # Erlang refuses two nodes of one name on a machine

    @property
    def node(self) -> str:
        return f"{self.prefix}-{self.number}@localhost"

    @property
    def prometheus_port(self) -> int:
        """The node's Prometheus exporter: 15692 for the first node of `make cluster`."""
        return self.port + 10011

    @property
    def name(self) -> str:
        return f"rabbit-{self.number}"


@dataclass(frozen=True)
class Layout:
    root: Path  # .local/cluster
    offset: int = 0
    node_prefix: str = "sms-credits-cluster"  # another cluster on the machine (a campaign's) names its own

    def port(self, usual: int) -> int:
        return usual + self.offset

    def balanced_port(self, service: str) -> int:
        return self.port(SERVICES[service][1])

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.balanced_port(service)}"

    @property
    def replicas(self) -> list[Replica]:
        return [Replica(service, number, self.port(18000 + 100 * (number - 1) + usual - 8000))
                for service, (_, usual) in SERVICES.items() for number in range(1, REPLICAS + 1)]

    def replicas_of(self, service: str) -> list[Replica]:
        return [replica for replica in self.replicas if replica.service == service]

    @property
    def rabbit_nodes(self) -> list[RabbitNode]:
        return [RabbitNode(n, self.port(5680 + n), self.port(25680 + n), self.root / f"rabbit-{n}", self.node_prefix)
                for n in range(1, RABBIT_NODES + 1)]

    @property
    def amqp_port(self) -> int:
        """The balancer's AMQP port, in front of every node."""
        return self.port(5680)

    @property
    def postgres_primary_port(self) -> int:
        return self.port(5440)

    @property
    def postgres_replica_port(self) -> int:
        return self.port(5441)

    @property
    def stats_port(self) -> int:
        """HAProxy's page of every backend and server, up or down."""
        return self.port(8404)

    @property
    def smpp_port(self) -> int:
        return self.port(2775)

    @property
    def smsc_http_port(self) -> int:
        return self.port(8085)

    @property
    def mail_port(self) -> int:
        return self.port(1025)

    @property
    def ports(self) -> list[int]:
        """Every port the cluster listens on."""
        nodes = self.rabbit_nodes
        return [*(self.balanced_port(s) for s in SERVICES), *(r.port for r in self.replicas),
                *(n.port for n in nodes), *(n.dist_port for n in nodes), *(n.prometheus_port for n in nodes),
                self.amqp_port, self.postgres_primary_port, self.postgres_replica_port, self.stats_port,
                self.smpp_port, self.smsc_http_port, self.mail_port]

    @property
    def logs(self) -> Path:
        return self.root / "logs"

"""The cluster under attack: `make cluster`'s system (scripts/cluster) in a folder of its own, on ports
`offset` above the usual ones, told the campaign's test settings (tests/chaos/system.py's, where they
matter), and seen by the shared checks as they see ChaosSystem (checks.SystemUnderTest): the databases
are the Postgres primary's, every service is reached through HAProxy, queues are listed on a live node.

Its RabbitMQ nodes are named apart from `make cluster`'s (`sms-credits-chaos-N@localhost`): Erlang
refuses a second node of one name on a machine, and a cluster may be running beside the campaign.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from scripts.cluster.layout import Layout
from scripts.cluster.rabbit import RabbitCluster
from scripts.cluster.system import Cluster
from scripts.local_servers import port_answers
from scripts.provision import NAMES, load_passwords
from tests.chaos.system import EXCHANGE

# Named apart from `make cluster`'s nodes, which may be running beside the campaign.
NODE_PREFIX = "sms-credits-chaos"
# tests/chaos/system.py's settings that matter here; the addresses and databases are the cluster's.
TEST_SETTINGS = {
    "EXCHANGE_NAME": EXCHANGE,
    "TEST_PROVIDER_RETRY_SECONDS": "1",
    "WEBHOOK_RETRY_SCALE": "0.001",
    "WEBHOOK_POLL_SECONDS": "0.2",
    "SMSC_SIMULATOR_RECEIPT_SECONDS": "0.2",
    "SMSC_SIMULATOR_LATENCY_SECONDS": "0.05",
    "SMPP_RECONNECT_SECONDS": "0.5",
    "RECEIPT_VALIDITY_SECONDS": "5",
    "RECEIPT_SWEEP_SECONDS": "0.5",
    "LOG_LEVEL": "INFO",
    "ACCESS_TOKEN_TTL": "7200",
    "SERVICE_TIMEOUT_SECONDS": "5",
    "REQUEST_TIMEOUT_SECONDS": "15",
    # Twelve replicas share the primary's 200 connections (scripts/pg_replica.py): 12 x 6 in pools, the
    # relays' listeners, reporting's replica pool elsewhere, and the checks' own, well under it.
    "DB_POOL_SIZE": "6",
    "HOLD_SWEEP_SECONDS": "1",
    "SIGN_IN_LIMIT_PER_IP": "100000/minute",
    "SIGN_IN_LIMIT_PER_EMAIL": "100000/minute",
}


def base_environment() -> dict[str, str]:
    """The machine's little that a process needs, and secrets of this run's own (no .env)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    env |= {name: secrets.token_urlsafe(40)
            for name in ("INTERNAL_TOKEN_SECRET", "JWT_SECRET", "TEST_PROVIDER_WEBHOOK_SECRET")}
    return env


def busy_ports(layout: Layout) -> list[int]:
    """The layout's ports something already answers on (another cluster, another campaign)."""
    return [port for port in layout.ports if port_answers(port)]


@dataclass
class ClusterQueues:
    """The broker's queues, as a live node lists them (quorum queues: any member answers for all)."""

    rabbit: RabbitCluster

    def queues(self) -> dict[str, dict[str, int]]:
        """In the product's vhost (scripts/provision.py), and in the default one (a cluster before it)."""
        for node in self.rabbit.nodes:
            if node.number not in self.rabbit.processes or not port_answers(node.port):
                continue
            found: dict[str, dict[str, int]] = {}
            listed = [self.rabbit.ctl(node, "list_queues", "--quiet", "--formatter", "json", "-p", vhost, "name",
                                      "messages_ready", "messages_unacknowledged", timeout=60)
                      for vhost in ("/", NAMES.vhost)]
            for done in listed:
                if done.returncode == 0:
                    found |= {row["name"]: {"ready": int(row["messages_ready"] or 0),
                                            "unacked": int(row["messages_unacknowledged"] or 0)}
                              for row in json.loads(done.stdout or "[]")}
            if any(done.returncode == 0 for done in listed):
                return found
        raise RuntimeError("no RabbitMQ node listed the queues")


@dataclass
class ClusterSystem:
    cluster: Cluster
    # Replicas are started and stopped from threads: the injector's and the supervisor's, one at a time.
    replica_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def create(cls, root: Path, offset: int) -> ClusterSystem:
        root.chmod(0o755)  # Postgres runs as its own user and must reach its folder
        # Throwaway: a killed server (never the machine) loses nothing without fsync, and 2 cores go further.
        return cls(Cluster.create(root, base_environment(), offset, TEST_SETTINGS, node_prefix=NODE_PREFIX,
                                  durable=False))

    # -- what the checks use (checks.SystemUnderTest) ---------------------------------------------

    @property
    def rabbit(self) -> ClusterQueues:
        return ClusterQueues(self.cluster.rabbit)

    @property
    def env(self) -> dict[str, str]:
        return self.cluster.env

    def url(self, service: str) -> str:
        if service == "smsc":
            return f"http://127.0.0.1:{self.cluster.layout.smsc_http_port}"
        return self.cluster.layout.service_url(service)

    def database_url(self, service: str) -> str:
        return self.cluster.database_url(service)

    async def connect(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url(service))

    def command(self, module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.cluster.command(module, *args, timeout=timeout)

    # -- the rest -----------------------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return self.cluster.gateway_url

    def passwords(self) -> dict[str, str]:
        """Each service's database and broker password, and the broker admin's (scripts/provision.py)."""
        saved = self.cluster.layout.root / "credentials.env"
        return load_passwords(saved, self.cluster.env) if saved.exists() else {}

    def log_files(self) -> list[Path]:
        """Every log of the run: each replica's and stand-in's, HAProxy's, the Postgres pair's, each
        RabbitMQ node's."""
        layout = self.cluster.layout
        pair = self.cluster.postgres
        rabbit = [path for node in layout.rabbit_nodes for path in sorted(node.root.glob("**/*.log"))]
        return [*sorted(layout.logs.glob("*.log")), pair.primary.root / "postgres.log",
                pair.replica.root / "postgres.log", *rabbit]

    async def supervise(self) -> None:
        """Start again any replica that exited on its own, as `make cluster` does (counted in restarts)."""
        while True:
            async with self.replica_lock:
                await asyncio.to_thread(self.cluster.replicas.restart_exited)
            await asyncio.sleep(1)

    async def wait_whole(self, replica: str | None = None, timeout: float = 90) -> bool:
        """HAProxy counts every server up, twice in a row half a second apart (and `replica`, if named,
        answers its own readiness check); False if not within `timeout`."""
        deadline, calm = time.monotonic() + timeout, 0
        while calm < 2:
            down = await asyncio.to_thread(self.cluster.servers_down)
            ready = replica is None or await asyncio.to_thread(self.cluster.ready, replica)
            calm = calm + 1 if not down and ready else 0
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)
        return True

    def stop(self, keep: bool) -> None:
        """Everything, fast: the replicas (SIGTERM), the balancer, the nodes (SIGKILL), Postgres."""
        cluster = self.cluster
        cluster.replicas.stop_all()
        cluster.balancer.stop()
        for node in cluster.rabbit.nodes:
            cluster.rabbit.kill(node)
        if keep:
            cluster.postgres.stop()
        else:
            cluster.postgres.destroy()

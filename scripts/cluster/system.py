"""The whole cluster on one machine: a Postgres primary with a streaming replica, three RabbitMQ nodes,
two replicas of every service, HAProxy in front; started in that order and stopped in the reverse one.

    cluster = Cluster.create(Path(".local/cluster"), base_env=dict(os.environ))
    cluster.start()        # blocks until the gateway answers through the balancer
    ...
    cluster.stop()

`env` is what every replica is given: the primary for writes and consumers, the replica for reporting's
reads (REPORTING_READ_DATABASE_URL), the balancer's addresses for the broker and for each other service.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scripts import provision
from scripts.cluster.balancer import Balancer
from scripts.cluster.layout import SERVICES, Layout
from scripts.cluster.rabbit import RabbitCluster
from scripts.cluster.replicas import OUTSIDE, ROOT, Replicas
from scripts.local_servers import rabbit_bin
from scripts.pg_replica import PostgresPair

READY_TIMEOUT_SECONDS = 180


def answers(url: str, timeout: float = 3) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our own 127.0.0.1)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Cluster:
    layout: Layout
    postgres: PostgresPair
    rabbit: RabbitCluster
    balancer: Balancer
    replicas: Replicas
    env: dict[str, str] = field(default_factory=dict)
    admin_broker_url: str = ""  # set by `provision`; for operators' tools and tests, never for a service

    @classmethod
    def create(cls, root: Path, base_env: Mapping[str, str], offset: int = 0,
               overrides: Mapping[str, str] | None = None, node_prefix: str = "sms-credits-cluster",
               durable: bool = True) -> Cluster:
        """`durable=False`: a throwaway cluster (a fault campaign's), its Postgres pair without fsync."""
        layout = Layout(root.resolve(), offset, node_prefix)
        postgres = PostgresPair(layout.root / "postgres", layout.postgres_primary_port, layout.postgres_replica_port,
                                durable=durable)
        env = {**base_env, **environment(layout), **(overrides or {})}
        return cls(layout, postgres, RabbitCluster(layout.rabbit_nodes), Balancer(layout), Replicas(layout, env), env)

    @property
    def gateway_url(self) -> str:
        return self.layout.service_url("gateway")

    def database_url(self, service: str) -> str:
        return self.env[f"{service.upper()}_DATABASE_URL"]

    def command(self, module: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """A one-off command in the replicas' environment (`python -m gateway seed`)."""
        return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=self.env,  # noqa: S603
                              capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, say: bool = True) -> None:
        def step(text: str) -> None:
            if say:
                print(f"cluster: {text}", flush=True)

        self.layout.logs.mkdir(parents=True, exist_ok=True)
        (self.layout.root / "mail").mkdir(exist_ok=True)
        step(f"Postgres primary :{self.layout.postgres_primary_port}, streaming replica "
             f":{self.layout.postgres_replica_port}")
        self.postgres.start()
        step("RabbitMQ: three nodes " + ", ".join(f":{n.port}" for n in self.layout.rabbit_nodes) + ", one cluster")
        self.rabbit.start()
        step("least privilege: a Postgres role and a RabbitMQ user for each service, the queues declared")
        self.provision()
        step("HAProxy: the gateway on :{}, the broker on :{}, every backend at http://127.0.0.1:{}/".format(
            self.layout.balanced_port("gateway"), self.layout.amqp_port, self.layout.stats_port))
        self.balancer.start()
        step("demo data (python -m gateway seed)")
        seeded = self.command("gateway", "seed")
        if seeded.returncode != 0:
            raise RuntimeError(f"gateway seed failed: {seeded.stderr[-2000:]}")
        for name in OUTSIDE:
            self.replicas.start(name)
        # One replica of each first: each migrates its database (under an advisory lock) and declares the
        # queues; the second then starts on a ready schema instead of queueing behind the lock.
        for number in (1, 2):
            step(f"replica {number} of " + ", ".join(SERVICES))
            for replica in self.layout.replicas:
                if replica.number == number:
                    self.replicas.start(replica.name)
            self.wait_replicas(number)
        self.wait_balanced()
        step(f"ready: http://127.0.0.1:{self.layout.balanced_port('gateway')}")

    def provision(self) -> None:
        """Each service's own role and database on the primary and its own broker user in the product's vhost
        (scripts/provision.py); the whole topology declared by the admin before any service starts. The
        replicas are told their own URLs only, the broker's through the balancer; the admin's stays here."""
        exchange = self.env.get("EXCHANGE_NAME", "sms-credits")
        names = provision.Names(exchange=exchange)
        passwords = provision.load_passwords(self.layout.root / "credentials.env", self.env)
        admin_url = f"postgresql://postgres@127.0.0.1:{self.layout.postgres_primary_port}/postgres"
        own = asyncio.run(provision.provision_postgres(admin_url, passwords, names))
        first = self.layout.rabbit_nodes[0]
        ctl = provision.Rabbitmqctl((rabbit_bin("rabbitmqctl") or "rabbitmqctl", "-n", first.node),
                                    self.rabbit.node_env(first))
        own |= provision.provision_rabbitmq(f"127.0.0.1:{self.layout.amqp_port}", ctl, passwords, names)
        asyncio.run(provision.declare_topology(
            provision.admin_broker_url(f"127.0.0.1:{first.port}", passwords, names), exchange))
        self.admin_broker_url = provision.admin_broker_url(f"127.0.0.1:{self.layout.amqp_port}", passwords, names)
        # Reporting reads from the replica as its own role, which the replica has from the primary's WAL.
        reporting = own["REPORTING_DATABASE_URL"]
        own["REPORTING_READ_DATABASE_URL"] = reporting.replace(f":{self.layout.postgres_primary_port}/",
                                                               f":{self.layout.postgres_replica_port}/")
        self.env.pop("BROKER_URL", None)
        self.env.update(own)

    def ready(self, name: str) -> bool:
        replica = next(r for r in self.layout.replicas if r.name == name)
        return answers(f"http://127.0.0.1:{replica.port}/readyz")

    def wait_replicas(self, number: int | None = None, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Every replica (or every replica numbered `number`) answers its readiness check."""
        deadline = time.monotonic() + timeout
        for replica in self.layout.replicas:
            if number is not None and replica.number != number:
                continue
            while not self.ready(replica.name):
                self.replicas.restart_exited()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{replica.name} not ready; see {self.layout.logs}/{replica.name}.log")
                time.sleep(0.3)

    def wait_balanced(self, timeout: float = 30) -> None:
        """The balancer counts every replica in (two good checks each)."""
        deadline = time.monotonic() + timeout
        while self.servers_down():
            if time.monotonic() > deadline:
                raise TimeoutError(f"HAProxy still counts these down: {self.servers_down()}")
            time.sleep(0.5)

    def servers_down(self) -> list[str]:
        """The servers HAProxy's checks count down, from its statistics as CSV."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.layout.stats_port}/;csv", timeout=3) as page:
                rows = page.read().decode().splitlines()
        except (urllib.error.URLError, OSError):
            return ["haproxy"]
        names = rows[0].lstrip("# ").split(",")
        down = []
        for row in rows[1:]:
            values = dict(zip(names, row.split(","), strict=False))
            if values.get("svname") not in ("FRONTEND", "BACKEND") and not values.get("status", "").startswith("UP"):
                down.append(f"{values.get('pxname')}/{values.get('svname')}")
        return down

    def stop(self) -> None:
        """Everything, in the reverse order of the start; what is not running is skipped."""
        self.replicas.stop_all()
        self.balancer.stop()
        self.rabbit.stop()
        self.postgres.stop()

    def describe(self) -> str:
        return json.dumps({"gateway": self.gateway_url, "stats": f"http://127.0.0.1:{self.layout.stats_port}/",
                           "broker": f"127.0.0.1:{self.layout.amqp_port}", "logs": str(self.layout.logs)})


def environment(layout: Layout) -> dict[str, str]:
    """What every replica is told, beside the machine's environment (.env's secrets among it)."""
    primary = f"postgresql://postgres@127.0.0.1:{layout.postgres_primary_port}"
    replica = f"postgresql://postgres@127.0.0.1:{layout.postgres_replica_port}"
    env = {
        "PYTHONPATH": str(ROOT),
        "BROKER_URL": f"amqp://guest:guest@127.0.0.1:{layout.amqp_port}/",
        "REPORTING_READ_DATABASE_URL": f"{replica}/reporting",
        "PUBLIC_BASE_URL": layout.service_url("gateway"),
        "BILLING_WEBHOOK_URL": f"{layout.service_url('billing')}/webhooks/test",
        # The balancer is the gateway's only proxy: X-Forwarded-For is believed from it alone.
        "TRUSTED_PROXIES": "127.0.0.1",
        "SMPP_PORT": str(layout.smpp_port),
        "SMSC_SIMULATOR_PORT": str(layout.smpp_port),
        "SMSC_SIMULATOR_HTTP_PORT": str(layout.smsc_http_port),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(layout.mail_port),
        "SMTP_SECURITY": "none",
        "MAILCATCHER_PORT": str(layout.mail_port),
        "DEV_MAIL_DIR": str(layout.root / "mail"),
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }
    for service in SERVICES:
        env[f"{service.upper()}_URL"] = layout.service_url(service)
        env[f"{service.upper()}_DATABASE_URL"] = f"{primary}/{service}"
    return env

"""`make cluster`'s table of ports and the HAProxy configuration written from it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from scripts.cluster.balancer import NOT_AGAIN, Balancer, config
from scripts.cluster.layout import RABBIT_NODES, REPLICAS, SERVICES, Layout
from scripts.cluster.system import environment


@pytest.mark.parametrize("offset", [0, 300, 600])
def test_no_two_things_share_a_port_and_none_takes_the_machines_usual_servers(offset: int) -> None:
    ports = Layout(Path("/x"), offset).ports
    assert len(ports) == len(set(ports))
    assert not {5432, 5672, 25672, 4369} & set(ports)  # the machine's Postgres, RabbitMQ, its epmd


def test_the_gateway_is_on_8080_and_every_service_twice() -> None:
    layout = Layout(Path("/x"))
    assert layout.service_url("gateway") == "http://127.0.0.1:8080"
    assert len(layout.replicas) == len(SERVICES) * REPLICAS == 12
    assert sorted(r.name for r in layout.replicas_of("ledger")) == ["ledger-1", "ledger-2"]
    assert len({n.node for n in layout.rabbit_nodes}) == RABBIT_NODES == 3


def test_the_balancer_checks_every_replica_on_readyz_and_every_broker_node() -> None:
    layout = Layout(Path("/x"))
    text = config(layout)
    for replica in layout.replicas:
        assert f"server {replica.name} 127.0.0.1:{replica.port} check" in text
    for node in layout.rabbit_nodes:
        assert f"server {node.name} 127.0.0.1:{node.port} check" in text
    backends = re.findall(r"^backend (\S+)\n((?:    .*\n)+)", text + "\n", flags=re.M)
    http = {name: body for name, body in backends if name != "rabbitmq"}
    assert set(http) == set(SERVICES)
    assert all("option httpchk GET /readyz" in body for body in http.values())
    # Sent again to another replica only when that is harmless: never a write without an Idempotency-Key.
    assert all(NOT_AGAIN in body for body in http.values())
    assert f"bind 127.0.0.1:{layout.amqp_port}" in text


def test_replicas_write_to_the_primary_and_reporting_reads_from_the_replica() -> None:
    layout = Layout(Path("/x"))
    env = environment(layout)
    primary, replica = layout.postgres_primary_port, layout.postgres_replica_port
    assert all(f":{primary}/" in env[f"{s.upper()}_DATABASE_URL"] for s in SERVICES)
    assert f":{replica}/reporting" in env["REPORTING_READ_DATABASE_URL"]
    assert f":{layout.amqp_port}/" in env["BROKER_URL"]
    assert all(env[f"{s.upper()}_URL"] == layout.service_url(s) for s in SERVICES)


@pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                    reason="haproxy is not installed (apt-get install haproxy; .ci/run installs it)")
def test_haproxy_itself_accepts_the_configuration(tmp_path: Path) -> None:
    balancer = Balancer(Layout(tmp_path))
    balancer.write()
    checked = balancer.check()
    assert checked.returncode == 0, checked.stdout + checked.stderr

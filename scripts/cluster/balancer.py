"""HAProxy in front of everything that runs more than once: the gateway's replicas on :8080, each other
service's replicas on its usual port (the gateway and the services call each other there), and the three
RabbitMQ nodes on one AMQP port.

A replica is taken out after two failed checks a second apart (`/readyz`: its database and broker answer,
and for the gateway the services behind it) and back in after two good ones; a request that finds a
replica gone is sent again to the other when nothing was sent yet (`option redispatch`, `retries`), and
one the replica died answering when sending it again is harmless (a read, or a write with an
Idempotency-Key). An
AMQP connection is long-lived: HAProxy only picks the node when it opens, and a service whose node dies
reconnects (common/bus.py) through the balancer to a live one.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from scripts.cluster.layout import SERVICES, Layout

CHECK = "inter 1s fall 2 rise 2"
# A write without an Idempotency-Key is never sent twice by the balancer.
NOT_AGAIN = "    http-request disable-l7-retry if !METH_GET !METH_HEAD !{ req.hdr(Idempotency-Key) -m found }"


def config(layout: Layout) -> str:
    """haproxy.cfg for the layout."""
    lines = [
        "global",
        "    maxconn 4096",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        # The gateway's /readyz asks each service behind it (at once, 2 s at most): a check must be given
        # longer than that, or a slow moment takes both gateway replicas out together.
        "    timeout check 3s",
        # Live streams (SSE) and AMQP connections stay open for hours.
        "    timeout tunnel 1h",
        "    option redispatch",
        "    retries 2",
        # A replica killed mid-request closes the connection unanswered: the request is sent again to another
        # replica when repeating it is harmless (a read, or a write carrying an Idempotency-Key, which the
        # gateway answers once whichever replica sees it), never otherwise. The whole request is buffered
        # first, so that it can be sent again.
        "    option http-buffer-request",
        "    retry-on conn-failure empty-response response-timeout",
        "",
        "listen stats",
        f"    bind 127.0.0.1:{layout.stats_port}",
        "    stats enable",
        "    stats uri /",
        "    stats refresh 2s",
        "",
    ]
    for service in SERVICES:
        lines += [
            f"frontend {service}",
            f"    bind 127.0.0.1:{layout.balanced_port(service)}",
            # The gateway trusts X-Forwarded-For from this balancer only (TRUSTED_PROXIES).
            *(["    option forwardfor"] if service == "gateway" else []),
            f"    default_backend {service}",
            "",
            f"backend {service}",
            "    balance roundrobin",
            NOT_AGAIN,
            "    option httpchk GET /readyz",
            "    http-check expect status 200",
            f"    default-server {CHECK}",
            *(f"    server {replica.name} 127.0.0.1:{replica.port} check" for replica in layout.replicas_of(service)),
            "",
        ]
    lines += [
        "frontend amqp",
        "    mode tcp",
        f"    bind 127.0.0.1:{layout.amqp_port}",
        "    option tcplog",
        "    timeout client 3h",
        "    default_backend rabbitmq",
        "",
        "backend rabbitmq",
        "    mode tcp",
        "    balance leastconn",
        "    timeout server 3h",
        f"    default-server {CHECK}",
        *(f"    server {node.name} 127.0.0.1:{node.port} check" for node in layout.rabbit_nodes),
        "",
    ]
    return "\n".join(lines)


def haproxy_bin() -> str:
    for candidate in (Path("/usr/sbin/haproxy"), Path("/usr/bin/haproxy")):
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("haproxy is not installed (apt-get install haproxy)")


@dataclass
class Balancer:
    layout: Layout
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_file(self) -> Path:
        return self.layout.root / "haproxy.cfg"

    def write(self) -> Path:
        self.config_file.write_text(config(self.layout))
        return self.config_file

    def check(self) -> subprocess.CompletedProcess[str]:
        """`haproxy -c`: the file parses and every name in it resolves."""
        return subprocess.run([haproxy_bin(), "-c", "-f", str(self.config_file)],  # noqa: S603
                              capture_output=True, text=True, check=False, timeout=30)

    def start(self) -> None:
        self.write()
        checked = self.check()
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy refused {self.config_file}: {checked.stdout}{checked.stderr}")
        with (self.layout.logs / "haproxy.log").open("ab") as log:
            # -db: in the foreground, a child of ours, stopped with us.
            self.process = subprocess.Popen([haproxy_bin(), "-db", "-f", str(self.config_file)],  # noqa: S603
                                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

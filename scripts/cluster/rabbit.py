"""Three RabbitMQ nodes of this checkout's own, joined into one cluster.

Each node has its own name, ports, data and logs under .local/cluster/rabbit-N (scripts/local_servers.py
`rabbit_node_env`: the machine's /etc/rabbitmq, which names port 5672, is not read), and all three share one
Erlang cookie, without which they refuse each other. The first start joins nodes 2 and 3 to node 1
(`rabbitmqctl join_cluster`); later starts find them clustered already. A clustered node waits at boot for
the peers it last saw, so all three start at once.

Every node runs in a session of its own: a SIGKILL of its process group is a node lost, as a crash or an
OOM kill would lose it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field

from scripts.cluster.layout import RabbitNode
from scripts.local_servers import port_answers, rabbit_bin, rabbit_node_env

_NODE_TIMEOUT_SECONDS = 180


def _ctl_path() -> str:
    found = rabbit_bin("rabbitmqctl")
    if found is None:
        raise RuntimeError("rabbitmqctl is not installed (apt-get install rabbitmq-server)")
    return found


@dataclass
class RabbitCluster:
    nodes: list[RabbitNode]
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def node_env(self, node: RabbitNode) -> dict[str, str]:
        # The nodes talk to each other on 127.0.0.1 only (Erlang would listen on every interface).
        return {**rabbit_node_env(node.root, node.node, node.port, node.dist_port),
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}"}

    def ctl(self, node: RabbitNode, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([_ctl_path(), "-n", node.node, *args], env=self.node_env(node), capture_output=True,  # noqa: S603
                              text=True, timeout=timeout, check=False)

    def _prepare(self) -> None:
        cookie_file = self.nodes[0].root / ".erlang.cookie"
        cookie = cookie_file.read_text() if cookie_file.exists() else secrets.token_hex(20)
        for node in self.nodes:
            node.root.mkdir(parents=True, exist_ok=True)
            own_cookie = node.root / ".erlang.cookie"
            if not own_cookie.exists():
                own_cookie.write_text(cookie)
                own_cookie.chmod(0o400)
            (node.root / "enabled_plugins").write_text("[rabbitmq_prometheus].\n")
            (node.root / "rabbitmq-env.conf").write_text("")
            # Each node's Prometheus exporter on a port of its own, for `make cluster`'s operators.
            (node.root / "rabbitmq.conf").write_text(
                f"listeners.tcp.default = 127.0.0.1:{node.port}\n"
                "loopback_users = none\n"
                f"prometheus.tcp.port = {node.prometheus_port}\n"
                "prometheus.tcp.ip = 127.0.0.1\n"
            )

    def start_node(self, node: RabbitNode) -> None:
        server = rabbit_bin("rabbitmq-server")
        if server is None:
            raise RuntimeError("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
        with (node.root / "server.log").open("ab") as log:
            self.processes[node.number] = subprocess.Popen(  # noqa: S603
                [server], env=self.node_env(node), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def wait_node(self, node: RabbitNode, timeout: float = _NODE_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not (port_answers(node.port) and self.ctl(node, "await_startup", "--timeout", "5").returncode == 0):
            process = self.processes.get(node.number)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node {node.node} exited; see {node.root}/server.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"RabbitMQ node {node.node} did not start; see {node.root}/server.log")
            time.sleep(0.5)

    def start(self) -> None:
        """Start the three nodes and make them one cluster (joined at the first start only)."""
        self._prepare()
        for node in self.nodes:
            self.start_node(node)
        for node in self.nodes:
            self.wait_node(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            if first.node in self.running_nodes(node):
                continue
            for step in (["stop_app"], ["reset"], ["join_cluster", first.node], ["start_app"]):
                done = self.ctl(node, *step)
                if done.returncode != 0:
                    raise RuntimeError(f"rabbitmqctl {' '.join(step)} on {node.node}: {done.stderr[-500:]}")

    def running_nodes(self, node: RabbitNode) -> list[str]:
        """The cluster's running nodes as `node` sees them."""
        done = self.ctl(node, "cluster_status", "--formatter", "json", timeout=30)
        if done.returncode != 0:
            return []
        return list(json.loads(done.stdout).get("running_nodes", []))

    def kill(self, node: RabbitNode) -> None:
        """SIGKILL the node's whole session: a node lost without a word to its peers."""
        process = self.processes.pop(node.number, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        """Stop every node cleanly, the last one last (it is the one the others wait for at the next start)."""
        for node in self.nodes:
            process = self.processes.pop(node.number, None)
            if process is None:
                continue
            self.ctl(node, "stop", timeout=60)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
            # The Erlang helpers (epmd's child, the port programs) live in the node's session.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

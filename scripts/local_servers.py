"""A Postgres cluster and a RabbitMQ node of this checkout's own, for `make run` on a machine whose
servers are installed but do not answer and cannot be started (scripts/local_infra.py decides when).

They live under `.local/` (git-ignored), keep their data between runs and outlive `make run` like a
system server would, so the next run finds them answering. Started from the Debian packages' binaries
as tests/chaos/infra.py does: as root, Postgres runs as the `postgres` user (it refuses root); RabbitMQ
gets its own node name, ports, data, logs, Erlang cookie (HOME) and configuration file, so the machine's
/etc/rabbitmq (which names port 5672) is not read.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else any free port."""
    if not port_answers(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 180) -> bool:
    done = subprocess.run(command, capture_output=True, check=False, timeout=timeout, env=env)  # noqa: S603
    return done.returncode == 0


def postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def rabbit_bin(name: str) -> str | None:
    # Debian's /usr/sbin wrappers switch to the `rabbitmq` user and its environment (port 5672): the
    # scripts behind them honour the RABBITMQ_* variables set here.
    packaged = Path("/usr/lib/rabbitmq/bin") / name
    return str(packaged) if packaged.exists() else shutil.which(name)


def _as_postgres_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


@dataclass
class ProjectPostgres:
    """Trust auth on 127.0.0.1:<port>; data, socket and log under `root`; the port kept in root/port."""

    root: Path

    @property
    def exists(self) -> bool:
        return (self.root / "pgdata" / "PG_VERSION").exists()

    @property
    def port(self) -> int:
        saved = self.root / "port"
        return int(saved.read_text()) if saved.exists() else 5433

    def answers(self) -> bool:
        return self.exists and port_answers(self.port)

    def start(self) -> bool:
        binaries = postgres_bin()
        if binaries is None:
            return False
        if not self.exists:
            self.root.mkdir(parents=True, exist_ok=True)
            if not (self.root / "port").exists():
                (self.root / "port").write_text(str(free_port(5433)))
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres")
            if not run(_as_postgres_user([str(binaries / "initdb"), "-D", str(self.root / "pgdata"), "-A", "trust",
                                          "-U", "postgres", "-E", "UTF8"])):
                return False
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        return run(_as_postgres_user([str(binaries / "pg_ctl"), "-D", str(self.root / "pgdata"), "-o", options,
                                      "-l", str(self.root / "postgres.log"), "-w", "-t", "60", "start"]))

    def stop(self) -> bool:
        binaries = postgres_bin()
        return binaries is not None and run(_as_postgres_user(
            [str(binaries / "pg_ctl"), "-D", str(self.root / "pgdata"), "-m", "fast", "-w", "stop"]))


def rabbit_node_env(root: Path, node: str, port: int, dist_port: int) -> dict[str, str]:
    """The environment of a RabbitMQ node whose every file (data, logs, config, Erlang cookie) is under
    `root`, listening on 127.0.0.1 only; the fault campaign's throwaway nodes are made the same way."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/sbin:/sbin"),
        "HOME": str(root),  # the node's Erlang cookie, shared with rabbitmqctl
        "LANG": "C.UTF-8",
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
        "RABBITMQ_LOG_BASE": str(root / "log"),
        "RABBITMQ_PID_FILE": str(root / "rabbit.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
        "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
    }


@dataclass
class ProjectRabbit:
    """A node named sms-credits-<port>@localhost with no plugins, on its own AMQP and distribution ports."""

    root: Path

    @property
    def exists(self) -> bool:
        return (self.root / "rabbitmq.conf").exists()

    @property
    def port(self) -> int:
        return int((self.root / "port").read_text()) if (self.root / "port").exists() else 5673

    def answers(self) -> bool:
        return self.exists and port_answers(self.port)

    def _env(self) -> dict[str, str]:
        return rabbit_node_env(self.root, f"sms-credits-{self.port}@localhost", self.port, self.port + 20000)

    def start(self) -> bool:
        server = rabbit_bin("rabbitmq-server")
        if server is None:
            return False
        if not self.exists:
            self.root.mkdir(parents=True, exist_ok=True)
            port = free_port(5673)
            (self.root / "port").write_text(str(port))
            (self.root / "enabled_plugins").write_text("[].\n")
            (self.root / "rabbitmq-env.conf").write_text("")
            config = f"listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"
            (self.root / "rabbitmq.conf").write_text(config)
        # Detached through a shell that exits at once, in a session of its own: Ctrl-C on `make run` leaves
        # the node running, as a system server would be, and no child of ours is left behind.
        subprocess.run(["sh", "-c", '"$0" >> "$1" 2>&1 &', server, str(self.root / "server.log")],  # noqa: S603, S607
                       env=self._env(), stdin=subprocess.DEVNULL, start_new_session=True, check=False, timeout=30)
        return wait_until(self.answers, 90)

    def stop(self) -> bool:
        ctl = rabbit_bin("rabbitmqctl")
        return ctl is not None and run([ctl, "-n", self._env()["RABBITMQ_NODENAME"], "stop"], self._env())

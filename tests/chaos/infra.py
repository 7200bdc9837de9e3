"""A Postgres cluster and a RabbitMQ node of the campaign's own, in a temporary directory on free ports,
so that it may crash and restart them at will: the shared servers on 5432 and 5672 serve everyone
working on this machine and CI, and are never touched.

Both are started from the Debian packages' binaries (`initdb`/`pg_ctl`, `rabbitmq-server`). As root,
Postgres runs as the `postgres` user (it refuses root); RabbitMQ gets its own node name, ports, data,
logs, Erlang cookie (HOME) and configuration file, so the machine's /etc/rabbitmq (which names port
5672) is not read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from scripts.local_servers import rabbit_node_env
from tests.support import free_port


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run(command: list[str], check: bool = True, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(command, capture_output=True, check=False, timeout=120, env=env)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-1000:]}")
    return done


def _postgres_bin() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    if found is None:
        raise RuntimeError("Postgres server binaries (initdb, pg_ctl) are not installed")
    return Path(found).parent


def _as_postgres_user(command: list[str]) -> list[str]:
    """Postgres will not run as root; on a machine where we are root, run it as `postgres`."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class OwnPostgres:
    """A throwaway cluster: trust auth on 127.0.0.1:<port>, data and log under `root`."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    @property
    def _data(self) -> Path:
        return self.root / "pgdata"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return _run(_as_postgres_user([str(_postgres_bin() / "pg_ctl"), "-D", str(self._data), *args]), check)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        _run(_as_postgres_user([str(_postgres_bin() / "initdb"), "-D", str(self._data), "-A", "trust",
                                "-U", "postgres", "-E", "UTF8", "--no-sync"]))

    def start(self) -> None:
        # fsync stays off: the campaign kills the server, never the machine, and a killed Postgres loses
        # nothing the kernel already has. Crash recovery (WAL replay) runs at every start after a kill.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                   "-c fsync=off -c full_page_writes=off -c shared_buffers=64MB")
        self._pg_ctl("-o", options, "-l", str(self.root / "postgres.log"), "-w", "-t", "60", "start")

    def crash(self) -> None:
        """Stop as a crash would: every backend ends at once, nothing is flushed or checkpointed."""
        self._pg_ctl("-m", "immediate", "-w", "stop", check=False)

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        self.crash()
        shutil.rmtree(self.root, ignore_errors=True)


def _rabbit_bin(name: str) -> str:
    # Debian's /usr/sbin wrappers switch to the `rabbitmq` user and its environment (port 5672): the
    # scripts behind them honour the RABBITMQ_* variables set here.
    packaged = Path("/usr/lib/rabbitmq/bin") / name
    if packaged.exists():
        return str(packaged)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed")
    return found


@dataclass
class OwnRabbit:
    """A RabbitMQ node named chaos-<id>@localhost with no plugins, on its own AMQP and distribution ports."""

    root: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    node: str = field(default_factory=lambda: f"chaos-{uuid.uuid4().hex[:8]}@localhost")
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return rabbit_node_env(self.root, self.node, self.port, self.dist_port)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq-env.conf").write_text("")
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )

    def start(self, timeout: float = 90) -> None:
        with (self.root / "server.log").open("ab") as log:
            # A session of its own: killing the node kills its Erlang helpers with it.
            self.process = subprocess.Popen([_rabbit_bin("rabbitmq-server")], env=self._env(), stdout=log,
                                            stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node {self.node} exited; see {self.root}/server.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"RabbitMQ node {self.node} did not start; see {self.root}/server.log")
            time.sleep(0.3)

    def _ready(self) -> bool:
        if not _port_open(self.port):
            return False
        return self.ctl("await_startup", "--timeout", "5", check=False).returncode == 0

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return _run([_rabbit_bin("rabbitmqctl"), "-n", self.node, *args], check, self._env())

    def stop(self) -> None:
        """A clean shutdown (`rabbitmqctl stop`), as an operator's restart would do."""
        if self.process is None:
            return
        self.ctl("stop", check=False)
        self._reap(30)

    def kill(self) -> None:
        """SIGKILL the whole node, as a crash or an OOM kill would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reap(30)

    def _reap(self, timeout: float) -> None:
        assert self.process is not None
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Erlang helpers outlive the shell when the node stops cleanly; they are in its session.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def queues(self) -> dict[str, dict[str, int]]:
        """Every queue with its ready and unacknowledged message counts."""
        listed = self.ctl("list_queues", "--quiet", "--formatter", "json", "name", "messages_ready",
                          "messages_unacknowledged")
        return {
            row["name"]: {"ready": int(row["messages_ready"]), "unacked": int(row["messages_unacknowledged"])}
            for row in json.loads(listed.stdout or b"[]")
        }

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


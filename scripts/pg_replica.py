"""A Postgres primary and a streaming replica of it (made with `pg_basebackup -R`), each with its own data
folder and port: where reporting reads its log from a replica while its consumers write on the primary.

Used by `make cluster` (scripts/cluster) and by tests (tests/integration/reporting/test_replica_reads.py).
Started from the Debian packages' binaries as scripts/local_servers.py does: as root, every server command
runs as the `postgres` user (Postgres refuses root). Trust authentication, 127.0.0.1 only.

API (blocking; from async code call it through `asyncio.to_thread`):

    pair = PostgresPair(root, primary_port=5440, replica_port=5441, apply_delay_seconds=0.0, durable=True)
    pair.start()             # makes what is missing, then starts both; folders already there are reused
    pair.primary_url("reporting"), pair.replica_url("reporting")   # postgresql://postgres@127.0.0.1:PORT/DB
    pair.wait_streaming(30)  # True once the replica streams WAL from the primary
    pair.wait_replayed(30)   # True once the replica has replayed everything the primary had written
    pair.primary.start() / .stop() / .restart() / .answers()       # and the same on pair.replica
    pair.stop()              # both (replica first); pair.destroy() stops both and deletes `root`

Folders: `root/primary/` and `root/replica/`, each holding `pgdata/` (the cluster), `postgres.log` and the
server's Unix socket. The primary is made by initdb (`wal_level=replica`, a `host replication` trust line
for 127.0.0.1); the replica by `pg_basebackup -R` from the running primary, then started as a hot standby.
Ports, the replica's `primary_conninfo` and `recovery_min_apply_delay` (`apply_delay_seconds`, to make the
replica lag on purpose in tests) are given on the server's command line at every start, so they follow the
constructor's arguments even for folders made by an earlier run with other ports. Failures raise
`PairError` with the failing command's output.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from scripts.local_servers import _as_postgres_user, port_answers, postgres_bin, wait_until

# The replica's name in the primary's pg_stat_replication (and the WAL sender's process title).
REPLICA_NAME = "reporting_replica"
_REPLICATION_HBA = "host replication all 127.0.0.1/32 trust\n"


class PairError(RuntimeError):
    """A server command of the pair failed; the message holds its output."""


def _binaries() -> Path:
    found = postgres_bin()
    if found is None:
        raise PairError("Postgres server binaries (initdb, pg_ctl, pg_basebackup) are not installed")
    return found


def _run(command: list[str], timeout: float = 120) -> str:
    done = subprocess.run(command, capture_output=True, check=False, timeout=timeout, text=True)  # noqa: S603
    if done.returncode != 0:
        raise PairError(f"{shlex.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}".strip())
    return done.stdout


@dataclass
class PostgresServer:
    """One server of the pair: data in `root/pgdata`, log and socket in `root`, listening on 127.0.0.1:port."""

    root: Path
    port: int
    # Passed as `-c name=value` at every start, after the server's own configuration files.
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.root / "pgdata"

    @property
    def exists(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def answers(self) -> bool:
        return port_answers(self.port)

    def _pg_ctl(self, *args: str) -> str:
        return _run(_as_postgres_user([str(_binaries() / "pg_ctl"), "-D", str(self.data), *args]))

    def running(self) -> bool:
        status = subprocess.run(  # noqa: S603 (pg_ctl status: 0 running, 3 not running, 4 no data folder)
            _as_postgres_user([str(_binaries() / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True, check=False, timeout=30,
        )
        return status.returncode == 0

    def options(self) -> str:
        """The server's command-line settings, as `pg_ctl -o` takes them."""
        settings = {
            "port": str(self.port), "listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.root),
            **self.settings,
        }
        # pg_ctl hands -o to a shell: every value quoted, so a conninfo's spaces stay inside one setting.
        return " ".join(f"-c {shlex.quote(f'{name}={value}')}" for name, value in settings.items())

    def start(self) -> None:
        if not self.running():
            self._pg_ctl("-o", self.options(), "-l", str(self.root / "postgres.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        if self.running():
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def sql(self, statement: str) -> str:
        """One statement's answer as psql prints it unaligned (`-At`), for the pair's own checks."""
        psql = _binaries() / "psql"
        return _run([str(psql), "-X", "-At", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                     "-d", "postgres", "-c", statement], timeout=30).strip()


@dataclass
class PostgresPair:
    """A primary and its streaming replica under `root`; see the module's docstring."""

    root: Path
    primary_port: int = 5440
    replica_port: int = 5441
    # recovery_min_apply_delay: the replica applies each commit this long after the primary made it.
    apply_delay_seconds: float = 0.0
    # False for throwaway pairs (tests): fsync off, as a killed server (never the machine) loses nothing.
    durable: bool = True
    primary: PostgresServer = field(init=False)
    replica: PostgresServer = field(init=False)

    def __post_init__(self) -> None:
        common = {} if self.durable else {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
        self.primary = PostgresServer(self.root / "primary", self.primary_port, {
            "wal_level": "replica", "max_wal_senders": "10", "max_connections": "200", **common,
        })
        conninfo = f"host=127.0.0.1 port={self.primary_port} user=postgres application_name={REPLICA_NAME}"
        self.replica = PostgresServer(self.root / "replica", self.replica_port, {
            "hot_standby": "on",
            "primary_conninfo": conninfo,
            "recovery_min_apply_delay": f"{round(self.apply_delay_seconds * 1000)}ms",
            # The primary keeps the rows a replica's open snapshot still reads (a long CSV export), so
            # the export is not cancelled by a conflict with recovery.
            "hot_standby_feedback": "on",
            "max_connections": "200",
            **common,
        })

    def primary_url(self, database: str = "postgres") -> str:
        return self.primary.url(database)

    def replica_url(self, database: str = "postgres") -> str:
        return self.replica.url(database)

    def start(self) -> None:
        """Make the primary and the replica if their folders hold none, then start both (if not running)."""
        if not self.primary.exists:
            self._init_primary()
        self.primary.start()
        if not self.replica.exists:
            self._clone_replica()
        self.replica.start()

    def stop(self) -> None:
        self.replica.stop()
        self.primary.stop()

    def destroy(self) -> None:
        """Stop both servers (as fast as possible) and delete every file of the pair."""
        for server in (self.replica, self.primary):
            if server.exists and server.running():
                server._pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_streaming(self, seconds: float = 30) -> bool:
        """True once the replica receives the primary's WAL as it is written."""

        def streaming() -> bool:
            try:
                return self.replica.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming"
            except PairError:
                return False

        return wait_until(streaming, seconds)

    def wait_replayed(self, seconds: float = 30) -> bool:
        """True once the replica has applied everything written on the primary before this call (with an
        apply delay, that is at least the delay)."""
        target = self.primary.sql("SELECT pg_current_wal_lsn()")

        def replayed() -> bool:
            try:
                return self.replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t"
            except PairError:
                return False

        return wait_until(replayed, seconds)

    def _own_folder(self, folder: Path) -> None:
        """`folder` (and `root`) made and given to the postgres user. The folders above `root` are left as
        they are: they must let that user through (a fresh `tempfile.mkdtemp()` as `root` does)."""
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(folder, "postgres")

    def _init_primary(self) -> None:
        self._own_folder(self.primary.root)
        _run(_as_postgres_user([str(_binaries() / "initdb"), "-D", str(self.primary.data), "-A", "trust",
                                "-U", "postgres", "-E", "UTF8", *([] if self.durable else ["--no-sync"])]))
        # initdb's pg_hba already admits replication from 127.0.0.1 under -A trust; said once more here so
        # the pair does not depend on that default.
        hba = self.primary.data / "pg_hba.conf"
        if _REPLICATION_HBA not in hba.read_text():
            with hba.open("a") as lines:
                lines.write(_REPLICATION_HBA)

    def _clone_replica(self) -> None:
        self._own_folder(self.replica.root)
        # A half-made copy (a basebackup that was interrupted) is cleared first: pg_basebackup wants an
        # empty folder.
        shutil.rmtree(self.replica.data, ignore_errors=True)
        _run(_as_postgres_user([str(_binaries() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port),
                                "-U", "postgres", "-D", str(self.replica.data), "-R", "-X", "stream",
                                "-c", "fast", *([] if self.durable else ["--no-sync"])]), timeout=600)

"""`make run`'s first step: make sure a Postgres and a RabbitMQ answer, starting or installing what is
missing, and write `.local/run.env` (the URLs of what it used, and the mail catcher's settings) for the
processes. One line per server says what was used.

    python -m scripts.local_infra [--root DIR]

The choice is made from probes of the machine by `decide`, a pure function (tested with fake probes),
tried step after step until one server answers:
  1. the usual local server (127.0.0.1:5432 / :5672) answers: use it;
  2. this checkout's own server (.local/postgres, .local/rabbitmq) answers, or exists: use it, or start it;
  3. a system server is installed (a Debian cluster, the rabbitmq-server package): start it, as .ci/run does;
  4. the server binaries are installed (but the system server would not start, say without root): create
     and start this checkout's own, on its own port;
  5. nothing is installed and we are root: apt-get install it, then think again;
  6. otherwise say in one line what to run, and stop.
Variables already set (from .env or the shell) win: a BROKER_URL or a *_DATABASE_URL there is used as is.

Then each service gets credentials of its own (scripts/provision.py, docs/security.md): a Postgres role
owning its database (an existing database, made by the superuser, is handed over with its tables) and a
RabbitMQ user in the vhost `sms-credits` that may touch only its own queues; the whole topology is declared
with the admin's credentials, which no service gets. Passwords are made once in .local/credentials.env
(mode 0600). Where that cannot be done (rabbitmqctl refused without root, a Postgres user that is no
superuser) the line says so and the services share the server's URL as before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import asyncpg

from scripts import provision
from scripts.local_servers import (
    ProjectPostgres,
    ProjectRabbit,
    free_port,
    port_answers,
    postgres_bin,
    rabbit_bin,
    rabbit_node_env,
    wait_until,
)
from scripts.local_servers import run as run_command

SERVICES_WITH_DATABASES = ("gateway", "ledger", "billing", "reporting", "messaging", "webhooks")
MAIL_CATCHER_PORT = 1025


class Step(StrEnum):
    USE_USUAL = "use the usual local server"
    USE_PROJECT = "use this checkout's own server"
    START_PROJECT = "start this checkout's own server"
    START_SYSTEM = "start the system server"
    CREATE_PROJECT = "create this checkout's own server"
    INSTALL = "install the server with apt-get"
    GIVE_UP = "give up"


@dataclass(frozen=True)
class Machine:
    """What the probes found about one kind of server."""

    usual_answers: bool  # something answers on the usual local port
    project_answers: bool  # this checkout's own server answers
    project_exists: bool  # this checkout's own server was created before
    system_installed: bool  # a system server is set up (a Debian cluster, the rabbitmq-server service)
    binaries: bool  # the server's programs are installed
    root: bool  # we may start system servers and install packages


def decide(machine: Machine, tried: frozenset[Step] = frozenset()) -> Step:
    """The next thing to do; a step already tried (it did not bring a server up) is not tried again."""
    if machine.usual_answers:
        return Step.USE_USUAL
    if machine.project_answers:
        return Step.USE_PROJECT
    options = [
        (machine.project_exists and machine.binaries, Step.START_PROJECT),
        (machine.system_installed and machine.root, Step.START_SYSTEM),
        (machine.binaries, Step.CREATE_PROJECT),
        (not machine.binaries and machine.root, Step.INSTALL),
    ]
    return next((step for possible, step in options if possible and step not in tried), Step.GIVE_UP)


@dataclass
class Server:
    """One kind of server: how to probe the machine for it and how to carry out each step."""

    name: str  # "Postgres"
    usual_port: int
    project: ProjectPostgres | ProjectRabbit
    system_installed: Callable[[], bool]
    binaries: Callable[[], bool]
    start_system: Callable[[], bool]
    package: str  # the Debian package
    project_label: str  # ".local/postgres"

    def probe(self) -> Machine:
        return Machine(
            usual_answers=port_answers(self.usual_port),
            project_answers=self.project.answers(),
            project_exists=self.project.exists,
            system_installed=self.system_installed(),
            binaries=self.binaries(),
            root=os.geteuid() == 0,
        )

    def bring_up(self) -> tuple[Step, str]:
        """Try steps until a server answers: which is used, and the line saying so (or why not)."""
        tried: set[Step] = set()
        outcome = ""
        while True:
            step = decide(self.probe(), frozenset(tried))
            tried.add(step)
            if step is Step.USE_USUAL:
                return step, f"{self.name}: local server 127.0.0.1:{self.usual_port} ({outcome or 'was running'})"
            if step is Step.USE_PROJECT:
                return step, (f"{self.name}: project server {self.project_label} on :{self.project.port} "
                              f"({outcome or 'was running'})")
            if step is Step.GIVE_UP:
                return step, (f"{self.name}: none answers on 127.0.0.1:{self.usual_port} and it cannot be started "
                              f"here; run `sudo apt-get install -y {self.package}` and `make run` again")
            print(f"{self.name}: {step.value}…", file=sys.stderr)
            if step is Step.START_SYSTEM:
                if self.start_system():
                    wait_until(lambda: port_answers(self.usual_port), 60)
            elif step is Step.INSTALL:
                install(self.package)
            else:
                self.project.start()
            outcome = "installed and started" if Step.INSTALL in tried else "started"


def install(*packages: str) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return run_command(["apt-get", "update", "-qq"], env, 600) and run_command(
        ["apt-get", "install", "-y", "-qq", *packages], env, 900)


def start_postgres_clusters() -> bool:
    """Start the stopped Debian clusters (`pg_ctlcluster`, as .ci/run does)."""
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)  # noqa: S607
    started = False
    for line in listed.stdout.splitlines():
        version, cluster, *_ = line.split()
        started |= run_command(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start"])
    return started


def postgres(root: Path) -> Server:
    return Server(
        name="Postgres", usual_port=5432, project=ProjectPostgres(root / "postgres"),
        system_installed=lambda: shutil.which("pg_lsclusters") is not None and any(Path("/etc/postgresql").glob("*/*")),
        binaries=lambda: postgres_bin() is not None, start_system=start_postgres_clusters,
        package="postgresql", project_label=".local/postgres",
    )


def rabbitmq(root: Path) -> Server:
    return Server(
        name="RabbitMQ", usual_port=5672, project=ProjectRabbit(root / "rabbitmq"),
        system_installed=lambda: Path("/usr/sbin/rabbitmq-server").exists() and Path("/var/lib/rabbitmq").is_dir(),
        binaries=lambda: rabbit_bin("rabbitmq-server") is not None,
        start_system=lambda: run_command(["rabbitmq-server", "-detached"]),
        package="rabbitmq-server", project_label=".local/rabbitmq",
    )


def settings_for_run(environ: Mapping[str, str], postgres_url: str | None, broker_url: str | None,
                     mail_folder: Path, mail_port: int, own_urls: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables `make run` gives every process, except those already set (.env or the shell win).
    `own_urls`: each service's own database and broker URLs (provisioned), which take the place of the
    servers' shared ones."""
    own = dict(own_urls or {})
    chosen: dict[str, str] = {}
    if postgres_url is not None:
        chosen.update({f"{s.upper()}_DATABASE_URL": f"{postgres_url}/{s}" for s in SERVICES_WITH_DATABASES})
    if broker_url is not None and not any(name.endswith("_BROKER_URL") for name in own):
        chosen["BROKER_URL"] = broker_url
    chosen.update(own)
    # Every email is caught (fakes/mailcatcher) and shown at /dev/mail, unless .env names a real server.
    if "SMTP_HOST" not in environ:
        chosen.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail_port), SMTP_SECURITY="none")
    chosen.update(MAILCATCHER_PORT=str(mail_port), DEV_MAIL_DIR=str(mail_folder))
    return {name: value for name, value in chosen.items() if name not in environ}


def _brought_up(server: Server, usual_port: int, own_port: Callable[[], int]) -> int | None:
    """Make the server answer and say how; the port it answers on, or None when it cannot be done."""
    step, line = server.bring_up()
    print(line)
    if step is Step.GIVE_UP:
        return None
    return usual_port if step is Step.USE_USUAL else own_port()


def own_postgres(admin_url: str, passwords: Mapping[str, str]) -> dict[str, str]:
    """Each service's role and database on the server `make run` uses, or nothing when it cannot be done."""
    try:
        urls = asyncio.run(provision.provision_postgres(f"{admin_url}/postgres", passwords))
    except (OSError, asyncpg.PostgresError) as exc:  # the services share the superuser, as before
        print(f"Postgres: every service as the superuser (own roles not made: {type(exc).__name__}: {exc})")
        return {}
    print("Postgres: a role of its own for each service (sms_ledger, …), owning only its database")
    return urls


def own_rabbitmq(root: Path, port: int, passwords: Mapping[str, str], exchange: str) -> dict[str, str]:
    """The vhost, a user per service and the whole topology on the node `make run` uses, or nothing (guest)."""
    if port == 5672:
        ctl = provision.Rabbitmqctl()
    else:
        node = f"sms-credits-{port}@localhost"  # as scripts.local_servers.ProjectRabbit names it
        ctl = provision.Rabbitmqctl((rabbit_bin("rabbitmqctl") or "rabbitmqctl", "-n", node),
                                    rabbit_node_env(root / "rabbitmq", node, port, port + 20000))
    names = provision.Names(exchange=exchange)
    address = f"127.0.0.1:{port}"
    try:
        urls = provision.provision_rabbitmq(address, ctl, passwords, names)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"RabbitMQ: every service as guest (own users not made: {exc})")
        return {}
    # The services may declare only their own queues: every other must be there before they start.
    asyncio.run(provision.declare_topology(provision.admin_broker_url(address, passwords, names), exchange))
    print(f"RabbitMQ: a user of its own for each service in the vhost {names.vhost}; topology declared")
    return urls


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local_infra")
    parser.add_argument("--root", type=Path, default=Path(".local"))
    root = parser.parse_args().root.resolve()
    env = os.environ
    postgres_url = broker_url = None
    if any(f"{s.upper()}_DATABASE_URL" in env for s in SERVICES_WITH_DATABASES):
        print("Postgres: the *_DATABASE_URL variables set in .env or the environment")
    elif (port := _brought_up(postgres(root), 5432, lambda: ProjectPostgres(root / "postgres").port)) is None:
        return 1
    else:
        postgres_url = f"postgresql://postgres@127.0.0.1:{port}"
    if "BROKER_URL" in env:
        print("RabbitMQ: BROKER_URL set in .env or the environment")
    elif (port := _brought_up(rabbitmq(root), 5672, lambda: ProjectRabbit(root / "rabbitmq").port)) is None:
        return 1
    else:
        broker_url = f"amqp://guest:guest@127.0.0.1:{port}/"
    passwords = provision.load_passwords(root / "credentials.env")
    own = own_postgres(postgres_url, passwords) if postgres_url is not None else {}
    if broker_url is not None:
        own |= own_rabbitmq(root, int(broker_url.rsplit(":", 1)[1].rstrip("/")), passwords,
                            env.get("EXCHANGE_NAME", provision.NAMES.exchange))
    mail_port = int(env.get("MAILCATCHER_PORT") or free_port(MAIL_CATCHER_PORT))
    chosen = settings_for_run(env, postgres_url, broker_url, root / "mail", mail_port, own)
    root.mkdir(parents=True, exist_ok=True)
    # Mode 0600: the services' passwords are in their URLs.
    fd = os.open(root / "run.env", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Written by `make run` (scripts/local_infra.py) at each start.\n"
                  + "".join(f"{name}={value}\n" for name, value in chosen.items()))
    (root / "run.env").chmod(0o600)
    if "SMTP_HOST" not in env:
        base = env.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{env.get('GATEWAY_PORT', '8080')}")
        print(f"Mail: caught on 127.0.0.1:{mail_port}, shown at {base}/dev/mail")
    return 0


if __name__ == "__main__":
    sys.exit(main())

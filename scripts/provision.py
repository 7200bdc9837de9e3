"""Least privilege between the services: each gets a Postgres role that owns its database and nothing
else, and a RabbitMQ user that may configure, bind and consume only its own queues and publish only its
own events (docs/security.md). Idempotent: run it at every start; passwords are (re)set each time, so a
rotation is a new password in the credentials and one more run.

As a library (`make run` through scripts/local_infra.py, `make cluster` through scripts/cluster.py):

    from scripts import provision
    passwords = provision.load_passwords(Path(".local/credentials.env"))     # made once, mode 0600
    env = provision.provision_postgres("postgresql://postgres@127.0.0.1:5432/postgres", passwords)
    #   -> {"LEDGER_DATABASE_URL": "postgresql://sms_ledger:…@127.0.0.1:5432/ledger", …} (six services)
    env |= provision.provision_rabbitmq("127.0.0.1:5672", provision.Rabbitmqctl(), passwords)
    #   -> {"LEDGER_BROKER_URL": "amqp://sms_ledger:…@127.0.0.1:5672/sms-credits", …}; the vhost and users
    admin = provision.admin_broker_url("127.0.0.1:5672", passwords)   # never given to a service
    await provision.declare_topology(admin, "sms-credits")   # every queue, before any service starts

As a command (nothing secret is printed; URLs go to a file of mode 0600):

    python -m scripts.provision postgres --admin-url postgresql://postgres@127.0.0.1:5432/postgres --write F
    python -m scripts.provision rabbitmq [--address 127.0.0.1:5672] [--node rabbit@host] --write F
    python -m scripts.provision topology     # BROKER_ADMIN_URL and EXCHANGE_NAME from the environment
                                             # (the same as `python -m common.topology`)
    python -m scripts.provision passwords --env-file .env    # adds the missing *_PASSWORD lines (compose)

Passwords are the variables `<SERVICE>_DB_PASSWORD`, `<SERVICE>_BROKER_PASSWORD` and
`BROKER_ADMIN_PASSWORD`: taken from the environment when set there (docker-compose, a secret store), else
from the credentials file, else generated and added to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from common.contracts.catalogue import CATALOGUE
from common.contracts.queues import TOPOLOGY, TRANSIENT_SUBSCRIBERS
from common.topology import dead_letter_exchange_of, declare_topology, filter_exchange_of, queue_name

__all__ = ["SERVICES", "Names", "Permissions", "Rabbitmqctl", "admin_broker_url", "broker_definitions",
           "broker_permissions", "declare_topology", "load_passwords", "provision_postgres", "provision_rabbitmq"]

SERVICES = ("gateway", "ledger", "billing", "reporting", "messaging", "webhooks")
ROOT = Path(__file__).resolve().parents[1]
HANDOVER_SQL = ROOT / "deploy" / "postgres" / "handover.sql"
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
ADMIN = "admin"
CREDENTIALS_HEADER = ("# Passwords of the services' own Postgres roles and RabbitMQ users (scripts/provision.py).\n"
                      "# Never commit this file. A new value here and one more `make run` rotates one.\n")
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class Names:
    """What is created, by name: the product's own, or a test's (every name of its run its own)."""

    prefix: str = "sms_"  # role and user names: sms_ledger, sms_admin
    vhost: str = "sms-credits"
    exchange: str = "sms-credits"  # EXCHANGE_NAME: the queues' names start with it
    database_prefix: str = ""  # database names: ledger (a test: lp1234_ledger)

    def user(self, service: str) -> str:
        return self._checked(f"{self.prefix}{service}")

    def database(self, service: str) -> str:
        return self._checked(f"{self.database_prefix}{service}")

    @staticmethod
    def _checked(name: str) -> str:
        # Names go into SQL identifiers and regular expressions: only what needs no quoting at all.
        if not _SAFE_NAME.match(name):
            raise ValueError(f"not a safe role or database name: {name!r}")
        return name


NAMES = Names()


def password_variables() -> tuple[str, ...]:
    return (*(f"{s.upper()}_DB_PASSWORD" for s in SERVICES), *(f"{s.upper()}_BROKER_PASSWORD" for s in SERVICES),
            "BROKER_ADMIN_PASSWORD")


def load_passwords(path: Path, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Every password: the environment's, else the file's, else a new one (added to the file, mode 0600)."""
    saved = _read_env_file(path) if path.exists() else {}
    missing = [name for name in password_variables() if not environ.get(name) and not saved.get(name)]
    if missing:
        saved.update({name: secrets.token_urlsafe(24) for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, CREDENTIALS_HEADER, saved)
    return {name: environ.get(name) or saved[name] for name in password_variables()}


def _read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def _write_private(path: Path, header: str, values: Mapping[str, str]) -> None:
    # Created with mode 0600 (not chmod-ed after), so the passwords are never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(header + "".join(f"{name}={value}\n" for name, value in values.items()))
    path.chmod(0o600)


# --- Postgres ---------------------------------------------------------------------------------------------

async def provision_postgres(
    admin_url: str, passwords: Mapping[str, str], names: Names = NAMES, services: Sequence[str] = SERVICES,
) -> dict[str, str]:
    """For each service a LOGIN role (no other attribute) with its password, and a database it owns that
    no other role may connect to; a database made earlier by another owner is handed over with its tables.
    Answers `<SERVICE>_DATABASE_URL` -> the service's URL (the admin URL's host, the role's password)."""
    admin = await asyncpg.connect(admin_url)
    try:
        # The passwords are in the statements: kept out of the server's log.
        await admin.execute("SET log_statement = 'none'; SET log_min_error_statement = 'panic'")
        for service in services:
            await _role_and_database(admin, names.user(service), names.database(service),
                                     passwords[f"{service.upper()}_DB_PASSWORD"])
    finally:
        await admin.close()
    for service in services:
        await _hand_over(_with_database(admin_url, names.database(service)), names.user(service))
    return {f"{s.upper()}_DATABASE_URL": database_url(admin_url, names.user(s), passwords[f"{s.upper()}_DB_PASSWORD"],
                                                      names.database(s)) for s in services}


async def _role_and_database(admin: asyncpg.Connection, role: str, database: str, password: str) -> None:
    if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
        await admin.execute(f'CREATE ROLE "{role}"')
    # Every time: a role made by hand keeps no attribute it should not have, and the password rotates.
    statement = await admin.fetchval(
        "SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        "PASSWORD %L', $1::text, $2::text)", role, password)
    await admin.execute(statement)
    owner = await admin.fetchval(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", database)
    if owner is None:
        await admin.execute(f'CREATE DATABASE "{database}" OWNER "{role}"')
    elif owner != role:
        await admin.execute(f'ALTER DATABASE "{database}" OWNER TO "{role}"')
    # No CONNECT (nor TEMP) for PUBLIC: another service's role cannot even open a session in it.
    await admin.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')


async def _hand_over(admin_database_url: str, role: str) -> None:
    """Tables, sequences, types, functions and schemas made in the database by another role (its
    migrations run as the superuser, before roles existed) become the role's (deploy/postgres/handover.sql)."""
    conn = await asyncpg.connect(admin_database_url)
    try:
        await conn.execute("SELECT set_config('sms_credits.owner', $1, false)", role)
        await conn.execute(HANDOVER_SQL.read_text())
    finally:
        await conn.close()


async def remove_postgres(admin_url: str, names: Names, services: Sequence[str] = SERVICES) -> None:
    """Drop the databases and the roles: a test's clean-up."""
    admin = await asyncpg.connect(admin_url)
    try:
        for service in services:
            await admin.execute(f'DROP DATABASE IF EXISTS "{names.database(service)}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{names.user(service)}"')
    finally:
        await admin.close()


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def database_url(admin_url: str, role: str, password: str, database: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    address = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{quote(role, safe='')}:{quote(password, safe='')}@{address}{port}",
                                     path=f"/{database}"))


# --- RabbitMQ ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Permissions:
    """A RabbitMQ user's permissions in the vhost (regular expressions over resource names) and its topic
    permission on the event exchange (over routing keys)."""

    configure: str
    write: str
    read: str
    publishes: str  # the routing keys it may publish to the event exchange


def _literal(name: str) -> str:
    # Resource names here are letters, digits, `-`, `_` and `.`; only the dot means something in a pattern.
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ValueError(f"not a plain resource name: {name!r}")
    return name.replace(".", r"\.")


def _exactly(names: Sequence[str]) -> str:
    """A regular expression matching exactly these names: `^(?:a|b)$`, never one of them as a prefix."""
    return "^(?:" + "|".join(_literal(n) for n in sorted(names)) + ")$" if names else "^$"


def broker_permissions(service: str, exchange: str) -> Permissions:
    """The service's own queues (with their dead-letter queues and filter exchanges) to declare, bind and
    consume; the event exchange to bind from and publish its own events to; the dead-letter exchange to
    route its queues' refused messages to. The shared exchanges are declared by the admin only."""
    queues = [queue_name(exchange, spec.name) for spec in TOPOLOGY if spec.service == service]
    filters = [filter_exchange_of(queue_name(exchange, spec.name))
               for spec in TOPOLOGY if spec.service == service and spec.header_filters]
    own = [*queues, *(f"{q}.dlq" for q in queues), *filters]
    configure = _exactly(own)
    if service in TRANSIENT_SUBSCRIBERS:
        # Exclusive, auto-delete queues of one process (Broker.subscribe_transient), named when made.
        transient = rf"^{_literal(exchange)}\.transient\.[a-z][a-z0-9-]*\.[0-9a-f]{{32}}$"
        configure = f"{configure}|{transient}"
        own_and_transient = f"{_exactly(own)}|{transient}"
    else:
        own_and_transient = configure
    events, dead_letters = exchange, dead_letter_exchange_of(exchange)
    publisher = {spec.publisher for spec in CATALOGUE.values()}
    return Permissions(
        configure=configure,
        write=f"{own_and_transient}|{_exactly([events, dead_letters])}",
        read=f"{own_and_transient}|{_exactly([events])}",
        publishes=rf"^{_literal(service)}\." if service in publisher else "^$",
    )


def broker_definitions(passwords: Mapping[str, str], names: Names = NAMES,
                       services: Sequence[str] = SERVICES) -> dict[str, object]:
    """RabbitMQ definitions (`rabbitmqctl import_definitions`, docker-compose's `load_definitions`): the
    vhost, a user per service with its permissions, and the admin that declares the topology."""
    users = [{"name": names.user(s), "password": passwords[f"{s.upper()}_BROKER_PASSWORD"], "tags": ""}
             for s in services]
    # The operator's account (the management UI too); no service is given it.
    users.append({"name": names.user(ADMIN), "password": passwords["BROKER_ADMIN_PASSWORD"], "tags": "administrator"})
    permissions: list[dict[str, str]] = [{"user": names.user(ADMIN), "vhost": names.vhost,
                                          "configure": ".*", "write": ".*", "read": ".*"}]
    topic_permissions = []
    for service in services:
        allowed = broker_permissions(service, names.exchange)
        permissions.append({"user": names.user(service), "vhost": names.vhost, "configure": allowed.configure,
                            "write": allowed.write, "read": allowed.read})
        topic_permissions.append({"user": names.user(service), "vhost": names.vhost, "exchange": names.exchange,
                                  "write": allowed.publishes, "read": ".*"})
    return {"vhosts": [{"name": names.vhost}], "users": users, "permissions": permissions,
            "topic_permissions": topic_permissions}


@dataclass(frozen=True)
class Rabbitmqctl:
    """How to reach the node: the system's (`rabbitmqctl` as root) or this checkout's own under .local/
    (its node name and scripts.local_servers.rabbit_node_env)."""

    command: tuple[str, ...] = ("rabbitmqctl",)
    env: Mapping[str, str] | None = field(default=None)

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([*self.command, *args], input=stdin, capture_output=True, text=True,  # noqa: S603
                              timeout=120, check=False, env=dict(self.env) if self.env is not None else None)
        if done.returncode != 0:
            # stderr only: rabbitmqctl never echoes what it read from stdin (the passwords).
            raise RuntimeError(f"rabbitmqctl {args[0]} failed: {done.stderr.strip()[-500:]}")
        return done.stdout


def provision_rabbitmq(address: str, ctl: Rabbitmqctl, passwords: Mapping[str, str], names: Names = NAMES,
                       services: Sequence[str] = SERVICES) -> dict[str, str]:
    """The vhost and the users (one import of definitions, passwords on stdin, never on a command line);
    answers `<SERVICE>_BROKER_URL` -> the service's URL on `address` (host:port)."""
    ctl.run("import_definitions", "--format", "json", stdin=json.dumps(broker_definitions(passwords, names, services)))
    expected = {names.user(s) for s in services} | {names.user(ADMIN)}
    # The import is asynchronous: done once every user holds its permissions in the vhost.
    deadline = time.monotonic() + 30
    while not expected <= _users_with_permissions(ctl, names.vhost):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the users' permissions in {names.vhost} did not appear")
        time.sleep(0.3)
    return {f"{s.upper()}_BROKER_URL": broker_url(address, names.user(s), passwords[f"{s.upper()}_BROKER_PASSWORD"],
                                                  names.vhost) for s in services}


def _users_with_permissions(ctl: Rabbitmqctl, vhost: str) -> set[str]:
    try:
        listed = ctl.run("list_permissions", "-q", "-p", vhost, "--formatter", "json")
    except RuntimeError:
        return set()  # the vhost itself is not there yet
    return {row["user"] for row in json.loads(listed or "[]")}


def broker_url(address: str, user: str, password: str, vhost: str) -> str:
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{address}/{quote(vhost, safe='')}"


def admin_broker_url(address: str, passwords: Mapping[str, str], names: Names = NAMES) -> str:
    """The admin's URL: for the topology step and an operator's tools, never in a service's environment."""
    return broker_url(address, names.user(ADMIN), passwords["BROKER_ADMIN_PASSWORD"], names.vhost)


def remove_rabbitmq(ctl: Rabbitmqctl, names: Names, services: Sequence[str] = SERVICES) -> None:
    """Delete the vhost (its queues and exchanges with it) and the users: a test's clean-up."""
    def delete(*args: str) -> None:
        with contextlib.suppress(RuntimeError):
            ctl.run(*args)

    # At once: each rabbitmqctl is a second of starting the Erlang VM.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda args: delete(*args), [("delete_vhost", names.vhost),
                                                   *(("delete_user", names.user(s)) for s in [*services, ADMIN])]))


# --- the command ------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.provision", description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=Path, default=Path(".local/credentials.env"))
    commands = parser.add_subparsers(dest="command", required=True)
    postgres = commands.add_parser("postgres", help="roles and databases")
    postgres.add_argument("--admin-url", default=os.environ.get("POSTGRES_ADMIN_URL"))
    postgres.add_argument("--write", type=Path, help="the services' URLs into this file (mode 0600)")
    rabbit = commands.add_parser("rabbitmq", help="the vhost and the users")
    rabbit.add_argument("--address", default="127.0.0.1:5672")
    rabbit.add_argument("--node", help="rabbitmqctl's -n (default: the machine's node)")
    rabbit.add_argument("--write", type=Path)
    commands.add_parser("topology", help="every exchange, queue and binding (BROKER_ADMIN_URL, EXCHANGE_NAME)")
    passwords = commands.add_parser("passwords", help="add the missing *_PASSWORD variables to an env file")
    passwords.add_argument("--env-file", type=Path, default=Path(".env"))
    commands.add_parser("definitions", help=f"write {DEFINITIONS.relative_to(ROOT)} (docker-compose)")
    return parser


def compose_definitions() -> str:
    """docker-compose's definitions: each password a `${VARIABLE}` that deploy/rabbitmq/start.sh fills in."""
    placeholders = {name: "${" + name + "}" for name in password_variables()}
    return json.dumps(broker_definitions(placeholders), indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "definitions":
        DEFINITIONS.write_text(compose_definitions())
        return 0
    if args.command == "topology":
        asyncio.run(declare_topology(os.environ["BROKER_ADMIN_URL"], os.environ.get("EXCHANGE_NAME", NAMES.exchange)))
        print("RabbitMQ: topology declared", file=sys.stderr)
        return 0
    if args.command == "passwords":
        present = _read_env_file(args.env_file) if args.env_file.exists() else {}
        added = {name: secrets.token_urlsafe(24) for name in (*password_variables(), "POSTGRES_ADMIN_PASSWORD")
                 if name not in present}
        with args.env_file.open("a") as out:
            out.write("".join(f"{name}={value}\n" for name, value in added.items()))
        args.env_file.chmod(0o600)
        print(f"{args.env_file}: added {len(added)} passwords", file=sys.stderr)
        return 0
    passwords = load_passwords(args.credentials)
    if args.command == "postgres":
        if not args.admin_url:
            sys.stderr.write("postgres: give --admin-url or POSTGRES_ADMIN_URL (a superuser's URL)\n")
            return 2
        urls = asyncio.run(provision_postgres(args.admin_url, passwords))
    else:
        ctl = Rabbitmqctl(("rabbitmqctl", "-n", args.node) if args.node else ("rabbitmqctl",))
        urls = provision_rabbitmq(args.address, ctl, passwords)
    if args.write:
        _write_private(args.write, "# Written by scripts/provision.py.\n", urls)
    print(f"{args.command}: {len(urls)} services provisioned: {', '.join(sorted(urls))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

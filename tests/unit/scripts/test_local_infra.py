"""`make run`'s choice of servers (scripts/local_infra.py), from fake probes: the machine's own servers
are never touched here."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.local_infra import Machine, Step, decide, settings_for_run

NOTHING = Machine(usual_answers=False, project_answers=False, project_exists=False, system_installed=False,
                  binaries=False, root=False)


def machine(**found: bool) -> Machine:
    return Machine(**{**NOTHING.__dict__, **found})


@pytest.mark.parametrize(("found", "step"), [
    # A running server is used whatever else is there.
    ({"usual_answers": True, "project_answers": True, "root": True}, Step.USE_USUAL),
    ({"project_answers": True, "project_exists": True, "system_installed": True, "root": True}, Step.USE_PROJECT),
    # This checkout's own server, made on an earlier run, holds the demo data: it is started again.
    ({"project_exists": True, "binaries": True, "system_installed": True, "root": True}, Step.START_PROJECT),
    # A stopped system server is started, as .ci/run does, when we may.
    ({"system_installed": True, "binaries": True, "root": True}, Step.START_SYSTEM),
    # Without root the system server cannot be started: a server of our own, from the installed programs.
    ({"system_installed": True, "binaries": True}, Step.CREATE_PROJECT),
    ({"binaries": True, "root": True}, Step.CREATE_PROJECT),
    ({"root": True}, Step.INSTALL),
    ({}, Step.GIVE_UP),
])
def test_the_first_step(found: dict[str, bool], step: Step) -> None:
    assert decide(machine(**found)) is step


def test_a_step_that_did_not_bring_a_server_up_gives_way_to_the_next() -> None:
    stopped_system = machine(system_installed=True, binaries=True, root=True)
    assert decide(stopped_system, frozenset({Step.START_SYSTEM})) is Step.CREATE_PROJECT
    assert decide(stopped_system, frozenset({Step.START_SYSTEM, Step.CREATE_PROJECT})) is Step.GIVE_UP
    # Once installed, the packages' own server is started (Debian's package creates a cluster).
    installed = machine(system_installed=True, binaries=True, root=True)
    assert decide(installed, frozenset({Step.INSTALL})) is Step.START_SYSTEM
    # An install that failed is not tried again.
    assert decide(machine(root=True), frozenset({Step.INSTALL})) is Step.GIVE_UP


def test_the_run_settings_point_at_what_was_used_and_catch_mail() -> None:
    chosen = settings_for_run({}, "postgresql://postgres@127.0.0.1:5433", "amqp://guest:guest@127.0.0.1:5673/",
                              Path("/x/.local/mail"), 1025)
    assert chosen["LEDGER_DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5433/ledger"
    assert chosen["GATEWAY_DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5433/gateway"
    assert chosen["BROKER_URL"] == "amqp://guest:guest@127.0.0.1:5673/"
    assert (chosen["SMTP_HOST"], chosen["SMTP_PORT"], chosen["SMTP_SECURITY"]) == ("127.0.0.1", "1025", "none")
    assert (chosen["DEV_MAIL_DIR"], chosen["MAILCATCHER_PORT"]) == ("/x/.local/mail", "1025")


def test_what_env_or_the_shell_set_wins() -> None:
    environ = {"SMTP_HOST": "smtp.example.com", "SMTP_PORT": "587", "LEDGER_DATABASE_URL": "postgresql://db/l"}
    chosen = settings_for_run(environ, None, None, Path("/m"), 2525)
    assert "SMTP_HOST" not in chosen and "SMTP_PORT" not in chosen and "SMTP_SECURITY" not in chosen
    assert "LEDGER_DATABASE_URL" not in chosen and "BROKER_URL" not in chosen
    assert chosen["DEV_MAIL_DIR"] == "/m"

"""The pair's server settings, worked out before any server runs: what each start passes to Postgres."""

from __future__ import annotations

import shlex
from pathlib import Path

from scripts.pg_replica import REPLICA_NAME, PostgresPair


def test_the_replica_streams_from_the_primarys_port_with_the_apply_delay_given() -> None:
    pair = PostgresPair(Path("/srv/pair"), primary_port=6001, replica_port=6002, apply_delay_seconds=1.5)

    assert pair.primary.settings["wal_level"] == "replica"
    assert pair.replica.settings["hot_standby"] == "on"
    assert pair.replica.settings["recovery_min_apply_delay"] == "1500ms"
    conninfo = dict(part.split("=") for part in pair.replica.settings["primary_conninfo"].split())
    assert conninfo == {"host": "127.0.0.1", "port": "6001", "user": "postgres", "application_name": REPLICA_NAME}


def test_folders_ports_and_urls_are_the_pairs_own() -> None:
    pair = PostgresPair(Path("/srv/pair"), primary_port=6001, replica_port=6002)

    assert (pair.primary.data, pair.replica.data) == (Path("/srv/pair/primary/pgdata"),
                                                      Path("/srv/pair/replica/pgdata"))
    assert pair.primary_url("reporting") == "postgresql://postgres@127.0.0.1:6001/reporting"
    assert pair.replica_url("reporting") == "postgresql://postgres@127.0.0.1:6002/reporting"
    assert pair.replica.settings["recovery_min_apply_delay"] == "0ms"


def test_a_durable_pair_keeps_fsync_and_a_throwaway_one_turns_it_off() -> None:
    assert "fsync" not in PostgresPair(Path("/a"), 1, 2).primary.settings
    assert PostgresPair(Path("/a"), 1, 2, durable=False).replica.settings["fsync"] == "off"


def test_a_setting_with_spaces_stays_one_argument_through_pg_ctls_shell() -> None:
    pair = PostgresPair(Path("/srv/pair"), primary_port=6001, replica_port=6002)

    words = shlex.split(pair.replica.options())

    assert f"primary_conninfo={pair.replica.settings['primary_conninfo']}" in words
    assert "port=6002" in words and "unix_socket_directories=/srv/pair/replica" in words

"""The pieces `make run` starts on its own: a project-local Postgres and RabbitMQ (created, started and
stopped here in a temporary folder on a free port) and the mail catcher, given a real email over SMTP."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import aiosmtplib
import asyncpg
import pytest

from common.contracts import mailbox
from fakes.mailcatcher.catcher import serve
from scripts.local_infra import Server, Step
from scripts.local_servers import ProjectPostgres, ProjectRabbit, postgres_bin, rabbit_bin
from tests.support import free_port


def _unstartable(name: str, project: ProjectPostgres | ProjectRabbit) -> Server:
    """A server whose usual port answers nothing and whose system server cannot be started (as on a machine
    where we are not root): `make run` must fall back to one of the checkout's own."""
    return Server(name=name, usual_port=free_port(), project=project, system_installed=lambda: True,
                  binaries=lambda: True, start_system=lambda: False, package="x", project_label=f".local/{name}")


@pytest.mark.parametrize("kind", ["postgres", "rabbitmq"])
async def test_with_no_server_answering_make_run_starts_its_own_and_finds_it_again(kind: str) -> None:
    if (postgres_bin() if kind == "postgres" else rabbit_bin("rabbitmq-server")) is None:
        pytest.skip(f"the {kind} server is not installed")
    root = Path(tempfile.mkdtemp(prefix=f"h5-{kind}-"))
    (root / "port").write_text(str(free_port()))
    project = ProjectPostgres(root) if kind == "postgres" else ProjectRabbit(root)
    server = _unstartable(kind, project)
    try:
        step, line = await asyncio.to_thread(server.bring_up)
        assert step is Step.USE_PROJECT
        assert line == f"{kind}: project server .local/{kind} on :{project.port} (started)"
        step, line = await asyncio.to_thread(server.bring_up)
        assert (step, line.endswith("(was running)")) == (Step.USE_PROJECT, True)
        if isinstance(project, ProjectPostgres):
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{project.port}/postgres")
            try:
                assert await conn.fetchval("SELECT 1 + 1") == 2
            finally:
                await conn.close()
    finally:
        await asyncio.to_thread(project.stop)
        shutil.rmtree(root, ignore_errors=True)
    assert not project.answers()


async def test_the_mail_catcher_keeps_what_it_is_sent_with_its_attachment(tmp_path: Path) -> None:
    port = free_port()
    server = await serve(tmp_path, "127.0.0.1", port)
    try:
        message = EmailMessage()
        message["From"] = "SMS Credits <no-reply@sms-credits.example>"
        message["To"] = "ava@acme.test"
        message["Subject"] = "Your tax invoice INV-000042"
        message.set_content("Hello Ava,\n\nYour invoice is attached.")
        message.add_attachment(b"%PDF-1.7 fake", maintype="application", subtype="pdf", filename="INV-000042.pdf")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port, start_tls=False, use_tls=False)
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port, start_tls=False, use_tls=False)
    finally:
        server.close()
        await server.wait_closed()

    names = mailbox.names(tmp_path)
    assert len(names) == 2 and names == sorted(names, reverse=True)
    assert abs((datetime.now(UTC) - mailbox.caught_at(names[0])).total_seconds()) < 60
    raw = mailbox.read(tmp_path, names[0])
    assert raw is not None
    caught = BytesParser(policy=default).parsebytes(raw)
    assert caught["Subject"] == "Your tax invoice INV-000042" and caught["To"] == "ava@acme.test"
    [attachment] = list(caught.iter_attachments())
    assert attachment.get_filename() == "INV-000042.pdf"
    assert attachment.get_payload(decode=True) == b"%PDF-1.7 fake"
    # Only the catcher's own files are read: no other name, no way out of the folder.
    (tmp_path / "notes.txt").write_text("x")
    assert mailbox.read(tmp_path, "notes.txt") is None
    assert mailbox.read(tmp_path, "../" + names[0]) is None
    assert "notes.txt" not in mailbox.names(tmp_path)

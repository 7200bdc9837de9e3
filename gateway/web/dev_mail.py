"""/dev/mail: the emails `make run`'s mail catcher caught (fakes/mailcatcher), for whoever runs the system
on their own machine: invitations with their set-password links, tax invoices with their PDFs.

Development only. The routes exist only when DEV_MAIL_DIR names the catcher's folder (`make run` sets it;
nothing else does, so production has no such page), and they answer only requests from this machine
(the peer's own address, never a forwarded one): an invitation's link is a password-setting capability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import cast

from aiohttp import web
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.contracts import mailbox
from common.problems import Forbidden, NotFound
from gateway.web.pages import render

_LOOPBACK = ("127.0.0.1", "::1")
_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "[::1]", "localhost")
_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
_URL = re.compile(r"(https?://[^\s<>\"]+)")
_PARSER = BytesParser(policy=policy.default)


class DevMailSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="SMS_CREDITS_FIELD_")

    # The mail catcher's folder; unset (the default) means no /dev/mail at all.
    dev_mail_dir: Path | None = Field(default=None, validation_alias="DEV_MAIL_DIR")


class NoSuchEmail(NotFound):
    pass


class LocalOnly(Forbidden):
    pass


@dataclass(frozen=True)
class Attachment:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Email:
    name: str
    subject: str
    sender: str
    recipients: str
    caught: str  # when the catcher took it, UTC
    date: str  # the Date header, when the sender set one
    paragraphs: list[list[list[tuple[str, bool]]]]  # paragraphs of lines of (text, is a link) pieces
    attachments: list[Attachment]


def routes(folder: Path | None = None) -> list[web.AbstractRouteDef]:
    """The page's routes when DEV_MAIL_DIR (or `folder`) is set; none otherwise."""
    folder = folder or DevMailSettings().dev_mail_dir
    if folder is None:
        return []
    mail_folder = folder.resolve()
    def parsed(name: str) -> EmailMessage:
        raw = mailbox.read(mail_folder, name)
        if raw is None:
            raise NoSuchEmail("No such email: it was never caught, or its file was removed.")
        return cast(EmailMessage, _PARSER.parsebytes(raw))

    def shown(name: str) -> Email:
        return summary(name, parsed(name), f"{mailbox.caught_at(name):%Y-%m-%d %H:%M:%S} UTC")

    async def listing(request: web.Request) -> web.Response:
        _local_only(request)
        emails = [shown(name) for name in mailbox.names(mail_folder)]
        return _no_store(render("dev_mail.html", emails=emails, email=None))

    async def one(request: web.Request) -> web.Response:
        _local_only(request)
        return _no_store(render("dev_mail.html", emails=[], email=shown(request.match_info["name"])))

    async def attachment(request: web.Request) -> web.Response:
        _local_only(request)
        parts = list(parsed(request.match_info["name"]).iter_attachments())
        index = request.match_info["index"]
        if not index.isdigit() or int(index) >= len(parts):
            raise NoSuchEmail("The email has no such attachment.")
        part = cast(EmailMessage, parts[int(index)])
        body = part.get_payload(decode=True)
        filename = _safe_filename(part.get_filename(), int(index))
        return _no_store(web.Response(body=body if isinstance(body, bytes) else b"",
                                      content_type=part.get_content_type(),
                                      headers={"Content-Disposition": f'attachment; filename="{filename}"'}))

    return [
        web.get("/dev/mail", listing),
        web.get("/dev/mail/{name}", one),
        web.get("/dev/mail/{name}/attachments/{index}", attachment),
    ]


def _local_only(request: web.Request) -> None:
    """From this machine, to this machine: the peer is a loopback address, no proxy says it forwarded the
    request, and the Host is a loopback name (a page from elsewhere that rebinds its own name to
    127.0.0.1 sends its own name as Host)."""
    forwarded = any(header in request.headers for header in _PROXY_HEADERS)
    if request.remote not in _LOOPBACK or forwarded or request.url.host not in _LOOPBACK_HOSTS:
        raise LocalOnly("The caught emails are shown only to a browser on the machine that runs the system.")


def _no_store(response: web.Response) -> web.Response:
    response.headers["Cache-Control"] = "no-store"  # links in these emails set passwords
    return response


def summary(name: str, message: EmailMessage, caught: str) -> Email:
    """What the page shows of one message: headers, its plain text as paragraphs, its attachments."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else "(no plain-text part)"
    attachments = [
        Attachment(i, _safe_filename(part.get_filename(), i), part.get_content_type(),
                   len(part.get_payload(decode=True) or b""))
        for i, part in enumerate(message.iter_attachments())
    ]
    return Email(name=name, subject=str(message.get("Subject", "(no subject)")), sender=str(message.get("From", "")),
                 recipients=str(message.get("To", "")), caught=caught, date=str(message.get("Date", "")),
                 paragraphs=_paragraphs(str(text)), attachments=attachments)


def _paragraphs(text: str) -> list[list[list[tuple[str, bool]]]]:
    """The text as paragraphs of lines, each line split into plain text and links (made clickable, as a
    mail reader would: the invitation's link is what a developer came for)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [[(piece, bool(_URL.fullmatch(piece))) for piece in _URL.split(line) if piece]
                 for line in block.splitlines()]
        paragraphs.append(lines)
    return paragraphs


def _safe_filename(filename: str | None, index: int) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", filename or "")[:100].strip("._")
    return cleaned or f"attachment-{index + 1}"

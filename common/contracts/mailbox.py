"""The caught-mail folder, a contract between the mail catcher that writes it (fakes/mailcatcher) and the
gateway's /dev/mail page that reads it: one file per message, the message exactly as it came over SMTP
(RFC 5322, `.eml`), named `<UTC time>-<random>.eml` so that names sort oldest first. Each file is written
under a temporary name and renamed, so a reader never sees half a message."""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".eml"
# What a stored message's name looks like; anything else in the folder is not ours and is never served.
NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{12}\.eml$")


def store(folder: Path, message: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(6)}{SUFFIX}"
    partial = folder / f".{name}.partial"
    partial.write_bytes(message)
    os.replace(partial, folder / name)
    return folder / name


def names(folder: Path) -> list[str]:
    """The stored messages' names, newest first."""
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if NAME.match(p.name)), reverse=True)


def caught_at(name: str) -> datetime:
    """When the message was caught, from its name (a message need not carry a Date header)."""
    return datetime.strptime(name.split("-", 1)[0], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)


def read(folder: Path, name: str) -> bytes | None:
    """One stored message, or None when the name is not one of ours (never a path outside the folder)."""
    if not NAME.match(name):
        return None
    path = folder / name
    return path.read_bytes() if path.is_file() else None

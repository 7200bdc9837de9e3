"""Searching logs for what must never be in them: the secrets a run handed out, plus anything shaped
like an access token, a password hash or a test card number, whoever it belonged to."""

from __future__ import annotations

import re
from pathlib import Path

CARD_NUMBERS = ("4242424242424242", "4000000000000002", "4000000000009995", "4000000000000341", "4000000000005126")
SHAPES = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"),
    "an argon2 password hash": re.compile(r"\$argon2(id|i|d)\$"),
    "a bearer credential": re.compile(r"Bearer [A-Za-z0-9_.-]{16,}"),
    "a card number": re.compile("|".join([*CARD_NUMBERS, *(" ".join(c[i:i + 4] for i in range(0, 16, 4))
                                                           for c in CARD_NUMBERS)])),
}


def leaks(paths: list[Path], secrets: dict[str, str]) -> list[str]:
    """'<what> in <file>, line <n>' for every secret or secret-shaped string found."""
    found = []
    for path in paths:
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            found += [f"{what} in {path.name}, line {number}" for what, value in secrets.items()
                      if value and value in line]
            found += [f"{what} in {path.name}, line {number}" for what, shape in SHAPES.items()
                      if shape.search(line)]
    return found

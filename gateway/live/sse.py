"""The Server-Sent Events wire format (the WHATWG HTML standard, "server-sent events"): each message an
`id:`, an `event:` and one `data:` line of JSON (JSON has no raw newline, so one line always suffices)."""

from __future__ import annotations

import json
from typing import Any

# How long a client waits before reconnecting after the stream ends, in milliseconds.
RETRY_MS = 3000
# A comment line every so often keeps proxies from closing an idle connection and lets a client notice a
# dead one.
HEARTBEAT_SECONDS = 15.0
PING = b": ping\n\n"


def message(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"event: {event}", "data: " + json.dumps(data, separators=(",", ":"))]
    return ("\n".join(lines) + "\n\n").encode()


def opening(retry_ms: int = RETRY_MS) -> bytes:
    return f"retry: {retry_ms}\n: stream open\n\n".encode()

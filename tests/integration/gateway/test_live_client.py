"""The web app's stream reader (gateway/static/app/live.js, run by Node with the app's own api.js) against a
real HTTP server on 127.0.0.1 playing the gateway: it stops for good on a 403 (the stream is not for this
caller) and on a 401 that a renewed token does not cure, and it always pauses a little before reconnecting,
after a renewal or a stream the server ended, instead of coming straight back."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

APP = Path(__file__).resolve().parents[3] / "gateway" / "static" / "app"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js")
# How the fake gateway answers the n-th stream request: an answer, or for how many seconds to stream.
Answer = Callable[[web.Request, int], web.StreamResponse | float]

# A page's globals, as far as live.js and api.js use them; fetch is Node's own, sent to the test server.
HARNESS = """
const [base, runMs] = [process.argv[2], Number(process.argv[3])];
const storage = () => {
  const items = new Map();
  return { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)),
           removeItem: (k) => items.delete(k) };
};
globalThis.localStorage = storage();
globalThis.sessionStorage = storage();
globalThis.window = { addEventListener() {} };
globalThis.document = { documentElement: { dataset: {} } };
Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true });
const nodeFetch = globalThis.fetch;
globalThis.fetch = (path, init) => nodeFetch(new URL(path, base), init);
localStorage.setItem("smsCredits.accessToken", "first");
localStorage.setItem("smsCredits.accessTokenExpiresAt", String(Date.now() + 3_600_000));
localStorage.setItem("smsCredits.refreshToken", "refresh-1");
const { startLive, stopLive } = await import("./live.js");
startLive();
await new Promise((resolve) => { setTimeout(resolve, runMs); });
stopLive();
"""


class FakeGateway:
    """Answers GET /api/v1/stream as told, and notes every request (when, with which token) and when
    each stream it served ended."""

    def __init__(self, stream: Answer) -> None:
        self.stream = stream
        self.streams: list[tuple[float, str]] = []
        self.stream_ends: list[float] = []
        self.refreshes: list[float] = []

    async def on_stream(self, request: web.Request) -> web.StreamResponse:
        self.streams.append((time.monotonic(), request.headers.get("Authorization", "")))
        answer = self.stream(request, len(self.streams))
        if isinstance(answer, web.StreamResponse):
            return answer
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"retry: 3000\n: stream open\n\n")
        await asyncio.sleep(answer)
        await response.write(b'event: token_expired\ndata: {"reason":"Reconnect with a fresh access token."}\n\n')
        await response.write_eof()
        self.stream_ends.append(time.monotonic())
        return response

    async def on_refresh(self, request: web.Request) -> web.Response:
        self.refreshes.append(time.monotonic())
        return web.json_response({"access_token": f"renewed-{len(self.refreshes)}", "expires_in": 3600,
                                  "refresh_token": f"refresh-{len(self.refreshes) + 1}"})


RunLive = Callable[["FakeGateway", float], Awaitable[None]]


@pytest.fixture
async def run_live(tmp_path: Path) -> AsyncIterator[RunLive]:
    for name in ("live.js", "api.js"):
        shutil.copy(APP / name, tmp_path / name)
    (tmp_path / "package.json").write_text(json.dumps({"type": "module"}))
    (tmp_path / "harness.js").write_text(HARNESS)
    servers: list[TestServer] = []

    async def run(gateway: FakeGateway, seconds: float) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/stream", gateway.on_stream)
        app.router.add_post("/api/v1/auth/refresh", gateway.on_refresh)
        server = TestServer(app, host="127.0.0.1")
        servers.append(server)
        await server.start_server()
        assert NODE is not None
        node = await asyncio.create_subprocess_exec(NODE, "harness.js", str(server.make_url("/")),
                                                    str(int(seconds * 1000)), cwd=tmp_path,
                                                    stderr=asyncio.subprocess.PIPE)
        _, errors = await asyncio.wait_for(node.communicate(), seconds + 20)
        assert node.returncode == 0, errors.decode()

    yield run
    for server in servers:
        await server.close()


def _problem(status: int) -> Answer:
    return lambda request, n: web.json_response({"type": "about:blank", "title": "no"}, status=status)


async def test_a_caller_who_may_not_stream_is_asked_once(run_live: RunLive):
    gateway = FakeGateway(_problem(403))
    await run_live(gateway, 3.5)
    assert len(gateway.streams) == 1 and gateway.refreshes == []


async def test_a_401_that_a_renewed_token_does_not_cure_stops_the_stream_after_a_pause(
        run_live: RunLive):
    gateway = FakeGateway(_problem(401))
    await run_live(gateway, 3.0)
    assert [token for _, token in gateway.streams] == ["Bearer first", "Bearer renewed-1"]
    assert len(gateway.refreshes) == 1
    assert gateway.streams[1][0] - gateway.refreshes[0] >= 0.2  # not straight back after renewing


async def test_a_stream_the_server_ended_is_reopened_after_a_short_pause_not_at_once(
        run_live: RunLive):
    gateway = FakeGateway(lambda request, n: 2.1)  # each stream lasts 2.1 s, then the server ends it
    await run_live(gateway, 5.5)
    assert len(gateway.streams) >= 2 and gateway.stream_ends
    assert 0.2 <= gateway.streams[1][0] - gateway.stream_ends[0] <= 1.5

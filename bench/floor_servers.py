"""The HTTP part of the design's shape with none of the product's work: a skeleton gateway and a skeleton
ledger, each an aiohttp process on uvloop as the real ones are. The gateway checks nothing (no token, no
idempotency key, no rate limit) and passes the body's bytes on over a kept-alive connection; the ledger
parses the JSON, serialises the event a transfer would write and answers JSON, without a database (the
SQL's own cost is pgbench's, measured beside it). `bench/benchmarks/floor.py` measures them.

    python -m bench.floor_servers ledger PORT
    python -m bench.floor_servers gateway PORT LEDGER_URL
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator

import aiohttp
import orjson
import uvloop
from aiohttp import web

UPSTREAM = web.AppKey("upstream", aiohttp.ClientSession)
UPSTREAM_URL = web.AppKey("upstream_url", str)
JSON = "application/json"


async def transfer(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    source, target = uuid.UUID(body["from_account"]), uuid.UUID(body["to_account"])
    quantity, tenant = int(body["quantity"]), uuid.UUID(body["tenant_id"])
    transaction_id = uuid.uuid4()
    # The event a transfer writes to the outbox, serialised as the ledger would (and then dropped).
    orjson.dumps({"id": str(uuid.uuid4()), "type": "ledger.transaction.posted", "data": {
        "transaction_id": str(transaction_id), "tenant_id": str(tenant),
        "postings": [{"account_id": str(source), "amount": -quantity}, {"account_id": str(target), "amount": quantity}],
    }})
    answer = {"transaction_id": str(transaction_id), "from_balance": 0}
    return web.Response(status=201, body=orjson.dumps(answer), content_type=JSON)


async def forward(request: web.Request) -> web.Response:
    async with request.app[UPSTREAM].post(request.app[UPSTREAM_URL], data=await request.read(),
                                          headers={"Content-Type": JSON}) as answer:
        return web.Response(status=answer.status, body=await answer.read(), content_type=JSON)


def ledger() -> web.Application:
    app = web.Application()
    app.router.add_post("/transfer", transfer)
    return app


def gateway(ledger_url: str) -> web.Application:
    app = web.Application()
    app[UPSTREAM_URL] = ledger_url

    async def session(app: web.Application) -> AsyncIterator[None]:
        app[UPSTREAM] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        yield
        await app[UPSTREAM].close()

    app.cleanup_ctx.append(session)
    app.router.add_post("/transfer", forward)
    return app


def main(argv: list[str]) -> None:
    role, port, *upstream = argv
    app = ledger() if role == "ledger" else gateway(upstream[0])
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=int(port), access_log=None, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The web app's shell: one page, served at every address the app has, so that a link or a reload of
any of them works. The page itself holds no data: its script signs in and reads the public API with a
bearer token kept in sessionStorage (never a cookie, so a forged cross-site request carries nothing).

The app's files (gateway/static/app) are served under a path that names their version,
`/app-assets/<version>/...`: the ES modules import each other by relative paths, so one version in
the shell's script tag carries through every import, and a browser may cache them for good.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from aiohttp import web

from common.problems import NotFound
from gateway.directory import terms
from gateway.resources import DEV_MAIL
from gateway.web.pages import render

ASSETS = (Path(__file__).parent.parent / "static" / "app").resolve()
# The addresses the script knows (see static/app/main.js); anything else stays a 404.
APP_PATHS = ("/", "/signin", "/credits", "/credits/purchase", "/credits/transfer", "/credits/lots", "/credits/limit",
             "/credits/logs", "/send")
FOREVER = "public, max-age=31536000, immutable"

routes = web.RouteTableDef()


@functools.cache
def assets_version() -> str:
    """Changes whenever an asset does."""
    digest = hashlib.sha256()
    for path in sorted(ASSETS.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(ASSETS)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def app_shell(request: web.Request) -> web.Response:
    response = render("app.html", assets=f"/app-assets/{assets_version()}", conditions=terms.CONDITIONS,
                      dev_mail=request.app.get(DEV_MAIL, False))
    # The shell is tiny and names the current assets: always revalidate it.
    response.headers["Cache-Control"] = "no-cache"
    return response


for _path in APP_PATHS:
    routes.get(_path)(app_shell)


@routes.get("/app-assets/{version}/{path:.+}")
async def app_asset(request: web.Request) -> web.FileResponse:
    path = (ASSETS / request.match_info["path"]).resolve()
    if not path.is_relative_to(ASSETS) or not path.is_file():
        raise NotFound("No such file.")
    response = web.FileResponse(path)
    # A page still open from an older version gets today's files, but must not keep them.
    response.headers["Cache-Control"] = FOREVER if request.match_info["version"] == assets_version() else "no-cache"
    return response

"""Which failed requests get the HTML error page (a browser's navigation to a page address) and which keep
problem+json (the API, its documents, the app's files, any program that does not ask for HTML)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from gateway.web.problem_pages import error_page, wants_page

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(("method", "path", "accept", "status", "page"), [
    ("GET", "/nope", BROWSER, 404, True),
    ("GET", "/app/nope", BROWSER, 404, True),
    ("GET", "/credits/nope", BROWSER, 500, True),
    ("GET", "/nope", "application/json", 404, False),
    ("GET", "/api/v1/nope", BROWSER, 404, False),
    ("GET", "/api", BROWSER, 404, False),
    ("GET", "/app-assets/x/nope.js", BROWSER, 404, False),
    ("GET", "/static/nope.css", BROWSER, 404, False),
    ("POST", "/nope", BROWSER, 404, False),
    ("GET", "/nope", BROWSER, 403, False),
])
def test_only_a_browser_navigation_to_a_page_address_gets_the_page(
    method: str, path: str, accept: str, status: int, page: bool
) -> None:
    request = make_mocked_request(method, path, headers={"Accept": accept})
    assert wants_page(request, status) is page


def test_the_pages_say_what_happened_in_plain_words_and_lead_home() -> None:
    for status, heading in ((404, "Page not found"), (500, "Something went wrong"), (503, "Something went wrong")):
        response = error_page(status)
        assert response.status == status and response.content_type == "text/html"
        html = response.text or ""
        assert f"<h1>{heading}</h1>" in html and 'href="/"' in html and "problem+json" not in html

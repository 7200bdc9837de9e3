"""What an attempt's error may say: the URL's origin, never its path or query (a receiver's credential may
be there), however a library's message quotes them."""

from __future__ import annotations

import pytest

from services.webhooks.deliveries.domain import origin_of, without_url_secrets

HOOK = "https://hooks.example.com:8443/services/T0/B0/s3cr3t?token=qu3ry"


@pytest.mark.parametrize("message", [
    f"400, message='Bad status line', url='{HOOK}'",  # aiohttp's ClientResponseError
    HOOK,  # aiohttp's InvalidURL
    "POST /services/T0/B0/s3cr3t?token=qu3ry answered badly",
    "saw /services/T0/B0/s3cr3t and then token=qu3ry",
    "redirected to https://elsewhere.example/x/s3cr3t?token=qu3ry",
])
def test_a_message_keeps_no_path_or_query_of_the_url(message: str):
    cleaned = without_url_secrets(message, HOOK)
    assert "s3cr3t" not in cleaned and "qu3ry" not in cleaned, cleaned


def test_what_is_not_secret_is_kept():
    assert without_url_secrets(f"url='{HOOK}'", HOOK) == "url='https://hooks.example.com:8443/...'"
    assert without_url_secrets("Cannot connect to host hooks.example.com:8443", HOOK) == (
        "Cannot connect to host hooks.example.com:8443")


def test_an_origin_is_scheme_host_and_port_only():
    assert origin_of(HOOK) == "https://hooks.example.com:8443"
    assert origin_of("http://user:pw@h.example/p") == "http://h.example"
    assert origin_of("not a url") == "<url>"
    assert origin_of("http://[::1") == "<url>"

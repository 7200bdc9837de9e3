"""Tax document numbers unique for the supplier: each tenant's series carries a prefix made from its name."""

from __future__ import annotations

import itertools
import uuid

from services.billing.invoices.domain import (
    MAX_PREFIX,
    format_adjustment_note_number,
    format_invoice_number,
    pdf_filename,
    prefix_candidates,
    prefix_from_id,
    prefix_from_name,
)


def test_a_prefix_is_the_names_first_word_in_capitals() -> None:
    assert prefix_from_name("Acme Realty") == "ACME"
    assert prefix_from_name("Globex") == "GLOBEX"
    assert prefix_from_name("  smith & co.  ") == "SMITH"
    assert prefix_from_name("The Smith Group") == "SMITH"


def test_a_prefix_keeps_latin_letters_and_digits_only_and_at_most_eight() -> None:
    assert prefix_from_name("Ünïcorn Homes") == "UNICORN"
    assert prefix_from_name("O'Brien-Kelly Property") == "OBRIENKE"
    assert prefix_from_name("A1 Realty") == "A1REALTY"  # a first word under 3 characters says too little
    assert prefix_from_name("東京 不動産") == ""  # nothing usable: the caller falls back on the id
    for name in ("Acme Realty", "Ünïcorn Homes", "Wolloomooloo Harbourside Realty", "A B C D E F G H I J"):
        prefix = prefix_from_name(name)
        assert prefix.isascii() and prefix.isalnum() and prefix.isupper() and len(prefix) <= MAX_PREFIX


def test_a_prefix_from_the_id_is_stable_and_differs_between_tenants() -> None:
    tenant = uuid.UUID("1a2b3c4d-0000-4000-8000-000000000000")
    assert prefix_from_id(tenant) == "T1A2B3C4" == prefix_from_id(tenant)
    assert prefix_from_id(uuid.uuid4()) != prefix_from_id(uuid.uuid4())


def test_a_taken_prefix_is_followed_by_numbered_ones_that_stay_within_eight() -> None:
    assert list(itertools.islice(prefix_candidates("ACME"), 4)) == ["ACME", "ACME2", "ACME3", "ACME4"]
    long = list(itertools.islice(prefix_candidates("ACMEREAL"), 10))
    assert long[:3] == ["ACMEREAL", "ACMEREA2", "ACMEREA3"] and long[9] == "ACMERE10"
    assert len(set(long)) == 10 and all(len(c) <= MAX_PREFIX for c in long)


def test_numbers_carry_the_prefix_and_old_ones_keep_their_form() -> None:
    assert format_invoice_number(12, "ACME") == "INV-ACME-000012"
    assert format_adjustment_note_number(3, "ACME") == "ADJ-ACME-000003"
    assert format_invoice_number(1_234_567, "GLOBEX") == "INV-GLOBEX-1234567"
    assert format_invoice_number(1) == "INV-000001"  # as numbers were before prefixes


def test_a_document_downloads_under_its_number() -> None:
    assert pdf_filename("INV-ACME-000012") == "INV-ACME-000012.pdf"

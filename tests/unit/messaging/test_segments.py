"""Segment counting, exactly as handsets and carriers count: the boundaries by hand, and everything
else against a second implementation (smsutil) with hypothesis."""

from __future__ import annotations

import pytest
import smsutil
from hypothesis import given, settings
from hypothesis import strategies as st

from common.sms import count_segments, e164, encoding_of, mask, segment, septets


def test_plain_gsm_text_of_160_characters_is_one_segment_and_161_is_two():
    assert segment("a" * 160).segments == 1
    two = segment("a" * 161)
    assert two.segments == 2 and [len(p) for p in two.parts] == [153, 8]


def test_extension_characters_count_two_septets():
    assert septets("€") == septets("[") == septets("\\") == septets("|") == 2
    assert segment("€" * 80).segments == 1  # 160 septets
    assert segment("€" * 81).segments == 2  # 162 septets


def test_a_euro_on_the_153_septet_edge_moves_whole_to_the_next_segment():
    text = "a" * 152 + "€" + "a" * 10
    result = segment(text)
    assert result.encoding == "gsm7"
    assert result.parts == ("a" * 152, "€" + "a" * 10)  # never the escape in one part, its code in the next
    fits = "a" * 151 + "€" + "a" * 10  # 153 septets exactly in the first part
    assert segment(fits).parts == ("a" * 151 + "€", "a" * 10)


def test_ucs2_text_of_70_characters_is_one_segment_and_71_is_two():
    assert segment("ж" * 70).encoding == "ucs2"
    assert segment("ж" * 70).segments == 1
    assert [len(p) for p in segment("ж" * 71).parts] == [67, 4]


def test_one_non_gsm_character_makes_the_whole_text_ucs2():
    assert encoding_of("Hello world") == "gsm7"
    assert encoding_of("Hello wörld") == "gsm7"  # ö is in the GSM alphabet
    assert encoding_of("Hello wõrld") == "ucs2"
    assert segment("a" * 71 + "õ").segments == 2


def test_an_emoji_on_the_67_unit_edge_is_never_split_across_segments():
    assert segment("😀" * 35).segments == 1  # 70 code units
    result = segment("a" * 66 + "😀" + "b" * 10)
    assert result.encoding == "ucs2"
    assert result.parts == ("a" * 66, "😀" + "b" * 10)
    assert segment("a" * 65 + "😀" + "b" * 10).parts == ("a" * 65 + "😀", "b" * 10)


def test_the_empty_body_has_no_segment():
    assert segment("").segments == 0 and segment("").parts == ()


def test_remaining_says_how_much_fits_before_another_segment():
    assert segment("a" * 150).remaining == 10
    assert segment("a" * 160).remaining == 0
    assert segment("a" * 161).remaining == 153 - 8
    assert segment("ж" * 10).remaining == 60


def test_numbers_are_normalised_to_e164_and_others_refused():
    assert e164("+61 412 345 678") == "+61412345678"
    assert e164(" +1 415 555 2671 ") == "+14155552671"
    for bad in ("0412345678", "+61 12", "hello", "+999123456789"):
        with pytest.raises(ValueError):
            e164(bad)


def test_masked_numbers_keep_only_the_country_code_and_last_two_digits():
    assert mask("+61412345678") == "+61*******78"
    assert "345" not in mask("+61412345678")


# The GSM alphabet as both implementations know it, extension characters, and characters outside it
# (accented letters GSM lacks, Cyrillic, CJK, emoji beyond the Basic Multilingual Plane).
_GSM = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
        "abcdefghijklmnopqrstuvwxyzäöñüà")
_EXTENSION = "^{}\\[~]|€"
_OTHER = "áõçжя中文😀🎉👍🏽"
_ALPHABET = [c for c in _GSM + _EXTENSION + _OTHER if (septets(c) > 0) == smsutil.is_valid_gsm(c)]


def _oracle(text: str) -> int:
    return len(smsutil.split(text).parts)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, min_size=1, max_size=700))
def test_segment_counts_agree_with_a_second_implementation(text):
    assert count_segments(text) == _oracle(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_GSM + _EXTENSION, min_size=150, max_size=480))
def test_gsm_parts_agree_with_a_second_implementation_and_join_back_to_the_text(text):
    result = segment(text)
    assert [p.content for p in smsutil.split(text).parts] == list(result.parts)
    assert "".join(result.parts) == text

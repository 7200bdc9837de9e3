"""What an SMS is to a handset and a carrier: its alphabet, its segments, its recipients. Pure: the
gateway counts credits with it (and the web app's live counter asks the gateway), messaging splits the
text it submits with it, so what a sender is charged is what the carrier is sent.

Segments follow GSM 03.38 / 03.40: text written only in the GSM default alphabet (with its extension
table, whose characters such as `€ [ ] { } ^ ~ \\ |` take an escape septet and so count two) goes as
7-bit septets, 160 to a single message or 153 to each part of a concatenated one (the other 7 carry
the user data header). Anything else goes as UCS-2 (UTF-16 in practice), 70 code units or 67 per part;
a character outside the Basic Multilingual Plane (most emoji) is a surrogate pair of two units. A part
boundary never falls inside an escape sequence or a surrogate pair: such a character moves whole to
the next part, as handsets do.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import phonenumbers

Encoding = Literal["gsm7", "ucs2"]

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67
LIMITS: dict[Encoding, tuple[int, int]] = {"gsm7": (GSM_SINGLE, GSM_MULTI), "ucs2": (UCS2_SINGLE, UCS2_MULTI)}


@functools.lru_cache(maxsize=4096)
def septets(character: str) -> int:
    """Septets a character takes in the GSM 03.38 default alphabet: 1, 2 (extension table), or 0 when
    the alphabet does not have it."""
    try:
        return len(character.encode("gsm03.38"))
    except UnicodeEncodeError:
        return 0


def code_units(character: str) -> int:
    """UTF-16 code units: 2 for a character written as a surrogate pair."""
    return 2 if ord(character) > 0xFFFF else 1


def encoding_of(text: str) -> Encoding:
    return "gsm7" if all(septets(c) for c in text) else "ucs2"


@dataclass(frozen=True)
class Segmentation:
    encoding: Encoding
    parts: tuple[str, ...]
    units: int  # septets (gsm7) or UTF-16 code units (ucs2) of the whole text

    @property
    def segments(self) -> int:
        return len(self.parts)

    @property
    def per_segment(self) -> int:
        single, multi = LIMITS[self.encoding]
        return single if self.segments <= 1 else multi

    @property
    def remaining(self) -> int:
        """Units still free in the last segment before another one is needed."""
        if self.segments <= 1:
            return self.per_segment - self.units
        return self.per_segment - _units(self.parts[-1], self.encoding)


def _units(text: str, encoding: Encoding) -> int:
    cost = septets if encoding == "gsm7" else code_units
    return sum(cost(c) for c in text)


def segment(text: str) -> Segmentation:
    """Split `text` into the parts a carrier delivers; the empty text has no part."""
    encoding = encoding_of(text)
    single, multi = LIMITS[encoding]
    units = _units(text, encoding)
    if units <= single:
        return Segmentation(encoding, (text,) if text else (), units)
    cost = septets if encoding == "gsm7" else code_units
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for character in text:
        size = cost(character)
        if used + size > multi:  # the whole character moves on: no split escape or surrogate pair
            parts.append("".join(current))
            current, used = [], 0
        current.append(character)
        used += size
    parts.append("".join(current))
    return Segmentation(encoding, tuple(parts), units)


def count_segments(text: str) -> int:
    return segment(text).segments


# --- Recipients --------------------------------------------------------------------------------------


class InvalidNumber(ValueError):
    pass


def e164(number: str) -> str:
    """A phone number in international form (`+61 412 345 678`) as E.164 (`+61412345678`), or
    InvalidNumber. Only international numbers: a national one would need a country we do not know."""
    text = number.strip()
    if not text.startswith("+"):
        raise InvalidNumber("Write the number in international form, starting with + and the country code.")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber("This is not a phone number.") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("This is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(number: str) -> str:
    """A number as logs may show it: country code and the last two digits only."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]

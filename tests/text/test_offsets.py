"""Offsets: UTF-16 (browser) <-> code points (stored text), with emoji and accents."""

import pytest

from coding.errors import OffsetError
from coding.text.offsets import Utf16Map, check_span, normalise_text


def test_normalisation_is_exactly_bom_and_newlines():
    assert normalise_text("\ufeffa\r\nb\rc\n\td  ") == "a\nb\nc\n\td  "
    assert normalise_text("no\u00a0change\u2028") == "no\u00a0change\u2028"


@pytest.mark.parametrize("text, phrase", [
    ("great class 👏 indeed, said José", "indeed"),
    ("👏👏 ¿Qué opinó la señora Núñez? Año", "señora Núñez"),
    ("plain ascii text", "ascii"),
    ("e\u0301 combining then 𝄞 clef then end", "end"),
])
def test_round_trip_of_a_phrase(text, phrase):
    m = Utf16Map(text)
    cp = text.index(phrase)
    js_start = len(text[:cp].encode("utf-16-le")) // 2
    js_end = js_start + len(phrase.encode("utf-16-le")) // 2
    assert m.span_to_utf16(cp, cp + len(phrase)) == (js_start, js_end)
    assert m.span_from_utf16(js_start, js_end) == (cp, cp + len(phrase))
    assert m.utf16_length == len(text.encode("utf-16-le")) // 2


def test_half_selected_surrogate_pair_snaps_outward():
    text = "a👏b"
    m = Utf16Map(text)
    assert m.span_from_utf16(1, 2) == (1, 2)  # start and end inside the pair -> the whole emoji
    assert m.span_from_utf16(2, 4) == (1, 3)


def test_out_of_range_is_a_clear_error():
    with pytest.raises(OffsetError, match="reload"):
        Utf16Map("abc").from_utf16(9)
    with pytest.raises(OffsetError, match="0 <= start < end"):
        check_span(3, 2, 2)

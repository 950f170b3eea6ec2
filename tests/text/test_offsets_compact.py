"""The compact UTF-16 map (issue 19, item 2) converts exactly as the former table of every
character's offset did, on hostile texts: astral characters (emoji, ZWJ sequences, flags,
musical symbols) at the edges and side by side, CRLF and lone CR, combining marks, lone
surrogates (text decoded with ``surrogatepass``), and the harbour's transcripts."""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate

import pytest

from coding.errors import OffsetError
from coding.text.offsets import Utf16Map, utf16_map
from tests.conftest import TEAM_TEXTS


class _TableMap:
    """The former map: ``prefix[i]`` = UTF-16 units before code point ``i``."""

    def __init__(self, text: str):
        self.prefix = [0, *accumulate(2 if ord(ch) > 0xFFFF else 1 for ch in text)]

    def to_utf16(self, cp):
        return self.prefix[cp]

    def from_utf16(self, unit):
        return bisect_right(self.prefix, unit) - 1

    def span_from_utf16(self, start, end):
        s, e = self.from_utf16(start), self.from_utf16(end)
        return s, e + 1 if self.prefix[e] < end else e


HOSTILE = [
    "",
    "a",
    "👏",
    "👏👏👏",
    "👏a👏",
    "plain ascii, nothing else",
    "line one\r\nline two\rline three\n",
    "e\u0301 combining, then 𝄞 clef, then a\u0308\u0301 stacked marks",
    "family 👨\u200d👩\u200d👧 and a flag 🇨🇱 and skin tone 👍🏽 end",
    "lone surrogates \udc80 and \ud83d without a partner, then 😀",
    "\ufeffBOM kept in memory, Ñuñoa, São, 日本語, then 𠀋 (CJK extension B)",
    "😀\r\n😀\r\n",
    *TEAM_TEXTS.values(),
]


def _random_text(rng: random.Random, n: int) -> str:
    pool = ["a", "b", " ", "\n", "\r\n", "é", "e\u0301", "👏", "𝄞", "🇨🇱", "日", "\udc80", "\u200d"]
    return "".join(rng.choice(pool) for _ in range(n))


@pytest.mark.parametrize("text", HOSTILE + [_random_text(random.Random(i), 400) for i in range(6)])
def test_every_offset_converts_as_the_table_did(text):
    new, old = Utf16Map(text), _TableMap(text)
    assert new.utf16_length == old.prefix[-1] == len(text.encode("utf-16-le", "surrogatepass")) // 2
    assert [new.to_utf16(i) for i in range(len(text) + 1)] == old.prefix
    units = range(new.utf16_length + 1)
    assert [new.from_utf16(u) for u in units] == [old.from_utf16(u) for u in units]
    rng = random.Random(len(text))
    for _ in range(200):
        a, b = sorted(rng.choice(units) for _ in range(2))
        assert new.span_from_utf16(a, b) == old.span_from_utf16(a, b)
    for bad in (-1, len(text) + 1):
        with pytest.raises(OffsetError, match="outside the text"):
            new.to_utf16(bad)
    with pytest.raises(OffsetError, match="reload"):
        new.from_utf16(new.utf16_length + 1)


def test_the_map_of_a_long_transcript_is_small():
    """300,000 words without emoji: two empty int32 arrays, not a table of 1.8 million ints;
    with an emoji every 1,000 characters: 8 bytes each."""
    words = " ".join(["Docker: Gangs of eight under a foreman, José said."] * 37500)  # 300,000 words
    m = Utf16Map(words)
    assert len(m._astral) == 0 and m._astral.itemsize == 4 and m.utf16_length == len(words)
    with_emoji = "".join(words[i:i + 999] + "👏" for i in range(0, 300_000, 999))
    m = Utf16Map(with_emoji)
    assert len(m._astral) == with_emoji.count("👏") and m._astral.buffer_info()[1] * m._astral.itemsize < 8 * 400
    assert m.from_utf16(m.to_utf16(len(with_emoji))) == len(with_emoji)


def test_one_map_per_document_version():
    text = TEAM_TEXTS["Docker_01"] + "👏"
    a = utf16_map("sha-of-docker-01", text)
    assert utf16_map("sha-of-docker-01", text) is a
    assert utf16_map("sha-of-docker-01-v2", text + "x") is not a

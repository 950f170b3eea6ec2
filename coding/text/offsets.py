"""The one place where text positions change units.

Contract (DESIGN.md, Offsets): a span is ``[start, end)`` in Unicode code points
of the document's *stored* text, i.e. Python ``str`` indices. The stored text is
the imported text with the BOM removed and CRLF/CR turned into LF, nothing else.

Other worlds count differently:

* browsers (``Selection``/``Range``, JS ``String.length``) count UTF-16 code units;
* NVivo's REFI-QDA export counts UTF-16 units *and* CRLF as two;
* spaCy counts tokens (``Span.start_char``/``end_char`` are already code points).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from itertools import accumulate

from coding.errors import OffsetError

BOM = "\ufeff"


def normalise_text(raw: str) -> str:
    """Apply exactly the stored-text normalisations: drop a leading BOM, CRLF/CR -> LF."""
    if raw.startswith(BOM):
        raw = raw[1:]
    return raw.replace("\r\n", "\n").replace("\r", "\n")


#: A character outside the Basic Multilingual Plane: two UTF-16 units (a surrogate pair).
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


class Utf16Map:
    """Converts between code-point and UTF-16 offsets of one text, both ways.

    Only the characters outside the BMP (emoji, rare scripts) count differently, so the map
    holds just their positions, as int32 arrays: none for most transcripts (a 300,000-word
    text with no emoji maps in one regular-expression scan and keeps two empty arrays,
    where a table of every character's offset took about 40 bytes a character). Built in
    O(n) once per document version (:func:`utf16_map`); each conversion is O(log k) for
    k such characters. The map keeps the text's length, not the text.
    """

    __slots__ = ("length", "utf16_length", "_astral", "_astral16")

    def __init__(self, text: str):
        self.length = len(text)
        #: code-point index of each character outside the BMP, in text order
        self._astral = array("i") if text.isascii() else array("i", (m.start() for m in _ASTRAL.finditer(text)))
        #: the UTF-16 offset where each of them starts (the k-th has k pairs before it)
        self._astral16 = array("i", (cp + k for k, cp in enumerate(self._astral)))
        self.utf16_length = self.length + len(self._astral)

    def to_utf16(self, cp: int) -> int:
        if not 0 <= cp <= self.length:
            raise OffsetError(
                f"offset {cp} is outside the text (0..{self.length} code points); "
                "check that the span belongs to this document"
            )
        return cp + bisect_left(self._astral, cp)

    def from_utf16(self, unit: int) -> int:
        """Code-point index for a UTF-16 offset; an offset inside a surrogate pair
        (which a browser can report for a half-selected emoji) snaps outward to the
        start of that character."""
        if not 0 <= unit <= self.utf16_length:
            raise OffsetError(
                f"UTF-16 offset {unit} is outside the text (0..{self.utf16_length} units); "
                "the page may show a stale copy of the document: reload it"
            )
        before = bisect_left(self._astral16, unit)  # pairs that start before ``unit``
        if before and self._astral16[before - 1] + 1 == unit:
            return self._astral[before - 1]  # between the two halves of a pair
        return unit - before

    def span_from_utf16(self, start: int, end: int) -> tuple[int, int]:
        """Convert a browser selection ``[start, end)``; the end snaps outward so a
        half-selected surrogate pair is included whole."""
        s = self.from_utf16(start)
        e = self.from_utf16(end)
        if self.to_utf16(e) < end:
            e += 1
        return s, e

    def span_to_utf16(self, start: int, end: int) -> tuple[int, int]:
        return self.to_utf16(start), self.to_utf16(end)


_MAPS: OrderedDict[str, Utf16Map] = OrderedDict()


def utf16_map(sha256: str, text: str) -> Utf16Map:
    """A shared :class:`Utf16Map` per document version, keyed by the stored text hash
    (a document's text never changes, so the hash identifies it); keeps the last 256
    (a map without emoji is about 200 bytes)."""
    m = _MAPS.get(sha256)
    if m is None or m.length != len(text):
        m = _MAPS[sha256] = Utf16Map(text)
        while len(_MAPS) > 256:
            _MAPS.popitem(last=False)
    else:
        _MAPS.move_to_end(sha256)
    return m


def utf16_to_codepoints(text: str, start: int, end: int) -> tuple[int, int]:
    """Convenience: one browser span to code points."""
    return Utf16Map(text).span_from_utf16(start, end)


def codepoints_to_utf16(text: str, start: int, end: int) -> tuple[int, int]:
    return Utf16Map(text).span_to_utf16(start, end)


def check_span(text_length: int, start: int, end: int, *, where: str = "span") -> None:
    """Raise :class:`OffsetError` unless ``0 <= start < end <= text_length``."""
    if not (isinstance(start, int) and isinstance(end, int)):
        raise OffsetError(f"{where}: start and end must be integers, got {start!r}, {end!r}")
    if not 0 <= start < end <= text_length:
        raise OffsetError(
            f"{where}: [{start}, {end}) does not fit a text of {text_length} characters; "
            "a span needs 0 <= start < end <= length"
        )


# --- REFI-QDA positions -----------------------------------------------------------------
# A REFI-QDA file gives each PlainTextSelection ``startPosition``/``endPosition`` in the
# source text as the *file* holds it (its own line endings, BOM excluded). The standard
# counts code points, so a CRLF is two; real exporters differ (shared/refi/PROVENANCE.md):
# NVivo counts UTF-16 units (an emoji is two) and CRLF as two; ATLAS.ti counts CRLF as
# one; MAXQDA counts CRLF as two and expects CRLF in the sources it reads.

#: convention -> (counts UTF-16 units, counts CRLF as two, writes CRLF in source files)
REFI_CONVENTIONS: dict[str, tuple[bool, bool, bool]] = {
    "standard": (False, True, False),
    "nvivo": (True, True, True),
    "atlasti": (False, False, True),
    "maxqda": (False, True, True),
}
#: The tools an export can be written for (every convention but the standard's).
REFI_TOOLS: tuple[str, ...] = tuple(c for c in REFI_CONVENTIONS if c != "standard")


def refi_convention(origin: str | None) -> str:
    """How a REFI-QDA file counts positions, from its ``origin`` attribute (the tool that
    wrote it); anything unrecognised follows the standard."""
    o = (origin or "").casefold()
    if "nvivo" in o:
        return "nvivo"
    if "atlas.ti" in o or "atlasti" in o or "atlas ti" in o:
        return "atlasti"
    if "maxqda" in o:
        return "maxqda"
    return "standard"


def _check_convention(convention: str) -> tuple[bool, bool, bool]:
    try:
        return REFI_CONVENTIONS[convention]
    except KeyError:
        raise OffsetError(f"unknown REFI-QDA position convention {convention!r}; use one of "
                          f"{', '.join(REFI_CONVENTIONS)}") from None


def refi_source_text(stored: str, convention: str) -> str:
    """The source text to write in a REFI-QDA file for ``convention``: the stored text,
    with CRLF line endings for tools that expect them."""
    return stored.replace("\n", "\r\n") if _check_convention(convention)[2] else stored


class RefiPositions:
    """Converts positions of one REFI-QDA source, counted by ``convention``, to and from
    code points of the stored text.

    ``raw`` is the source text as the file holds it (BOM removed, its own line endings).
    """

    def __init__(self, raw: str, convention: str):
        utf16, crlf_two, _ = _check_convention(convention)
        if raw.startswith(BOM):
            raw = raw[1:]
        self.convention = convention
        self.text = normalise_text(raw)
        widths: list[int] = []
        i, n = 0, len(raw)
        while i < n:
            ch = raw[i]
            if ch == "\r" and i + 1 < n and raw[i + 1] == "\n":
                widths.append(2 if crlf_two else 1)
                i += 2
                continue
            widths.append(2 if utf16 and ord(ch) > 0xFFFF else 1)
            i += 1
        self._prefix = [0, *accumulate(widths)]
        self.length = self._prefix[-1]  # the source's length in the convention's units

    def to_stored(self, start: int, end: int) -> tuple[int, int, bool]:
        """``(start, end, exact)`` in code points of the stored text. A position inside a
        character (half a surrogate pair, between CR and LF) snaps outward and gives
        ``exact=False``; a span outside the source raises :class:`OffsetError`."""
        if not 0 <= start < end <= self.length:
            raise OffsetError(
                f"selection [{start}, {end}) does not fit its source of {self.length} positions "
                f"(counted as {self.convention}); a selection needs 0 <= start < end <= length")
        s = bisect_right(self._prefix, start) - 1
        e = bisect_right(self._prefix, end) - 1
        exact = self._prefix[s] == start and self._prefix[e] == end
        if self._prefix[e] < end:
            e += 1
        return s, e, exact

    def from_stored(self, start: int, end: int) -> tuple[int, int]:
        """A stored span ``[start, end)`` as positions counted by the convention."""
        check_span(len(self.text), start, end, where="REFI-QDA export")
        return self._prefix[start], self._prefix[end]


def splits_surrogate(text: str, start: int, end: int) -> bool:
    """Whether ``[start, end)`` cuts a UTF-16 surrogate pair held in ``text`` as two code
    points (only text decoded with ``surrogatepass`` can hold them)."""
    def low(i: int) -> bool:
        return 0 <= i < len(text) and 0xDC00 <= ord(text[i]) <= 0xDFFF

    return low(start) or low(end)


def inside_word(text: str, pos: int) -> bool:
    """Whether ``pos`` falls between two letters or digits (a span boundary there cuts a word)."""
    return 0 < pos < len(text) and text[pos - 1].isalnum() and text[pos].isalnum()

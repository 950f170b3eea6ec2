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

from bisect import bisect_right
from collections import OrderedDict
from itertools import accumulate

from .errors import OffsetError

BOM = "\ufeff"


def normalise_text(raw: str) -> str:
    """Apply exactly the stored-text normalisations: drop a leading BOM, CRLF/CR -> LF."""
    if raw.startswith(BOM):
        raw = raw[1:]
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def _utf16_prefix(text: str) -> list[int]:
    """``prefix[i]`` = UTF-16 units before code point ``i`` (length ``len(text)+1``)."""
    return [0, *accumulate(2 if ord(ch) > 0xFFFF else 1 for ch in text)]


class Utf16Map:
    """Converts between code-point and UTF-16 offsets of one text, both ways.

    Build once per document (O(n)); each conversion is O(log n).
    """

    def __init__(self, text: str):
        self.text = text
        self._prefix = _utf16_prefix(text)
        self.utf16_length = self._prefix[-1]

    def to_utf16(self, cp: int) -> int:
        if not 0 <= cp <= len(self.text):
            raise OffsetError(
                f"offset {cp} is outside the text (0..{len(self.text)} code points); "
                "check that the span belongs to this document"
            )
        return self._prefix[cp]

    def from_utf16(self, unit: int) -> int:
        """Code-point index for a UTF-16 offset; an offset inside a surrogate pair
        (which a browser can report for a half-selected emoji) snaps outward to the
        start of that character."""
        if not 0 <= unit <= self.utf16_length:
            raise OffsetError(
                f"UTF-16 offset {unit} is outside the text (0..{self.utf16_length} units); "
                "the page may show a stale copy of the document: reload it"
            )
        return bisect_right(self._prefix, unit) - 1

    def span_from_utf16(self, start: int, end: int) -> tuple[int, int]:
        """Convert a browser selection ``[start, end)``; the end snaps outward so a
        half-selected surrogate pair is included whole."""
        s = self.from_utf16(start)
        e = self.from_utf16(end)
        if self._prefix[e] < end:
            e += 1
        return s, e

    def span_to_utf16(self, start: int, end: int) -> tuple[int, int]:
        return self.to_utf16(start), self.to_utf16(end)


_MAPS: OrderedDict[str, Utf16Map] = OrderedDict()


def utf16_map(sha256: str, text: str) -> Utf16Map:
    """A shared :class:`Utf16Map` per document version, keyed by the stored text hash
    (a document's text never changes, so the hash identifies it); keeps the last 64."""
    m = _MAPS.get(sha256)
    if m is None or m.text is not text and len(m.text) != len(text):
        m = _MAPS[sha256] = Utf16Map(text)
        while len(_MAPS) > 64:
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

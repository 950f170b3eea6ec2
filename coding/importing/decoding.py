"""Bytes -> stored text: size limit, encoding detection, binary, control and empty checks.

The decision is deterministic, in this order:

1. a byte-order mark wins: UTF-8 (``"utf-8-sig"``), UTF-32 (``"utf-32"``),
   UTF-16 LE/BE (``"utf-16"``);
2. NUL bytes without a BOM mean a binary file;
3. strict UTF-8 (``"utf-8"``);
4. UTF-8 with a few bad bytes: when the valid multi-byte UTF-8 characters are at
   least as many as the invalid bytes, the file is UTF-8 that got damaged (one
   stray 0xFF, a truncated copy): each invalid byte becomes U+FFFD and the file
   gets a warning with the count and share of replaced bytes. The same applies
   under a BOM;
5. East Asian multi-byte encodings, only when most non-ASCII bytes come in runs
   (as double-byte characters do) and the decoded text reads as the language:
   Shift-JIS (``"cp932"``) or EUC-JP when kana make up a good share of it,
   GB18030 / Big5 / Korean (``"cp949"``) when the most common characters of
   that language make up a good share of it. Reported with a warning;
6. otherwise Windows-1252 (``"cp1252"``), the legacy encoding of Word and Notepad
   in Western Europe and Latin America, reported as a guess with the share of
   non-ASCII bytes. The five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F,
   0x90, 0x9D) are kept as their Latin-1 code points; if the file holds those and
   none of the bytes 0x80-0x9F that cp1252 defines, it *is* Latin-1 (``"latin-1"``);
7. a file whose non-ASCII bytes read as neither (mostly symbols in cp1252, or
   mostly non-ASCII like Cyrillic or Greek code pages) is refused: save it as UTF-8.

No statistical guessing library (charset-normalizer): it misreads short Spanish
cp1252 text as other code pages, and the same bytes must always give the same text.

The stored text is the decoded text with only BOM removal and CRLF/CR -> LF
(DESIGN.md, Offsets). A text with NUL or other control characters (other than
tab and newline) is refused rather than cleaned, so that contract holds.
"""

from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass

from coding.errors import InputFileError
from coding.text.offsets import normalise_text
from coding.importing import limits
from coding.importing.limits import LimitExceeded, display_name, human_count, human_size

#: Kept for callers that read it from here; the bound lives in :mod:`.limits`.
MAX_FILE_BYTES = limits.MAX_FILE_BYTES

_BINARY_FIX = "Save it as .txt (UTF-8), .docx, .vtt or .srt and import again"
_UTF8_FIX = "Open it in a text editor and save it again as UTF-8"
_CP1252_UNDEFINED_SPLIT = re.compile(rb"([\x81\x8d\x8f\x90\x9d])")
_CP1252_DEFINED_C1 = re.compile(rb"[\x80\x82-\x8c\x8e\x91-\x9c\x9e\x9f]")
# Control characters that never occur in text (tab, LF, VT, FF, CR excluded).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.05
# What the stored text may not hold: C0 controls except tab and newline (CR is
# gone by then), and the two non-characters. PostgreSQL refuses NUL; XML exports
# (REFI-QDA, docx, xlsx) refuse all of them.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_HIGH_RUN = re.compile(rb"[\x80-\xff]{2,}")
_CONTROL_NAMES = {0: "NUL", 0x0B: "vertical tab", 0x0C: "form feed (page break)", 0x1A: "SUB (end of file)",
                  0x1B: "escape", 0xFFFE: "non-character", 0xFFFF: "non-character"}


@dataclass(frozen=True)
class Decoded:
    """A decoded text file. ``replaced_bytes``: undecodable bytes that became U+FFFD."""

    text: str
    encoding: str
    replaced_bytes: int = 0
    warnings: tuple[str, ...] = ()


# --- counting replacements -----------------------------------------------------------

_tally = threading.local()


def _count_and_replace(exc: UnicodeDecodeError) -> tuple[str, int]:
    _tally.bytes += exc.end - exc.start
    _tally.marks += 1
    return "\ufffd", exc.end


codecs.register_error("coding-count", _count_and_replace)


def _decode_counting(data: bytes, codec: str) -> tuple[str, int, int]:
    """``(text, invalid bytes, U+FFFD inserted)``: each maximal bad sequence -> one U+FFFD."""
    _tally.bytes = _tally.marks = 0
    text = data.decode(codec, errors="coding-count")
    return text, _tally.bytes, _tally.marks


def _share(n: int, total: int) -> str:
    pct = 100 * n / total if total else 0.0
    return f"{pct:.2f}%" if pct < 1 else f"{pct:.1f}%"


def _replaced_warning(filename: str, label: str, bad: int, total: int) -> str:
    return (f"{display_name(filename)}: {human_count(bad)} of {human_count(total)} bytes ({_share(bad, total)}) "
            f"were not valid {label} and were replaced by \ufffd (U+FFFD); the rest reads as {label}. "
            "Check those places, or fix the file and import it again")


# --- checks ---------------------------------------------------------------------------

def check_size(data: bytes, filename: str) -> None:
    """Raise :class:`InputFileError` if ``data`` is over :data:`limits.MAX_FILE_BYTES`."""
    if len(data) > limits.MAX_FILE_BYTES:
        raise InputFileError(
            display_name(filename),
            f"is {human_size(len(data))}, over the import limit of {human_size(limits.MAX_FILE_BYTES)}",
            "Split the transcript into smaller files (or save a .docx with images as .txt) "
            "and import again",
        )


def empty_error(filename: str) -> InputFileError:
    return InputFileError(
        display_name(filename),
        "is empty (no text in it)",
        "Check that you picked the right file, save the transcript's text in it and import again",
    )


def binary_error(filename: str) -> InputFileError:
    return InputFileError(display_name(filename), "looks like a binary file, not a transcript", _BINARY_FIX)


def looks_binary(text: str) -> bool:
    """True when more than 5% of the characters are control characters."""
    if not text:
        return False
    return len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, pos) + 1
    return text.count("\n", 0, pos) + 1, pos - line_start + 1


def _long_line_start(text: str, limit: int) -> int | None:
    """Start of the first line longer than ``limit``, or None. Looks only for the
    last newline of each window of ``limit + 1`` characters, so it takes a few
    steps per ``limit`` characters, not one per line."""
    pos, n = 0, len(text)
    while n - pos > limit:
        last = text.rfind("\n", pos, pos + limit + 1)
        if last < 0:
            return pos
        pos = last + 1
    return None


def check_text(text: str, filename: str) -> None:
    """The bounds every stored text must meet, whatever its format: no control
    characters, at most :data:`limits.MAX_TEXT_CHARS` characters and
    :data:`limits.MAX_LINE_CHARS` per line, not blank. Raises :class:`InputFileError`."""
    name = display_name(filename)
    bad = _FORBIDDEN.search(text)
    if bad:
        count = len(_FORBIDDEN.findall(text))
        code = ord(bad.group())
        what = _CONTROL_NAMES.get(code, "control character")
        line, col = _line_col(text, bad.start())
        raise InputFileError(
            name,
            f"contains {human_count(count)} control character{'s' if count > 1 else ''} that a transcript "
            f"cannot hold (the first, U+{code:04X} {what}, on line {line}, column {col})",
            "Remove them in a text editor (search for the character, or save the file again as plain "
            "UTF-8 text) and import again; the text is stored exactly as given, so the import does not "
            "remove them for you",
        )
    if len(text) > limits.MAX_TEXT_CHARS:
        raise InputFileError(
            name,
            f"holds {human_count(len(text))} characters of text, over the limit of "
            f"{human_count(limits.MAX_TEXT_CHARS)}",
            limits.SPLIT_FIX,
        )
    long_line = _long_line_start(text, limits.MAX_LINE_CHARS)
    if long_line is not None:
        end = text.find("\n", long_line)
        length = (len(text) if end < 0 else end) - long_line
        raise InputFileError(
            name,
            f"line {text.count(chr(10), 0, long_line) + 1} is {human_count(length)} characters long, over the "
            f"limit of {human_count(limits.MAX_LINE_CHARS)} for one line",
            "Break the text into paragraphs (one per speaker turn) and import again",
        )
    if not text.strip():
        raise empty_error(filename)


# --- legacy encodings -------------------------------------------------------------------

def _decode_cp1252(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    if not _CP1252_DEFINED_C1.search(data):
        return data.decode("latin-1"), "latin-1"
    # Mixed: cp1252 text with a stray undefined byte; keep that byte as Latin-1.
    parts = _CP1252_UNDEFINED_SPLIT.split(data)
    text = "".join(
        part.decode("latin-1") if i % 2 else part.decode("cp1252")
        for i, part in enumerate(parts)
    )
    return text, "cp1252"


# The most frequent characters of each written language: decoded with the right
# code page, a text is full of them; decoded with a wrong one, it has almost none.
_COMMON_SIMPLIFIED = frozenset(
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里"
    "所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从"
    "老师学生学校问题工作时候现在觉得因为所以但是我们他们什么怎么没有已经可以这样"
)
_COMMON_TRADITIONAL = frozenset(
    "的一是不了人我在有他這為之大來以個中上們到說國和地也子時道出而要於就下得可你年生自會那後能對著事其裡"
    "所去行過家十用發天如然作方成者多日都三小軍二無同麼經法當起與好看學進種將還分此心前面又定見只主沒公從"
    "老師學生學校問題工作時候現在覺得因為所以但是我們他們什麼怎麼沒有已經可以這樣"
)
_COMMON_KOREAN = frozenset(
    "이다는의에하고가을지한기로도사서를자어리수있대나시적아인정그으전라부해일게것요상제만보주우국들면동여없"
    "습니까학생선생님교니요네그렇거저우리"
)
_LANG_NAMES = {"cp932": "Japanese Shift-JIS (cp932)", "euc_jp": "Japanese EUC-JP",
               "gb18030": "Chinese GB18030", "big5": "Chinese Big5", "cp949": "Korean (cp949)"}


def _kana_share(text: str) -> tuple[float, float, int]:
    """(kana share, half-width katakana share, non-ASCII count) of the non-ASCII characters."""
    wide = [c for c in text if c > "\x7f"]
    if not wide:
        return 0.0, 0.0, 0
    kana = sum("\u3040" <= c <= "\u30ff" for c in wide)
    half = sum("\uff61" <= c <= "\uff9f" for c in wide)
    return kana / len(wide), half / len(wide), len(wide)


def _common_share(text: str, common: frozenset[str], lo: str, hi: str) -> tuple[float, float]:
    """(share of non-ASCII chars in [lo, hi], share of those that are common characters)."""
    wide = [c for c in text if c > "\x7f"]
    script = [c for c in wide if lo <= c <= hi]
    if not wide or not script:
        return 0.0, 0.0
    return len(script) / len(wide), sum(c in common for c in script) / len(script)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _guess_east_asian(data: bytes) -> tuple[str, str] | None:
    """Text and codec of a Japanese, Chinese or Korean legacy file, or None if unsure."""
    for codec in ("cp932", "euc_jp"):
        text = _strict(data, codec)
        if text is not None:
            kana, half, n = _kana_share(text)
            if n >= 4 and kana >= 0.15 and half <= 0.2:
                return text, codec
    for codec, common, lo, hi in (("gb18030", _COMMON_SIMPLIFIED, "\u4e00", "\u9fff"),
                                  ("big5", _COMMON_TRADITIONAL, "\u4e00", "\u9fff"),
                                  ("cp949", _COMMON_KOREAN, "\uac00", "\ud7a3")):
        text = _strict(data, codec)
        if text is not None:
            script, common_share = _common_share(text, common, lo, hi)
            if script >= 0.6 and common_share >= 0.15:
                return text, codec
    return None


def _western_plausible(text: str) -> bool:
    """Whether the non-ASCII characters of a cp1252 reading are mostly letters and
    typographic punctuation, as in Western European text (not symbol soup)."""
    wide = [c for c in text if c > "\x7f"]
    ok = sum(c.isalpha() or c in "“”‘’„‚–—…«»¿¡€°·•" for c in wide)
    return ok >= 0.8 * len(wide)


def _decode_legacy(data: bytes, filename: str) -> Decoded:
    high = len(_HIGH_BYTE.findall(data))
    in_runs = sum(len(m) for m in _HIGH_RUN.findall(data))
    name = display_name(filename)
    if high >= 4 and in_runs >= 0.5 * high:
        guessed = _guess_east_asian(data)
        if guessed:
            text, codec = guessed
            return Decoded(text, codec, 0, (
                f"{name}: is not UTF-8; read as {_LANG_NAMES[codec]}, recognised from its characters "
                f"({human_count(high)} of {human_count(len(data))} bytes, {_share(high, len(data))}, are "
                "non-ASCII). Check the text, or save the file as UTF-8 and import it again",))
    text, codec = _decode_cp1252(data)
    mostly_foreign = high >= 16 and high > 0.3 * len(data)
    if (in_runs >= 0.5 * high and not _western_plausible(text)) or mostly_foreign:
        raise InputFileError(
            name,
            "is not UTF-8, and its non-ASCII bytes read as no encoding the import can recognise "
            "(it may be Cyrillic, Greek, Arabic, Hebrew or an East Asian code page)",
            _UTF8_FIX + " (in Notepad: Save As, Encoding UTF-8) and import it again",
        )
    label = "Latin-1" if codec == "latin-1" else "Windows-1252"
    return Decoded(text, codec, 0, (
        f"{name}: is not UTF-8; read as {label} (a guess): {human_count(high)} of {human_count(len(data))} "
        f"bytes ({_share(high, len(data))}) are non-ASCII and were read as {label} characters. "
        "Check accented letters and quotes, or save the file as UTF-8 and import it again",))


# --- the decision -----------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16", "UTF-16"),
)


def _decode_raw(data: bytes, filename: str) -> Decoded:
    name = display_name(filename)
    for bom, codec, reported, label in _BOMS:
        if data.startswith(bom):
            text, bad, marks = _decode_counting(data, codec)
            if not bad:
                return Decoded(text, reported)
            wide = sum(c > "\x7f" for c in text) - marks
            if label != "UTF-8" or wide >= bad:
                return Decoded(text, reported, bad, (_replaced_warning(filename, label, bad, len(data)),))
            raise InputFileError(
                name,
                f"starts with a {label} byte-order mark but is not valid {label} "
                f"({human_count(bad)} bad bytes, the first at byte {_first_bad(data, codec)})",
                _UTF8_FIX,
            )
    if b"\x00" in data:
        raise binary_error(filename)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    text, bad, marks = _decode_counting(data, "utf-8")
    valid_multibyte = sum(c > "\x7f" for c in text) - marks
    if valid_multibyte >= 1 and valid_multibyte >= bad:
        return Decoded(text, "utf-8", bad, (_replaced_warning(filename, "UTF-8", bad, len(data)),))
    return _decode_legacy(data, filename)


def _first_bad(data: bytes, codec: str) -> int:
    try:
        data.decode(codec)
    except UnicodeDecodeError as exc:
        return exc.start
    return 0


def decode_text(data: bytes, filename: str) -> Decoded:
    """Decode a text file's bytes into its stored text, with what the decoding had to guess.

    The text is normalised with :func:`coding.text.offsets.normalise_text` (BOM dropped,
    CRLF/CR -> LF) and nothing else. Raises :class:`InputFileError` for a file
    that is too big, empty (or whitespace only), binary, holds control characters,
    is over the text or line limits, or cannot be decoded with confidence.
    """
    check_size(data, filename)
    if not data:
        raise empty_error(filename)
    decoded = _decode_raw(data, filename)
    text = normalise_text(decoded.text)
    if looks_binary(text):
        raise binary_error(filename)
    check_text(text, filename)
    return Decoded(text, decoded.encoding, decoded.replaced_bytes, decoded.warnings)


def decode_bytes(data: bytes, filename: str) -> tuple[str, str]:
    """``(stored text, encoding name)`` of a text file; see :func:`decode_text`."""
    decoded = decode_text(data, filename)
    return decoded.text, decoded.encoding


__all__ = ["Decoded", "LimitExceeded", "check_size", "check_text", "decode_bytes", "decode_text"]

"""Bytes -> stored text: size limit, encoding detection, binary and empty checks.

The decision is deterministic, in this order:

1. a byte-order mark wins: UTF-8 (``"utf-8-sig"``), UTF-32 (``"utf-32"``),
   UTF-16 LE/BE (``"utf-16"``); bytes that do not decode under their BOM are an error;
2. NUL bytes without a BOM mean a binary file;
3. strict UTF-8 (``"utf-8"``);
4. otherwise Windows-1252 (``"cp1252"``), the legacy encoding of Word and Notepad
   in Western Europe and Latin America. The five bytes cp1252 leaves undefined
   (0x81, 0x8D, 0x8F, 0x90, 0x9D) are kept as their Latin-1 code points; if the
   file holds those and none of the bytes 0x80-0x9F that cp1252 defines, it *is*
   Latin-1 and is reported as ``"latin-1"``.

No statistical guessing (charset-normalizer): it misreads short Spanish cp1252
text as other code pages, and the same bytes must always give the same text.
"""

from __future__ import annotations

import codecs
import re

from ..errors import InputFileError
from ..offsets import normalise_text

#: Largest file an import accepts (documented limit). Tests patch
#: ``coding.importing.decoding.MAX_FILE_BYTES``; it is read at call time.
MAX_FILE_BYTES = 20 * 1024 * 1024

_BINARY_FIX = "Save it as .txt (UTF-8), .docx, .vtt or .srt and import again"
_CP1252_UNDEFINED_SPLIT = re.compile(rb"([\x81\x8d\x8f\x90\x9d])")
_CP1252_DEFINED_C1 = re.compile(rb"[\x80\x82-\x8c\x8e\x91-\x9c\x9e\x9f]")
# Control characters that never occur in text (tab, LF, VT, FF, CR excluded).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.05


def _human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    raise AssertionError("unreachable")


def check_size(data: bytes, filename: str) -> None:
    """Raise :class:`InputFileError` if ``data`` is over :data:`MAX_FILE_BYTES`."""
    if len(data) > MAX_FILE_BYTES:
        raise InputFileError(
            filename,
            f"is {_human_size(len(data))}, over the import limit of {_human_size(MAX_FILE_BYTES)}",
            "Split the transcript into smaller files (or save a .docx with images as .txt) "
            "and import again",
        )


def empty_error(filename: str) -> InputFileError:
    return InputFileError(
        filename,
        "is empty (no text in it)",
        "Check that you picked the right file, save the transcript's text in it and import again",
    )


def binary_error(filename: str) -> InputFileError:
    return InputFileError(filename, "looks like a binary file, not a transcript", _BINARY_FIX)


def _decode_with_bom(data: bytes, filename: str, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            filename,
            f"starts with a {label} byte-order mark but is not valid {label} "
            f"(bad bytes at byte {exc.start})",
            "Open it in a text editor and save it again as UTF-8",
        ) from None


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


def looks_binary(text: str) -> bool:
    """True when more than 5% of the characters are control characters."""
    if not text:
        return False
    return len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text)


def decode_bytes(data: bytes, filename: str) -> tuple[str, str]:
    """Decode a text file's bytes; return ``(stored text, encoding name)``.

    The text is normalised with :func:`coding.offsets.normalise_text` (BOM dropped,
    CRLF/CR -> LF). Raises :class:`InputFileError` for a file that is too big,
    empty (or whitespace only), binary, or undecodable under its byte-order mark.
    """
    check_size(data, filename)
    if not data:
        raise empty_error(filename)
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _decode_with_bom(data, filename, "utf-8-sig", "UTF-8"), "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        text, encoding = _decode_with_bom(data, filename, "utf-32", "UTF-32"), "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _decode_with_bom(data, filename, "utf-16", "UTF-16"), "utf-16"
    elif b"\x00" in data:
        raise binary_error(filename)
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _decode_cp1252(data)
    text = normalise_text(text)
    if looks_binary(text):
        raise binary_error(filename)
    if not text.strip():
        raise empty_error(filename)
    return text, encoding

"""Every bound an imported file must stay within, in one place.

Functions read these at call time (``limits.MAX_TEXT_CHARS``), so a test may
patch one. A file over a bound is refused with a message naming the file, the
bound and what to do; it never reaches the database.
"""

from __future__ import annotations

import time

#: Bytes of one file as given (upload or path).
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Characters of the stored text, after decoding or extracting (a .docx may hold
#: much more text than its compressed size suggests).
MAX_TEXT_CHARS = 20 * 1024 * 1024
#: Characters of one line (paragraph) of the stored text.
MAX_LINE_CHARS = 1_000_000
#: Speaker turns of one document.
MAX_TURNS = 100_000
#: A speaker name and a turn's timestamp (the database columns' widths).
MAX_SPEAKER_CHARS = 120
MAX_TIMESTAMP_CHARS = 40
#: .docx (a zip): members in the archive, uncompressed bytes of all parts read
#: (document, footnotes, endnotes, headers...), and uncompressed/compressed ratio of
#: any part read that is over RATIO_CHECK_FROM bytes.
MAX_ZIP_MEMBERS = 5_000
MAX_DOCX_XML_BYTES = 100 * 1024 * 1024
MAX_ZIP_RATIO = 100
RATIO_CHECK_FROM = 1024 * 1024
#: Seconds one file's parsing may take (checked as it goes; the size bounds above
#: keep legitimate files far below it).
MAX_PARSE_SECONDS = 20.0

SPLIT_FIX = "Split the transcript into smaller files and import them separately"


class LimitExceeded(Exception):
    """A bound was crossed while parsing; the caller names the file."""

    def __init__(self, problem: str, fix: str = SPLIT_FIX):
        self.problem = problem
        self.fix = fix
        super().__init__(problem)


class Deadline:
    """The time budget of one file; :meth:`check` raises :class:`LimitExceeded` once spent."""

    def __init__(self, seconds: float | None = None):
        self.seconds = MAX_PARSE_SECONDS if seconds is None else seconds
        self.until = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self.until:
            raise LimitExceeded(
                f"took more than {self.seconds:g} s to read, so reading was stopped",
                SPLIT_FIX + " (or save it as .txt)",
            )


def human_size(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"``; bytes below 1 KiB are counted exactly."""
    if n < 1024:
        return f"{n} bytes"
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    raise AssertionError("unreachable")


def human_count(n: int) -> str:
    """``20971520`` -> ``"20,971,520"``."""
    return f"{n:,}"


def display_name(name: str, limit: int = 120) -> str:
    """A file name safe to put in a one-line message: control and other
    unprintable characters escaped, long names shortened in the middle."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                    for c in name)
    if len(shown) > limit:
        half = (limit - 1) // 2
        shown = shown[:half] + "…" + shown[-half:]
    return shown

"""Speaker turns in transcript text: who speaks where.

A turn starts at a line holding an optional timestamp, then a speaker label and a
colon (see :func:`detect_turns`). Offsets are code points of the stored text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from coding.errors import CodingError
from coding.importing import limits
from coding.importing.limits import Deadline, LimitExceeded, human_count

MAX_LABEL_CHARS = 40
MAX_LABEL_WORDS = 4


@dataclass(frozen=True)
class Turn:
    """One speaker turn: ``[start, end)`` covers label and words, no trailing newline."""

    speaker: str
    start: int
    end: int
    speech_start: int
    timestamp: str | None


_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_HSPACE = r"[ \t\u00a0\u202f]"
_BOLD = r"(?:\*\*|__)"
# One line's leading "[ts] Label:" (markdown bold allowed around the label or the
# whole prefix; French typography allows a space before the colon).
LABEL_LINE = re.compile(
    rf"""
    ^(?=[^\n]*:)                  # cheapest reject first: no colon on the line at all
    {_HSPACE}*+                   # possessive: a long run of blanks is never re-scanned
    (?P<lead>{_BOLD}?)
    (?:
        (?:\[(?P<ts_b>{_TS})\]|\((?P<ts_p>{_TS})\)|(?P<ts_n>{_TS}))
        {_HSPACE}*(?:[-\u2013\u2014]{_HSPACE}*)?
    )?
    (?=[^\n]{{1,60}}:)            # cheap reject: no colon near the line start
    {_BOLD}?
    (?P<speaker>[^\W\d_][^\W_]*(?:[ .'\u2019\-]+[^\W_]+)*\.?)
    {_HSPACE}*{_BOLD}?{_HSPACE}*:{_BOLD}?
    (?={_HSPACE}|$)
    """,
    re.MULTILINE | re.VERBOSE,
)

# Role words accepted even when they occur once (matched case-insensitively, whole label).
ROLE_WORD = re.compile(
    r"""
    (?:interviewer|interviewee|researcher|participant|moderator|facilitator|respondent
      |entrevistador|entrevistadora|entrevistado|entrevistada|investigador|investigadora
      |participante
      # school roles of the studies this tool serves
      |principal|head\s*teacher|teacher|student|parent|special\s*educator|educator|coordinator
      |utp\s*head|director|directora|docente|profesor|profesora|apoderado|apoderada|estudiante)
      (?:\s*[\dA-Z]{1,3})?
    |[PRI]\s*\d{1,3}
    |[IQA]
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class LabelMatch:
    """A candidate label found at a line start (positions absolute in the text)."""

    speaker: str
    start: int          # first non-blank char of the line
    label_end: int      # just after the colon (and a closing ``**``)
    timestamp: str | None


def _clean_label(raw: str) -> str:
    return " ".join(raw.split())


def label_key(label: str) -> str:
    """How labels are compared when counting recurrences."""
    return _clean_label(label).casefold()


def is_role_word(label: str) -> bool:
    return ROLE_WORD.fullmatch(_clean_label(label)) is not None


def match_label(text: str, pos: int = 0) -> LabelMatch | None:
    """The built-in label rule applied at the line starting at ``pos`` (no recurrence guard)."""
    m = LABEL_LINE.match(text, pos)
    return None if m is None else _label_of(m)


def _label_of(m: re.Match[str]) -> LabelMatch | None:
    speaker = _clean_label(m.group("speaker"))
    if len(speaker) > MAX_LABEL_CHARS or len(speaker.split()) > MAX_LABEL_WORDS:
        return None
    timestamp = m.group("ts_b") or m.group("ts_p") or m.group("ts_n")
    return LabelMatch(speaker, m.start("lead"), m.end(), timestamp)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a user speaker pattern (``re.MULTILINE``); it needs a group ``speaker``."""
    try:
        compiled = re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise CodingError(
            f"speaker pattern {pattern!r} is not a valid regular expression: {exc}. "
            "Give a regular expression with a named group (?P<speaker>...)"
        ) from None
    if "speaker" not in compiled.groupindex:
        raise CodingError(
            f"speaker pattern {pattern!r} has no named group 'speaker'. "
            "Give a regular expression with a named group (?P<speaker>...)"
        )
    return compiled


def match_pattern(compiled: re.Pattern[str], text: str, pos: int = 0) -> LabelMatch | None:
    """A user pattern applied at the line starting at ``pos``."""
    m = compiled.match(text, pos)
    if m is None or m.group("speaker") is None:
        return None
    speaker = _clean_label(m.group("speaker"))
    if not speaker:
        return None
    timestamp = m.group("timestamp") if "timestamp" in compiled.groupindex else None
    start = pos
    limit = m.start("speaker")
    while start < limit and text[start].isspace():
        start += 1
    return LabelMatch(speaker, start, m.end(), timestamp or None)


def _line_starts(text: str):
    pos = 0
    while pos < len(text):
        yield pos
        nl = text.find("\n", pos)
        if nl < 0:
            return
        pos = nl + 1


def _too_many(count: int) -> LimitExceeded:
    return LimitExceeded(
        f"has more than {human_count(count)} lines that look like speaker labels, over the limit of "
        f"{human_count(limits.MAX_TURNS)} speaker turns",
        "Check the speaker labels (or the speaker pattern), or split the transcript, and import again",
    )


def find_labels(text: str, pattern: str | None = None, *, deadline: Deadline | None = None) -> list[LabelMatch]:
    """Every accepted turn-starting label of ``text``, in order (see :func:`detect_turns`).

    Raises :class:`~coding.importing.limits.LimitExceeded` past
    :data:`~coding.importing.limits.MAX_TURNS` labels or the ``deadline``.
    """
    max_turns = limits.MAX_TURNS
    if pattern is not None:
        compiled = compile_pattern(pattern)
        found: list[LabelMatch] = []
        covered = 0
        for n, pos in enumerate(_line_starts(text)):
            if deadline is not None and not n % 4096:
                deadline.check()
            if pos < covered:
                continue  # the previous match ran over this line
            hit = match_pattern(compiled, text, pos)
            if hit is not None:
                found.append(hit)
                covered = hit.label_end
                if len(found) > max_turns:
                    raise _too_many(max_turns)
        return found
    # One scan in C finds every line start that holds a label (a label never spans
    # lines, so this equals trying the rule at each line start, without a Python
    # step per line).
    candidates: list[LabelMatch] = []
    for n, m in enumerate(LABEL_LINE.finditer(text), start=1):
        hit = _label_of(m)
        if hit is not None:
            candidates.append(hit)
        if not n % 4096:
            if deadline is not None:
                deadline.check()
            if n > 4 * max_turns:  # label-shaped lines, even if too long to be names
                raise _too_many(max_turns)
    counts = Counter(label_key(hit.speaker) for hit in candidates)
    accepted = [
        hit for hit in candidates
        if counts[label_key(hit.speaker)] >= 2 or is_role_word(hit.speaker)
    ]
    if len(accepted) > max_turns:
        raise _too_many(max_turns)
    return accepted


def _rstrip_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def turns_from_labels(text: str, labels: list[LabelMatch]) -> tuple[Turn, ...]:
    """Turns running from each label to the next (trailing whitespace excluded)."""
    turns = []
    for i, hit in enumerate(labels):
        next_start = labels[i + 1].start if i + 1 < len(labels) else len(text)
        end = _rstrip_end(text, hit.start, next_start)
        speech = min(hit.label_end, end)
        while speech < end and text[speech].isspace():
            speech += 1
        turns.append(Turn(hit.speaker, hit.start, end, speech, hit.timestamp))
    return tuple(turns)


def detect_turns(
    text: str, pattern: str | None = None, *, deadline: Deadline | None = None
) -> tuple[Turn, ...]:
    """Find speaker turns in plain transcript text (txt, md, docx).

    A turn starts at a line that begins with an optional timestamp (``[00:01:02]``,
    ``(00:01:02)`` or ``00:01:02``, also ``mm:ss`` and fractions) and then a label
    followed by ``:`` and a space or the end of the line, e.g. ``Interviewer:``,
    ``P3:``, ``Special educator:``, ``[00:01:02] Kelly:``, ``**Interviewer:**``.
    A label is 1-4 words and at most 40 characters, starts with a letter (any
    script) and may hold digits, spaces, hyphens, dots and apostrophes.

    Heuristic against false positives such as ``Note: the school...``: a label
    counts only if it occurs (case-insensitively) at the start of at least two
    lines of the document, or is a known role word (interviewer, researcher,
    participant, moderator, entrevistador(a), ``P3``, ``R1``, ``I``, ``Q``, ``A``...).

    A turn runs to the next turn's start, without trailing whitespace; text before
    the first turn belongs to no turn. ``speech_start`` is the first non-blank
    character after the label.

    ``pattern`` replaces the built-in rule: a regular expression with a named
    group ``speaker`` (optional group ``timestamp``), tried at each line start
    with ``re.MULTILINE``; every match counts (no recurrence guard). An invalid
    pattern raises :class:`coding.errors.CodingError`. More than
    :data:`~coding.importing.limits.MAX_TURNS` turns, or parsing past ``deadline``,
    raise :class:`~coding.importing.limits.LimitExceeded`.
    """
    return turns_from_labels(text, find_labels(text, pattern, deadline=deadline))

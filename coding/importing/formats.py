"""File formats -> :class:`ParsedTranscript` (stored text + speaker turns).

* ``.txt`` / ``.md``: the decoded text, verbatim (markdown is not rendered).
* ``.docx``: paragraph texts joined by ``\\n``, see :mod:`.wordml` for what counts.
* ``.vtt`` / ``.srt``: cues are rebuilt as a readable transcript, one paragraph
  per speaker turn (``"Speaker: words"``), paragraphs separated by a blank line.

For docx, vtt and srt the text built here *is* the stored text; every offset in
:class:`Turn` refers to it. Every format ends with the same checks on the stored
text (:func:`.decoding.check_text`) and on the turns (speaker and timestamp
widths), and runs under one time budget (:class:`.limits.Deadline`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import PurePath

from coding.errors import InputFileError
from coding.text.offsets import normalise_text
from coding.importing import limits
from coding.importing.decoding import check_size, check_text, decode_text, empty_error
from coding.importing.limits import Deadline, LimitExceeded, display_name, human_count
from coding.importing.speakers import (
    LabelMatch,
    Turn,
    compile_pattern,
    detect_turns,
    is_role_word,
    label_key,
    match_label,
    match_pattern,
)
from coding.importing.wordml import docx_text

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".vtt", ".srt")
UNKNOWN_SPEAKER = "Unknown"


@dataclass(frozen=True)
class ParsedTranscript:
    """A parsed file. ``warnings``: what was guessed, replaced or left out (one line
    each, naming the file); ``replaced_bytes``: undecodable bytes that became U+FFFD."""

    text: str
    turns: tuple[Turn, ...]
    encoding: str
    source_format: str
    warnings: tuple[str, ...] = ()
    replaced_bytes: int = 0


def check_suffix(filename: str) -> str:
    """The format of ``filename`` from its suffix (``"txt"``...), or :class:`InputFileError`."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix[1:]
    problem = (
        f"has the unsupported file type '{display_name(suffix, 20)}'" if suffix else "has no file extension"
    )
    raise InputFileError(
        display_name(filename),
        f"{problem} (supported: {', '.join(SUPPORTED_SUFFIXES)})",
        "Save the transcript as .txt, .md, .docx, .vtt or .srt and import again",
    )


_source_format = check_suffix


def parse_transcript(
    filename: str, data: bytes, *, speaker_pattern: str | None = None, deadline: Deadline | None = None
) -> ParsedTranscript:
    """Read one transcript file's bytes into stored text and speaker turns.

    The format comes from the file name's suffix. ``speaker_pattern`` (a regex
    with a named group ``speaker``) replaces the built-in speaker-label rule, see
    :func:`coding.importing.speakers.detect_turns`. Raises
    :class:`InputFileError` for a bad file (including one over a bound of
    :mod:`.limits`, or slower than ``deadline``), :class:`CodingError` for a bad pattern.
    """
    source_format = check_suffix(filename)
    if speaker_pattern is not None:
        compile_pattern(speaker_pattern)
    check_size(data, filename)
    if not data:
        raise empty_error(filename)
    deadline = deadline or Deadline()
    try:
        parsed = _parse(filename, data, source_format, speaker_pattern, deadline)
    except LimitExceeded as exc:
        raise InputFileError(display_name(filename), exc.problem, exc.fix) from None
    _check_turns(parsed, filename)
    return parsed


def _parse(filename: str, data: bytes, source_format: str, speaker_pattern: str | None,
           deadline: Deadline) -> ParsedTranscript:
    if source_format == "docx":
        raw, warnings = docx_text(data, filename, deadline)
        text = normalise_text(raw)
        check_text(text, filename)
        turns = detect_turns(text, speaker_pattern, deadline=deadline)
        return ParsedTranscript(text, turns, "docx", "docx", warnings)
    decoded = decode_text(data, filename)
    deadline.check()
    if source_format in ("txt", "md"):
        turns = detect_turns(decoded.text, speaker_pattern, deadline=deadline)
        return ParsedTranscript(decoded.text, turns, decoded.encoding, source_format,
                                decoded.warnings, decoded.replaced_bytes)
    text, turns, problems = _subtitle_transcript(decoded.text, filename, source_format, speaker_pattern, deadline)
    check_text(text, filename)
    return ParsedTranscript(text, turns, decoded.encoding, source_format,
                            decoded.warnings + problems, decoded.replaced_bytes)


def _check_turns(parsed: ParsedTranscript, filename: str) -> None:
    """Speaker names and timestamps must fit their columns: refuse, never truncate."""
    for turn in parsed.turns:
        for what, value, limit in (("speaker name", turn.speaker, limits.MAX_SPEAKER_CHARS),
                                   ("timestamp", turn.timestamp or "", limits.MAX_TIMESTAMP_CHARS)):
            if len(value) > limit:
                line = parsed.text.count("\n", 0, turn.start) + 1
                raise InputFileError(
                    display_name(filename),
                    f"the {what} of the turn on line {line} is {human_count(len(value))} characters long, "
                    f"over the limit of {limit}",
                    "Shorten it in the file (or give a speaker pattern that matches only the name) "
                    "and import again",
                )


# --- WebVTT and SubRip ----------------------------------------------------------------

# Lenient on digits (1:02.5, 00:01:02,500), strict on what the numbers mean.
_CUE_TIME = r"(?:(\d+):)?(\d+):(\d+)(?:[.,](\d+))?"
_TIMING = re.compile(rf"^[ \t]*(?P<start>{_CUE_TIME})[ \t]*-->[ \t]*(?P<end>{_CUE_TIME})(?:[ \t].*)?$")
_CLOCK = re.compile(_CUE_TIME)
# A line that was meant as a timing line but is not one: "-->" anywhere, or a
# whole line of two clock times joined by another arrow or dash ("00:01 -> 00:02").
_CLOCKISH = r"\d(?=[\d.,]*:)[\d:.,]*+"  # digits with a colon; possessive, so linear on any line
_TIMING_LIKE = re.compile(rf"-->|^[ \t]*{_CLOCKISH}[ \t]*+(?:-+>|=+>|\u2192|[-\u2013\u2014]++)[ \t]*+{_CLOCKISH}"
                          r"(?:[ \t]++[^\s:]++:\S*+)*+[ \t]*$")
_SKIPPED_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")
# Each tag pattern stops at the next "<" (or "{"), and the voice name is matched
# possessively, so text full of "<" is stripped in linear time.
_VOICE = re.compile(r"<v(?:\.[^\s<>]*+)?(?:[ \t]++(?P<name>[^<>]*+))?>")
_VTT_TAG = re.compile(r"<[^<>]*+>")
_SRT_TAG = re.compile(r"</?(?:[biu]|font)\b[^<>]*+>", re.IGNORECASE)
_ASS_TAG = re.compile(r"\{\\[^{}]*+\}")


@dataclass
class _Cue:
    timestamp: str | None
    lines: list[str]


@dataclass
class _Segment:
    timestamp: str | None
    speaker: str | None
    words: str
    label: LabelMatch | None = None


def _seconds(clock: str) -> float | None:
    """Seconds of a cue time as written, or None when it is impossible (minutes or
    seconds over 59, more than 4 hour digits or 3 fraction digits)."""
    m = _CLOCK.fullmatch(clock)
    if m is None:
        return None
    hours, minutes, seconds, fraction = m.groups()
    if (hours is not None and len(hours) > 4) or len(minutes) > 2 or len(seconds) != 2 \
            or (fraction is not None and len(fraction) > 3):
        return None
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}")


class _CueProblems:
    """Counts what a subtitle file had wrong, for one warning per kind."""

    def __init__(self):
        self.found: dict[str, list[int]] = {}

    def add(self, kind: str, line: int) -> None:
        self.found.setdefault(kind, []).append(line)

    def warnings(self, filename: str) -> tuple[str, ...]:
        text = {
            "timing": "cue(s) with an invalid or impossible timing line: their text is kept, without a time",
            "order": "cue(s) ending before they start: their text and start time are kept",
            "untimed": "block(s) of text with no timing line: their text is kept, without a time",
        }
        return tuple(
            f"{display_name(filename)}: {human_count(len(lines))} {text[kind]} (first on line {lines[0]}). "
            "Check those cues in the file"
            for kind, lines in self.found.items()
        )


def _read_cues(text: str, problems: _CueProblems, deadline: Deadline | None = None) -> list[_Cue]:
    """Cues of a WebVTT/SubRip text, block by block (blocks end at a blank line).

    A block with timing lines gives one cue per timing line (a missing blank line
    leaves the next cue's number glued to the previous cue: dropped); the line
    before the first timing line is the cue's identifier. ``NOTE``/``STYLE``/
    ``REGION`` blocks and the ``WEBVTT`` header are skipped. Nothing else is
    dropped: a cue whose timing is invalid or impossible keeps its text without a
    time, a block of text with no timing line is kept as an untimed cue; both
    are counted in ``problems``.
    """
    cues: list[_Cue] = []
    block: list[tuple[int, str]] = []
    lines = text.split("\n")
    for lineno, line in enumerate([*lines, ""], start=1):
        if line.strip():
            block.append((lineno, line))
            continue
        if block:
            if deadline is not None and len(cues) % 4096 == 0:
                deadline.check()
            _read_block(block, cues, problems)
            block = []
    return cues


def _read_block(block: list[tuple[int, str]], cues: list[_Cue], problems: _CueProblems) -> None:
    if block[0][1].split()[0] in _SKIPPED_BLOCKS:
        return
    timing_at = [k for k, (_n, line) in enumerate(block) if _TIMING_LIKE.search(line)]
    if not timing_at:
        if not all(line.strip().isdigit() for _n, line in block):  # a lone cue number is no text
            problems.add("untimed", block[0][0])
            cues.append(_Cue(None, [line for _n, line in block]))
        return
    if timing_at[0] > 1:  # text before the identifier line
        problems.add("untimed", block[0][0])
        cues.append(_Cue(None, [line for _n, line in block[:timing_at[0] - 1]]))
    for i, k in enumerate(timing_at):
        lineno, line = block[k]
        stop = timing_at[i + 1] if i + 1 < len(timing_at) else len(block)
        body = [text for _n, text in block[k + 1:stop]]
        if i + 1 < len(timing_at) and body and body[-1].strip().isdigit():
            body.pop()
        cues.append(_Cue(_cue_start(line, lineno, problems), body))


def _cue_start(line: str, lineno: int, problems: _CueProblems) -> str | None:
    timing = _TIMING.match(line)
    start = _seconds(timing.group("start")) if timing else None
    end = _seconds(timing.group("end")) if timing else None
    if start is None or end is None:
        problems.add("timing", lineno)
        return None
    if end < start:
        problems.add("order", lineno)
    return timing.group("start")


def _clean_words(raw: str, source_format: str) -> str:
    if source_format == "vtt":
        raw = html.unescape(_VTT_TAG.sub("", raw))
    else:
        raw = _ASS_TAG.sub("", _SRT_TAG.sub("", raw))
    return " ".join(raw.split())


def _segments(cue: _Cue, source_format: str) -> list[_Segment]:
    """Split a cue at its voice tags; each piece keeps the cue's start time."""
    raw = " ".join(line.strip() for line in cue.lines)
    pieces: list[tuple[str | None, str]] = []
    speaker: str | None = None
    pos = 0
    if source_format == "vtt":
        for voice in _VOICE.finditer(raw):
            pieces.append((speaker, raw[pos:voice.start()]))
            name = _clean_words(voice.group("name") or "", source_format)
            speaker = name or None
            pos = voice.end()
    pieces.append((speaker, raw[pos:]))
    segments = []
    for speaker, piece in pieces:
        words = _clean_words(piece, source_format)
        if words:
            segments.append(_Segment(cue.timestamp, speaker, words))
    return segments


def _apply_text_labels(segments: list[_Segment], speaker_pattern: str | None) -> None:
    """Take a leading ``Name:`` of cues without a voice tag as their speaker.

    Same rule and recurrence guard as :func:`detect_turns`, counted over cues.
    """
    compiled = compile_pattern(speaker_pattern) if speaker_pattern is not None else None
    for seg in segments:
        if seg.speaker is None:
            seg.label = (
                match_pattern(compiled, seg.words) if compiled else match_label(seg.words)
            )
    counts: dict[str, int] = {}
    for seg in segments:
        if seg.label is not None:
            key = label_key(seg.label.speaker)
            counts[key] = counts.get(key, 0) + 1
    for seg in segments:
        label = seg.label
        if label is None:
            continue
        if compiled or counts[label_key(label.speaker)] >= 2 or is_role_word(label.speaker):
            words = seg.words[label.label_end:].strip()
            seg.speaker, seg.words = label.speaker, words


def _subtitle_transcript(
    decoded: str, filename: str, source_format: str, speaker_pattern: str | None,
    deadline: Deadline | None = None,
) -> tuple[str, tuple[Turn, ...], tuple[str, ...]]:
    """Rebuild subtitle cues as ``Speaker: words`` paragraphs.

    A cue's speaker is its voice tag (``<v Kelly>``, ``<v.loud Kelly>``) or a
    leading ``Name:``. A cue with neither continues the previous speaker's turn
    (subtitles usually name a speaker only when the speaker changes); cues before
    any named speaker are unlabeled turns of speaker ``"Unknown"``. Consecutive
    cues of one speaker merge into one paragraph, joined by a space; the turn's
    timestamp is its first cue's start time as written (None when that cue's
    timing was invalid). Returns the text, the turns and warnings about cues.
    """
    problems = _CueProblems()
    cues = _read_cues(decoded, problems, deadline)
    if not any(cue.timestamp is not None for cue in cues):
        raise InputFileError(
            display_name(filename),
            "has no subtitle cues (no timing line such as 00:00:01.000 --> 00:00:04.000)",
            f"Check that it is a {'WebVTT' if source_format == 'vtt' else 'SubRip'} file, "
            "or save the transcript as .txt and import again",
        )
    segments = [seg for cue in cues for seg in _segments(cue, source_format)]
    if deadline is not None:
        deadline.check()
    _apply_text_labels(segments, speaker_pattern)

    groups: list[tuple[str | None, str | None, list[str]]] = []
    speaker: str | None = None
    for seg in segments:
        if seg.speaker is not None:
            speaker = seg.speaker
        if groups and groups[-1][0] == speaker:
            if seg.words:
                groups[-1][2].append(seg.words)
        else:
            groups.append((speaker, seg.timestamp, [seg.words] if seg.words else []))
            if len(groups) > limits.MAX_TURNS:
                raise LimitExceeded(f"has more than {human_count(limits.MAX_TURNS)} speaker turns, over the limit")

    parts: list[str] = []
    turns: list[Turn] = []
    pos = 0
    for index, (speaker, timestamp, words) in enumerate(groups):
        label = f"{speaker}: " if speaker else ""
        paragraph = (label + " ".join(words)).rstrip()
        if index:
            parts.append("\n\n")
            pos += 2
        start = pos
        parts.append(paragraph)
        pos += len(paragraph)
        speech_start = min(start + len(label), pos)
        turns.append(Turn(speaker or UNKNOWN_SPEAKER, start, pos, speech_start, timestamp))
    text = "".join(parts)
    if not text.strip():
        raise empty_error(filename)
    return text, tuple(turns), problems.warnings(filename)

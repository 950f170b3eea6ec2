"""File formats -> :class:`ParsedTranscript` (stored text + speaker turns).

* ``.txt`` / ``.md``: the decoded text, verbatim (markdown is not rendered).
* ``.docx``: paragraph texts (table cells included, in document order) joined by ``\\n``.
* ``.vtt`` / ``.srt``: cues are rebuilt as a readable transcript, one paragraph
  per speaker turn (``"Speaker: words"``), paragraphs separated by a blank line.

For docx, vtt and srt the text built here *is* the stored text; every offset in
:class:`Turn` refers to it.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from ..errors import InputFileError
from ..offsets import normalise_text
from . import decoding
from .decoding import check_size, decode_bytes, empty_error
from .speakers import (
    LabelMatch,
    Turn,
    compile_pattern,
    detect_turns,
    is_role_word,
    label_key,
    match_label,
    match_pattern,
)

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".vtt", ".srt")
UNKNOWN_SPEAKER = "Unknown"
# Guard against zip bombs: uncompressed XML a .docx may hold.
MAX_DOCX_XML_BYTES = 10 * decoding.MAX_FILE_BYTES


@dataclass(frozen=True)
class ParsedTranscript:
    text: str
    turns: tuple[Turn, ...]
    encoding: str
    source_format: str


def _source_format(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix[1:]
    problem = (
        f"has the unsupported file type '{suffix}'" if suffix else "has no file extension"
    )
    raise InputFileError(
        filename,
        f"{problem} (supported: {', '.join(SUPPORTED_SUFFIXES)})",
        "Save the transcript as .txt, .md, .docx, .vtt or .srt and import again",
    )


def parse_transcript(
    filename: str, data: bytes, *, speaker_pattern: str | None = None
) -> ParsedTranscript:
    """Read one transcript file's bytes into stored text and speaker turns.

    The format comes from the file name's suffix. ``speaker_pattern`` (a regex
    with a named group ``speaker``) replaces the built-in speaker-label rule, see
    :func:`coding.importing.speakers.detect_turns`. Raises
    :class:`InputFileError` for a bad file, :class:`CodingError` for a bad pattern.
    """
    source_format = _source_format(filename)
    if speaker_pattern is not None:
        compile_pattern(speaker_pattern)
    check_size(data, filename)
    if not data:
        raise empty_error(filename)
    if source_format == "docx":
        text = _docx_text(data, filename)
        return ParsedTranscript(text, detect_turns(text, speaker_pattern), "docx", "docx")
    decoded, encoding = decode_bytes(data, filename)
    if source_format in ("txt", "md"):
        return ParsedTranscript(
            decoded, detect_turns(decoded, speaker_pattern), encoding, source_format
        )
    text, turns = _subtitle_transcript(decoded, filename, source_format, speaker_pattern)
    return ParsedTranscript(text, turns, encoding, source_format)


# --- docx ---------------------------------------------------------------------------

_DOCX_FIX = "Open it in Word/LibreOffice and save as .docx again, or export as .txt"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# A paragraph's visible text: python-docx's CT_P.text reads only w:r and w:hyperlink,
# which would drop tracked insertions, moved text, smart tags and simple fields.
# Runs render tabs and breaks as "\t" and "\n".
_RUNS = (
    "w:r | w:hyperlink | w:ins/w:r | w:moveTo/w:r | w:smartTag/w:r"
    " | w:fldSimple/w:r | w:sdt/w:sdtContent/w:r | w:customXml/w:r"
)


def _one_line(exc: BaseException) -> str:
    words = " ".join(str(exc).split())
    return words[:120] or type(exc).__name__


def _docx_text(data: bytes, filename: str) -> str:
    import docx  # imported here: only .docx imports pay for it

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InputFileError(filename, "is not a valid .docx (not a zip archive)", _DOCX_FIX)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml_bytes = sum(
                info.file_size for info in archive.infolist()
                if info.filename.endswith((".xml", ".rels"))
            )
        if xml_bytes > MAX_DOCX_XML_BYTES:
            raise InputFileError(
                filename,
                f"is not a valid .docx (its XML expands to {xml_bytes} bytes, "
                f"over the limit of {MAX_DOCX_XML_BYTES})",
                _DOCX_FIX,
            )
        document = docx.Document(io.BytesIO(data))
    except InputFileError:
        raise
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml and zip errors
        raise InputFileError(
            filename, f"is not a valid .docx ({_one_line(exc)})", _DOCX_FIX
        ) from None
    text = normalise_text("\n".join(_block_texts(document.element.body)))
    if not text.strip():
        raise empty_error(filename)
    return text


def _block_texts(container):
    """Paragraph texts of a body or table cell, tables and content controls included."""
    for child in container.iterchildren():
        if child.tag == _W + "p":
            yield "".join(part.text or "" for part in child.xpath(_RUNS))
        elif child.tag == _W + "tbl":
            for row in child.iterchildren(_W + "tr"):
                for cell in row.iterchildren(_W + "tc"):
                    yield from _block_texts(cell)
        elif child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _block_texts(content)


# --- WebVTT and SubRip ----------------------------------------------------------------

_CUE_TIME = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_TIMING = re.compile(rf"^[ \t]*(?P<start>{_CUE_TIME})[ \t]*-->[ \t]*{_CUE_TIME}(?:[ \t].*)?$")
_SKIPPED_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+(?P<name>[^>]*))?>")
_VTT_TAG = re.compile(r"<[^>]*>")
_SRT_TAG = re.compile(r"</?(?:[biu]|font)\b[^>]*>", re.IGNORECASE)
_ASS_TAG = re.compile(r"\{\\[^}]*\}")


@dataclass
class _Cue:
    timestamp: str
    lines: list[str]


@dataclass
class _Segment:
    timestamp: str
    speaker: str | None
    words: str
    label: LabelMatch | None = None


def _read_cues(text: str) -> list[_Cue]:
    cues: list[_Cue] = []
    current: _Cue | None = None
    block_start, skipping = True, False
    for line in text.split("\n"):
        if not line.strip():
            current, block_start, skipping = None, True, False
            continue
        timing = _TIMING.match(line)
        if block_start and not timing and line.split()[0] in _SKIPPED_BLOCKS:
            skipping = True
        block_start = False
        if timing:
            skipping = False
            # A missing blank line leaves the next cue's number glued to this cue.
            if current is not None and current.lines and current.lines[-1].strip().isdigit():
                current.lines.pop()
            current = _Cue(timing.group("start"), [])
            cues.append(current)
        elif not skipping and current is not None:
            current.lines.append(line)
    return cues


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
    decoded: str, filename: str, source_format: str, speaker_pattern: str | None
) -> tuple[str, tuple[Turn, ...]]:
    """Rebuild subtitle cues as ``Speaker: words`` paragraphs.

    A cue's speaker is its voice tag (``<v Kelly>``, ``<v.loud Kelly>``) or a
    leading ``Name:``. A cue with neither continues the previous speaker's turn
    (subtitles usually name a speaker only when the speaker changes); cues before
    any named speaker are unlabeled turns of speaker ``"Unknown"``. Consecutive
    cues of one speaker merge into one paragraph, joined by a space; the turn's
    timestamp is its first cue's start time as written.
    """
    cues = _read_cues(decoded)
    if not cues:
        raise InputFileError(
            filename,
            "has no subtitle cues (no timing line such as 00:00:01.000 --> 00:00:04.000)",
            f"Check that it is a {'WebVTT' if source_format == 'vtt' else 'SubRip'} file, "
            "or save the transcript as .txt and import again",
        )
    segments = [seg for cue in cues for seg in _segments(cue, source_format)]
    _apply_text_labels(segments, speaker_pattern)

    groups: list[tuple[str | None, str, list[str]]] = []
    speaker: str | None = None
    for seg in segments:
        if seg.speaker is not None:
            speaker = seg.speaker
        if groups and groups[-1][0] == speaker:
            if seg.words:
                groups[-1][2].append(seg.words)
        else:
            groups.append((speaker, seg.timestamp, [seg.words] if seg.words else []))

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
    return text, tuple(turns)

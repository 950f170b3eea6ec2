r"""Transcript import, pure part: bytes of a .txt/.md/.docx/.vtt/.srt file ->
stored text + speaker turns (no database here).

>>> parsed = parse_transcript("interview.txt", b"Interviewer: Hello?\nP3: Hi.\n")
>>> [(t.speaker, parsed.text[t.speech_start:t.end]) for t in parsed.turns]
[('Interviewer', 'Hello?'), ('P3', 'Hi.')]

Every bound a file must stay within is in :mod:`.limits`.
"""

from coding.importing.decoding import Decoded, decode_bytes, decode_text
from coding.importing.files import expand_paths, read_regular_file
from coding.importing.formats import SUPPORTED_SUFFIXES, ParsedTranscript, check_suffix, parse_transcript
from coding.importing.limits import MAX_FILE_BYTES, MAX_TEXT_CHARS
from coding.importing.speakers import Turn, detect_turns

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TEXT_CHARS",
    "SUPPORTED_SUFFIXES",
    "Decoded",
    "ParsedTranscript",
    "Turn",
    "check_suffix",
    "decode_bytes",
    "decode_text",
    "detect_turns",
    "expand_paths",
    "parse_transcript",
    "read_regular_file",
]

r"""Transcript import, pure part: bytes of a .txt/.md/.docx/.vtt/.srt file ->
stored text + speaker turns (no database here).

>>> parsed = parse_transcript("interview.txt", b"Interviewer: Hello?\nP3: Hi.\n")
>>> [(t.speaker, parsed.text[t.speech_start:t.end]) for t in parsed.turns]
[('Interviewer', 'Hello?'), ('P3', 'Hi.')]
"""

from .decoding import MAX_FILE_BYTES, decode_bytes
from .formats import SUPPORTED_SUFFIXES, ParsedTranscript, parse_transcript
from .speakers import Turn, detect_turns

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "ParsedTranscript",
    "Turn",
    "decode_bytes",
    "detect_turns",
    "parse_transcript",
]

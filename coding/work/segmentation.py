"""Units a span can be widened to or measured in: speaker turns and stored sentences."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coding.store.models import Document, Sentence


def turn_spans(doc: Document, *, speech_only: bool = True) -> list[tuple[int, int]]:
    """Each turn's span; by default from where the words begin (label excluded)."""
    return [((t.speech_start if speech_only else t.start), t.end) for t in doc.turns
            if (t.speech_start if speech_only else t.start) < t.end]


def ensure_sentences(s: Session, doc: Document) -> list[tuple[int, int]]:
    """Sentence spans of a document: segmented once with spaCy and stored."""
    if doc.sentence_model is None:
        from coding.nlp import pipeline_name, sentence_spans  # spaCy loads only when needed

        spans = sentence_spans(doc.text, doc.language)
        s.execute(delete(Sentence).where(Sentence.document_id == doc.id))
        s.add_all(Sentence(document_id=doc.id, position=i, start=a, end=b) for i, (a, b) in enumerate(spans))
        doc.sentence_model = pipeline_name(doc.language)
        s.flush()
        return spans
    return [tuple(r) for r in s.execute(
        select(Sentence.start, Sentence.end).where(Sentence.document_id == doc.id).order_by(Sentence.position)
    ).all()]


def enclosing(units: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The smallest run of units covering ``[start, end)``; unchanged if none overlaps."""
    hit = [(a, b) for a, b in units if a < end and start < b]
    if not hit:
        return start, end
    return min(start, hit[0][0]), max(end, hit[-1][1])


def blocks(doc: Document) -> list[tuple[str, str, int, int]]:
    """The document cut into display blocks covering its whole text: one per speaker
    turn, and paragraphs for text outside turns. ``(id, speaker, start, end)``;
    whitespace between blocks is left out."""
    out: list[tuple[str, str, int, int]] = []

    def paragraphs(a: int, b: int) -> None:
        pos = a
        for part in doc.text[a:b].split("\n\n"):
            s, e = pos, pos + len(part)
            pos = e + 2
            ls = len(part) - len(part.lstrip())
            rs = len(part.rstrip())
            if rs > ls:
                out.append((f"p{s + ls}", "", s + ls, s + rs))

    cursor = 0
    for t in doc.turns:
        if t.start > cursor:
            paragraphs(cursor, t.start)
        out.append((f"t{t.position}", t.speaker, t.start, t.end))
        cursor = max(cursor, t.end)
    if cursor < doc.length:
        paragraphs(cursor, doc.length)
    return out



def label_spans(doc: Document) -> list[tuple[int, int]]:
    """Speaker labels and timestamps: each turn's text before its words begin."""
    return [(t.start, t.speech_start) for t in doc.turns if t.start < t.speech_start]


def without_labels(units: list[tuple[int, int]], labels: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``units`` (e.g. sentences) with speaker labels and timestamps cut out, so widening
    never pulls a label into a coding. A unit that was only a label disappears."""
    out = []
    for a, b in units:
        for la, lb in labels:
            if lb <= a or la >= b:
                continue
            if la > a:
                out.append((a, la))
            a = max(a, lb)
            if a >= b:
                break
        if a < b:
            out.append((a, b))
    return out

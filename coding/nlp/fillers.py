"""Words that are no theme and sentences that are no data, found from frequency, in any language.

No word list: what a filler or discourse marker is ("like", "honestly", "harto", "o sea")
differs by language and by speaker, so it is read off the collection itself.

* :func:`general_terms`: a word every participant says, at about the rate they speak, is
  how people talk, not what they talk about. Measured with Gries' *deviation of
  proportions* (DP; Gries 2008, "Dispersions and adjusted frequencies in corpora",
  International Journal of Corpus Linguistics 13(4)): with ``s_i`` document ``i``'s share
  of the units and ``v_i`` its share of the units holding the word,
  ``DP = 0.5 * sum_i |v_i - s_i|`` (0: spread exactly like the text; near 1: all in one
  place). A word in at least ``MIN_SHARE_DOCS`` of the documents (three at least) with
  ``DP <= MAX_DP`` is general: it may sit inside a phrase ("lesson plan template") but is
  never a theme's anchor or label alone. Two documents cannot show spread: there a word
  said without anything its sentences share is left out by the themes' tie test instead
  (:func:`coding.nlp.themes.tying_features`).
* :func:`closing_units`: the polite end of an interview ("Thank you. And good luck with
  the transcription") is the participant's speech after the interviewer's last turn, and
  sentences made only of words that recur in the last sentences of most documents.
"""

from __future__ import annotations

from collections import Counter, defaultdict

MIN_SHARE_DOCS = 0.6
MAX_DP = 0.25
CLOSING_TAIL = 3  # the last units of a document where closing formulas are looked for


def general_terms(units) -> frozenset[str]:
    """Single-word features (terms) that are general in ``units`` (objects with ``document_id``
    and ``terms``); see the module docstring."""
    size = Counter(u.document_id for u in units)
    n = sum(size.values())
    if not n:
        return frozenset()
    per_doc: dict[str, Counter] = defaultdict(Counter)
    for u in units:
        for t in set(u.terms):
            per_doc[t][u.document_id] += 1
    out = set()
    many_docs = len(size) >= 3
    for t, c in per_doc.items():
        total = sum(c.values())
        if not many_docs or len(c) < max(3, MIN_SHARE_DOCS * len(size)):
            continue
        dp = 0.5 * sum(abs(c[d] / total - size[d] / n) for d in size)
        if dp <= MAX_DP:
            out.add(t)
    return frozenset(out)


def closing_units(units, last_question: dict[str, int] | None = None) -> set[int]:
    """Indexes of ``units`` (in document order per document) that close an interview politely.

    ``last_question``: document id -> where the interviewer's last turn starts; a unit
    starting after it is closing. Also closing: a unit among the last ``CLOSING_TAIL`` of its
    document whose terms all recur in the last units of at least half the documents (two at
    least): the formulas every interview ends with, in whatever language."""
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_doc[u.document_id].append(i)
    out: set[int] = set()
    for d, idx in by_doc.items():
        at = (last_question or {}).get(d)
        if at is not None:
            out.update(i for i in idx if units[i].start > at)
    tails = {d: sorted(idx, key=lambda i: units[i].start)[-CLOSING_TAIL:] for d, idx in by_doc.items()}
    seen = Counter(t for idx in tails.values() for t in {t for i in idx for t in units[i].terms})
    need = max(2, len(by_doc) / 2)
    ritual = {t for t, c in seen.items() if c >= need}
    for idx in tails.values():
        for i in idx:
            terms = set(units[i].terms)
            if terms and terms <= ritual:
                out.add(i)
    return out

"""Which quotes a quote bank holds (issue 16): one per passage, not one per coder.

Two coders who code the same passage with the same code give two codings of nearly the
same text; a quote bank listing both repeats the passage. :func:`choose_quotes` picks,
document by document, the consensus layer where a lead adjudicated it, and elsewhere
merges overlapping codings of one code into one quote (the union of their spans, its
coders listed). Mode "coder" keeps every coding (the per-coder listing). Pure: works on
:class:`~coding.exporting.excerpts.Excerpt` lists, no store.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from coding.errors import CodingError
from coding.exporting.excerpts import Excerpt, attribute

QUOTE_MODES = ("auto", "passage", "coder")
MODE_LABELS = {"auto": "Consensus where adjudicated, else one quote per passage",
               "passage": "One quote per passage (overlapping codings merged)",
               "coder": "One quote per coder and coding"}


@dataclass(frozen=True)
class QuoteChoice:
    """The quotes, and how they were chosen (for the cover line)."""

    quotes: list[Excerpt]
    description: str


def check_mode(mode: str) -> str:
    if mode not in QUOTE_MODES:
        raise CodingError(f"quote mode {mode!r} is not one of {', '.join(QUOTE_MODES)}: auto (consensus where "
                          "adjudicated, else one quote per passage), passage, or coder (every coder's coding)")
    return mode


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def choose_quotes(es: Sequence[Excerpt], mode: str, template: str) -> QuoteChoice:
    """The quotes of ``es`` by ``mode``: "auto" (a document with consensus codings gives
    those; the others one quote per passage), "passage" (one quote per passage in every
    layer) or "coder" (every coding as it is). ``template`` attributes merged quotes."""
    check_mode(mode)
    if mode == "coder":
        return QuoteChoice(list(es), "quotes: one per coder and coding (a passage several coders coded appears "
                                     "once for each)")
    consensus_docs = {e.document_id for e in es if e.layer == "consensus"} if mode == "auto" else set()
    kept = [e for e in es if e.layer == "consensus" or e.document_id not in consensus_docs]
    merged = merge_passages(kept, template)
    n_merged = sum(1 for e in merged if ";" in e.coding_id)
    passage = ("one quote per passage (overlapping codings of the same code merged into their union, "
               f"coders listed; {_plural(n_merged, 'quote')} merged)")
    other_docs = {e.document_id for e in kept} - consensus_docs
    if consensus_docs and other_docs:
        text = (f"quotes: the consensus layer in {_plural(len(consensus_docs), 'document')}; in the other "
                f"{_plural(len(other_docs), 'document')} {passage}")
    elif consensus_docs:
        text = "quotes: the consensus layer"
    else:
        text = f"quotes: {passage}" + ("; no consensus layer yet" if mode == "auto" else "")
    return QuoteChoice(merged, text)


def merge_passages(es: Sequence[Excerpt], template: str) -> list[Excerpt]:
    """Overlapping excerpts of the same code, document and layer merged into one: the union
    span and its text, coders listed, memos kept with their coder's name; in the order of
    their first excerpt."""
    groups: dict[tuple, list[tuple[int, Excerpt]]] = {}
    for i, e in enumerate(es):
        groups.setdefault((e.document_id, e.code_id, e.layer), []).append((i, e))
    out: list[tuple[int, Excerpt]] = []
    for items in groups.values():
        items.sort(key=lambda t: (t[1].start, t[1].end))
        run = [items[0]]
        end = items[0][1].end
        for i, e in items[1:]:
            if e.start < end:
                run.append((i, e))
                end = max(end, e.end)
            else:
                out.append(_merged(run, template))
                run, end = [(i, e)], e.end
        out.append(_merged(run, template))
    out.sort(key=lambda t: t[0])
    return [e for _, e in out]


def _merged(run: list[tuple[int, Excerpt]], template: str) -> tuple[int, Excerpt]:
    first_index = min(i for i, _ in run)
    es = [e for _, e in run]
    if len(es) == 1:
        return first_index, es[0]
    text, end = es[0].text, es[0].end
    for e in es[1:]:
        if e.end > end:
            text += e.text[end - e.start:]
            end = e.end
    speakers = tuple(dict.fromkeys(sp for e in es for sp in e.speakers))
    coders = sorted({e.coder for e in es}, key=str.casefold)
    turns = ((min(e.turns[0] for e in es), max(e.turns[1] for e in es)) if all(e.turns for e in es) else None)
    paragraphs = ((min(e.paragraphs[0] for e in es), max(e.paragraphs[1] for e in es))
                  if all(e.paragraphs for e in es) else None)
    memo = "\n".join(f"{e.coder}: {e.memo}" for e in es if e.memo)
    m = replace(es[0], coding_id=";".join(e.coding_id for e in es), coder=", ".join(coders),
                provenance=", ".join(dict.fromkeys(e.provenance for e in es)), start=es[0].start, end=end,
                text=text, speakers=speakers, turns=turns, paragraphs=paragraphs, memo=memo)
    return first_index, replace(m, attribution=attribute(template, m))


def other_codes(quotes: Sequence[Excerpt], pool: Sequence[Excerpt]) -> list[list[str]]:
    """For each quote, the paths of the other codes whose codings in ``pool`` overlap it in
    the same document and layer (for a coder-layer quote: by one of its coders), in
    codebook order as ``pool`` is."""
    by_doc: dict[tuple[str, str], list[tuple[int, int, Excerpt]]] = {}
    for i, e in enumerate(pool):
        by_doc.setdefault((e.document_id, e.layer), []).append((e.start, i, e))
    starts, longest = {}, {}
    for key, items in by_doc.items():
        items.sort(key=lambda t: t[0])
        starts[key] = [t[0] for t in items]
        longest[key] = max(e.end - e.start for _, _, e in items)
    out = []
    for q in quotes:
        key = (q.document_id, q.layer)
        items = by_doc.get(key, [])
        coders = set(q.coder.split(", "))
        hits: dict[str, int] = {}
        at = starts.get(key, [])
        # only codings starting after q.start minus the longest one can reach into the quote
        first = bisect.bisect_left(at, q.start - longest.get(key, 0))
        for start, i, e in items[first:bisect.bisect_left(at, q.end)]:
            if e.end > q.start and e.code_id != q.code_id and (q.layer == "consensus" or e.coder in coders):
                hits.setdefault(e.code, i)
        out.append(sorted(hits, key=hits.get))
    return out

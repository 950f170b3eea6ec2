"""Thematic saturation: new codes per document as documents accumulate, and the measure of
Guest, Namey & Chen (2020), "A simple method to assess and report thematic saturation in
qualitative research", PLoS ONE 15(5): e0232076, doi:10.1371/journal.pone.0232076.

Their measure has three parts: the *base size* (the first ``b`` documents; the number of
unique codes in them is the denominator), the *run length* (``r`` consecutive documents
after those already counted) and the *new-information threshold* (e.g. <= 5%). A run's new
information is the number of codes first seen in the run divided by the codes of the base.
Runs slide one document at a time from document ``b + 1``; saturation is reached at the
first run whose new information is at or below the threshold, and reported as the number
of documents before that run (the run itself confirms it: "n interviews, plus r to confirm").

The functions on plain data (:func:`new_codes_per_document`, :func:`guest_saturation`,
:func:`prevalence`) are pure; :func:`project_saturation` reads a project's codings under
the blind rule (:mod:`coding.team.visibility`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.errors import CodingError
from coding.team.access import Action, require
from coding.team.members import Member
from coding.store.models import Attribute, Code, Coder, Coding, Document, Project

LEVELS = ("code", "family")   # leaf codes as applied, or each code's top-level code (its family)
LAYERS = ("coder", "consensus")


@dataclass(frozen=True)
class Step:
    """One document in order: its position (1-based), the codes first seen in it, the total so far."""

    position: int
    document: str
    new: tuple[str, ...]
    cumulative: int

    @property
    def n_new(self) -> int:
        return len(self.new)


@dataclass(frozen=True)
class Run:
    """Documents ``start``..``end`` (1-based, inclusive) and the codes first seen in them."""

    start: int
    end: int
    new: int
    share: float  # new / codes in the base


@dataclass(frozen=True)
class Saturation:
    """The measure of Guest, Namey & Chen (2020) under one choice of parameters."""

    base_size: int
    run_length: int
    threshold: float
    base_codes: int                 # unique codes in the first base_size documents
    total_codes: int                # unique codes in all documents
    runs: tuple[Run, ...]
    point: int | None               # documents needed (those before the first run at or under the threshold)
    confirmed_at: int | None        # point + run_length: the documents that show it

    @property
    def reached(self) -> bool:
        return self.point is not None

    def sentence(self) -> str:
        """The saturation result as a methods-section sentence."""
        params = (f"base size {self.base_size}, run length {self.run_length}, new-information threshold "
                  f"<= {self.threshold:.0%}")
        if not self.runs:
            return (f"Saturation could not be assessed ({params}; Guest, Namey & Chen, 2020): it needs at least "
                    f"{self.base_size + self.run_length} coded documents.")
        if not self.reached:
            last = self.runs[-1]
            return (f"Saturation was not reached ({params}; Guest, Namey & Chen, 2020): the last run, documents "
                    f"{last.start}-{last.end}, added {last.new} new code(s), {last.share:.0%} of the "
                    f"{self.base_codes} codes of the base.")
        run = next(r for r in self.runs if r.end == self.confirmed_at)
        return (f"Saturation was reached at {self.point} documents ({params}; Guest, Namey & Chen, 2020): the "
                f"{self.base_codes} codes of the first {self.base_size} documents formed the base, and documents "
                f"{run.start}-{run.end} added {run.new} new code(s) ({run.share:.0%} new information); "
                f"{self.total_codes} codes in all.")


def new_codes_per_document(order: Sequence[str], codes: Mapping[str, Iterable[str]]) -> list[Step]:
    """Each document of ``order`` with the codes it is the first to hold, and the cumulative count."""
    seen: set[str] = set()
    out = []
    for i, doc in enumerate(order, start=1):
        new = sorted(set(codes.get(doc, ())) - seen)
        seen.update(new)
        out.append(Step(i, doc, tuple(new), len(seen)))
    return out


def check_parameters(base_size: int, run_length: int, threshold: float) -> None:
    """Refuse parameters the measure cannot use, saying which and why."""
    if not isinstance(base_size, int) or base_size < 1:
        raise CodingError(f"base size {base_size!r}: give a whole number of documents, at least 1 (the paper uses 4-6)")
    if not isinstance(run_length, int) or run_length < 1:
        raise CodingError(f"run length {run_length!r}: give a whole number of documents, at least 1 (the paper uses 2-3)")
    if not 0 <= threshold < 1:
        raise CodingError(f"new-information threshold {threshold!r}: give a share from 0 (none) to below 1, e.g. 0.05")


def guest_saturation(new_counts: Sequence[int], *, base_size: int = 4, run_length: int = 2,
                     threshold: float = 0.05) -> Saturation:
    """The measure from the number of new codes each document contributed, in order."""
    check_parameters(base_size, run_length, threshold)
    counts = [int(n) for n in new_counts]
    base = sum(counts[:base_size])
    runs = []
    point = confirmed = None
    for start in range(base_size + 1, len(counts) - run_length + 2):
        end = start + run_length - 1
        new = sum(counts[start - 1:end])
        share = new / base if base else (0.0 if new == 0 else float("inf"))
        runs.append(Run(start, end, new, share))
        # a tiny tolerance: 1/20 must count as 5% whatever the float rounding
        if point is None and len(counts) >= base_size + run_length and share <= threshold + 1e-12:
            point, confirmed = start - 1, end
    return Saturation(base_size, run_length, threshold, base, sum(counts), tuple(runs), point, confirmed)


def prevalence(order: Sequence[str], codes: Mapping[str, Iterable[str]]) -> list[dict]:
    """For each code and each position in ``order``: how many of the documents so far hold it
    (one row per code and document, codes in the order they first appear)."""
    sets = [set(codes.get(d, ())) for d in order]
    first: dict[str, int] = {}
    for i, cs in enumerate(sets):
        for c in sorted(cs):
            first.setdefault(c, i)
    counts = dict.fromkeys(first, 0)
    rows = []
    for i, (doc, cs) in enumerate(zip(order, sets)):
        for c in cs:
            counts[c] += 1
        rows.extend({"position": i + 1, "document": doc, "code": c, "documents": counts[c]}
                    for c in first if first[c] <= i)
    return rows


@dataclass
class ProjectSaturation:
    """Saturation of one project's coding: the order used, each document's codes, the measure."""

    order: list[str]
    codes: dict[str, set[str]]
    steps: list[Step]
    saturation: Saturation
    options: dict = field(default_factory=dict)

    def table(self) -> list[dict]:
        """One row per document: position, document, new codes, cumulative, and the run ending there."""
        runs = {r.end: r for r in self.saturation.runs}
        out = []
        for st in self.steps:
            r = runs.get(st.position)
            out.append({"position": st.position, "document": st.document, "new_codes": st.n_new,
                        "cumulative_codes": st.cumulative, "new_in_run": r.new if r else None,
                        "new_information": r.share if r else None, "codes_first_seen": "; ".join(st.new)})
        return out

    def prevalence(self) -> list[dict]:
        return prevalence(self.order, self.codes)


def project_saturation(s: Session, project: Project, member: Member, *, coder: str | None = None,
                       layer: str = "coder", level: str = "code", order_attribute: str | None = None,
                       base_size: int = 4, run_length: int = 2, threshold: float = 0.05) -> ProjectSaturation:
    """Saturation of the codings ``member`` may see (the blind rule): of one ``coder`` (by name)
    or of all coders (``layer='coder'``), or of the consensus layer; per leaf code or per code
    family (``level='family'``: each code counted as its top-level code). Documents are taken in
    the order they were first coded, or by the value of attribute ``order_attribute`` (e.g. an
    interview date written YYYY-MM-DD; documents without it follow, in coding order)."""
    from coding.team.visibility import visibility

    m = require(s, member, Action.READ_CODINGS, project)
    if layer not in LAYERS:
        raise CodingError(f"layer {layer!r} is unknown: use coder or consensus")
    if level not in LEVELS:
        raise CodingError(f"level {level!r} is unknown: use code (leaf codes) or family (top-level codes)")
    check_parameters(base_size, run_length, threshold)
    q = (select(Document.name, Coding.code_id, func.min(Coding.created_at))
         .join(Document, Document.id == Coding.document_id)
         .where(visibility(s, m).codings(), Coding.layer == layer)
         .group_by(Document.name, Coding.code_id))
    if coder is not None:
        cid = s.scalar(select(Coder.id).where(Coder.project_id == project.id, Coder.name == coder))
        if cid is None:
            raise CodingError(f"no member {coder!r} in {project.name!r}: give a member's name")
        q = q.where(Coding.coder_id == cid)
    codes = {c.id: c for c in s.scalars(select(Code).where(Code.project_id == project.id))}
    label = _labeller(codes, level)
    by_doc: dict[str, set[str]] = {}
    first: dict[str, object] = {}
    for doc, code_id, at in s.execute(q):
        by_doc.setdefault(doc, set()).add(label(code_id))
        first[doc] = min(first[doc], at) if doc in first else at
    order = sorted(by_doc, key=lambda d: (first[d], d))
    if order_attribute:
        values = dict(s.execute(select(Document.name, Attribute.value).join(Attribute)
                                .where(Document.project_id == project.id, Attribute.name == order_attribute)).all())
        if not values:
            raise CodingError(f"no document of {project.name!r} has the attribute {order_attribute!r}: "
                              "import it with the participant attributes, or order by coding time")
        rank = {d: i for i, d in enumerate(order)}
        order.sort(key=lambda d: (d not in values or not values[d], values.get(d) or "", rank[d]))
    steps = new_codes_per_document(order, by_doc)
    sat = guest_saturation([st.n_new for st in steps], base_size=base_size, run_length=run_length,
                           threshold=threshold)
    opts = {"coder": coder, "layer": layer, "level": level, "order_attribute": order_attribute}
    return ProjectSaturation(order, by_doc, steps, sat, opts)


def _labeller(codes: Mapping[str, Code], level: str):
    """code id -> the label counted: its path (leaf level) or its top-level code's name (family)."""
    cache: dict[str, str] = {}

    def path(cid: str) -> str:
        if cid not in cache:
            names, seen, c = [], set(), codes.get(cid)
            while c is not None and c.id not in seen:
                seen.add(c.id)
                names.append(c.name)
                c = codes.get(c.parent_id) if c.parent_id else None
            cache[cid] = "/".join(reversed(names)) or cid
        return cache[cid]

    if level == "family":
        return lambda cid: path(cid).split("/", 1)[0]
    return path


def order_attributes(s: Session, project: Project, member: Member) -> list[str]:
    """The attribute names documents can be ordered by (e.g. an interview date), sorted."""
    require(s, member, Action.READ_PROJECT, project)
    return sorted(s.scalars(select(Attribute.name).join(Document, Document.id == Attribute.document_id)
                            .where(Document.project_id == project.id).distinct()))

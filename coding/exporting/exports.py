"""One entry point for every export: filters → excerpts (blind rule) → a writer → bytes.

The CLI's ``export`` and the Retrieve page's download buttons both call :func:`export`,
so a file made in one place is the file made in the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from coding.codebook.tree import visible_code_tree
from coding.errors import CodingError
from coding.team.members import Member
from coding.store.models import Project
from coding.exporting import matrices, writers
from coding.exporting.excerpts import excerpts
from coding.exporting.pseudonyms import Pseudonyms

WHAT_FORMATS: dict[str, tuple[str, ...]] = {
    "excerpts": ("csv", "xlsx", "md", "json"),
    "quotes": ("docx",),
    "codebook": ("docx", "md"),
    "matrix": ("csv", "xlsx", "md"),
}
MIME = {"csv": "text/csv", "md": "text/markdown", "json": "application/json",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@dataclass
class Filters:
    """The filters of :func:`coding.exporting.excerpts.excerpts`, as one value."""

    codes: list[str] = field(default_factory=list)
    include_descendants: bool = True
    layer: str = "coder"
    documents: list[str] | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    round: str | None = None
    provenance: list[str] | None = None
    text_search: str | None = None
    template: str | None = None

    def kwargs(self) -> dict:
        return {"codes": self.codes or None, "include_descendants": self.include_descendants,
                "layer": self.layer, "documents": self.documents, "attributes": self.attributes or None,
                "round": self.round, "provenance": self.provenance or None,
                "text_search": self.text_search or None, "template": self.template}

    def describe(self) -> str:
        parts = []
        if self.codes:
            parts.append("codes " + ", ".join(self.codes) + ("" if self.include_descendants else " (no sub-codes)"))
        if self.documents:
            parts.append("documents " + ", ".join(self.documents))
        for k, vs in (self.attributes or {}).items():
            parts.append(f"{k} = {' or '.join(vs)}")
        if self.round:
            parts.append(f"round {self.round}")
        if self.provenance:
            parts.append("provenance " + ", ".join(self.provenance))
        if self.text_search:
            parts.append(f"text contains {self.text_search!r}")
        return "; ".join(parts)


@dataclass
class MatrixSpec:
    """Which matrix: ``attribute`` (code × attribute value, counting excerpts, documents or
    participants), ``cooccurrence`` (overlap or turn) or ``documents`` (code × document)."""

    kind: str = "attribute"
    attribute: str = "role"
    count: str = "excerpts"
    mode: str = "overlap"
    rollup: bool = False


@dataclass(frozen=True)
class Export:
    data: bytes
    filename: str
    mime: str


def build_matrix(s: Session, project: Project, member: Member, es, spec: MatrixSpec) -> matrices.Matrix:
    """A matrix of excerpts ``es`` over the codebook as ``member`` sees it."""
    tree = visible_code_tree(s, project, member)
    if spec.kind == "attribute":
        return matrices.code_by_attribute(es, tree, spec.attribute, count=spec.count, rollup=spec.rollup)
    if spec.kind == "cooccurrence":
        return matrices.co_occurrence(s, es, tree, mode=spec.mode)
    if spec.kind == "documents":
        return matrices.code_by_document(es, tree, rollup=spec.rollup)
    raise CodingError(f"matrix {spec.kind!r} is not one of attribute, cooccurrence, documents")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "project"


def export(s: Session, project: Project, member: Member, what: str, fmt: str, filters: Filters | None = None, *,
           pseudonyms: Pseudonyms | Mapping[str, str] | None = None, memos: bool = False,
           matrix: MatrixSpec | None = None, when: datetime | None = None) -> Export:
    """Make one export file as ``member`` (whose view the blind rule decides).

    ``what``: excerpts, quotes (DOCX quote bank), codebook (appendix), matrix. ``fmt``: one
    of :data:`WHAT_FORMATS` for it. ``pseudonyms``: real name → pseudonym, applied to the
    exported text only; the file then says it is pseudonymised."""
    if what not in WHAT_FORMATS:
        raise CodingError(f"cannot export {what!r}: choose one of {', '.join(WHAT_FORMATS)}")
    if fmt not in WHAT_FORMATS[what]:
        raise CodingError(f"{what} exports as {', '.join(WHAT_FORMATS[what])}, not {fmt!r}")
    filters = filters or Filters()
    ps = pseudonyms if isinstance(pseudonyms, Pseudonyms) else Pseudonyms(pseudonyms or {})
    es = ps.excerpts(excerpts(s, project, member, **filters.kwargs()))
    about = writers.About(project.name, filters.layer, project.codebook_version, filters.describe(),
                          bool(ps), when or datetime.now(UTC))
    tree = visible_code_tree(s, project, member)  # without other coders' proposals
    if ps:
        tree = _pseudonymised_tree(tree, ps)  # type: ignore[assignment]
    stem = f"{_slug(project.name)}-{what}"
    if what == "excerpts":
        if fmt == "csv":
            data = writers.excerpts_csv(es, pseudonymised=bool(ps)).encode("utf-8-sig")
        elif fmt == "xlsx":
            data = writers.excerpts_xlsx(es, about)
        elif fmt == "md":
            data = writers.excerpts_markdown(es, about).encode()
        else:
            records = [e.record() | ({"pseudonymised": True} if ps else {}) for e in es]
            data = json.dumps(records, ensure_ascii=False, indent=2).encode()
    elif what == "quotes":
        data = writers.quote_bank_docx(es, tree, about, memos=memos)
    elif what == "codebook":
        counts = writers.code_counts(es)
        data = (writers.appendix_docx(tree, counts, about) if fmt == "docx"
                else writers.appendix_markdown(tree, counts, about).encode())
    else:
        m = build_matrix(s, project, member, es, matrix or MatrixSpec())
        m.rows, m.columns = [ps.text(r) for r in m.rows], [ps.text(c) for c in m.columns]
        if ps:  # a CSV has no cover line: the corner cell says it
            m.row_header = f"{m.row_header} (PSEUDONYMISED: names replaced by pseudonyms in this export only)"
        data = (writers.matrix_csv(m).encode("utf-8-sig") if fmt == "csv"
                else writers.matrix_xlsx(m, about) if fmt == "xlsx" else writers.matrix_markdown(m, about).encode())
    return Export(data, f"{stem}.{fmt}", MIME[fmt])


@dataclass(frozen=True)
class _Infos:
    """What the DOCX and Markdown writers read of a code tree: ``infos`` in order, ``info`` by id."""

    infos: list
    info: dict


def _pseudonymised_tree(tree, ps: Pseudonyms) -> _Infos:
    """The code tree with names and texts pseudonymised (a code's example may quote a name)."""
    from dataclasses import replace

    infos = [replace(i, name=ps.text(i.name), path=ps.text(i.path), definition=ps.text(i.definition),
                     inclusion=ps.text(i.inclusion), exclusion=ps.text(i.exclusion), example=ps.text(i.example))
             for i in tree.infos]
    return _Infos(infos, {i.id: i for i in infos})

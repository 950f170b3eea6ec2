"""One entry point for every export: filters → excerpts (blind rule) → a writer → bytes.

The CLI's ``export`` and the Retrieve page's download buttons both call :func:`export`,
so a file made in one place is the file made in the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.tree import visible_code_tree
from coding.errors import CodingError
from coding.team.access import Action, require
from coding.team.members import Member
from coding.team.visibility import visibility
from coding.store.models import Coder, Document, Memo, Project
from coding.exporting import matrices, writers
from coding.exporting.excerpts import excerpts, project_template
from coding.exporting.pseudonyms import Pseudonyms
from coding.exporting.quote_bank import BankOptions, quote_bank_docx
from coding.exporting.quotes import check_mode, choose_quotes, other_codes

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

    def describe(self, tree=None) -> str:
        """The filters in words, codes by their paths (``tree`` turns code ids into paths)."""
        parts = []
        if self.codes:
            info = getattr(tree, "info", {})
            paths = [info[c].path if c in info else c for c in self.codes]
            parts.append("codes " + ", ".join(paths) + ("" if self.include_descendants else " (no sub-codes)"))
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
    attribute: str = ""          # empty: "role" when the documents have it, else their first attribute
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
        names = sorted({k for e in es for k in e.attributes}, key=str.casefold)
        attribute = spec.attribute or ("role" if "role" in names else names[0] if names else "role")
        return matrices.code_by_attribute(es, tree, attribute, count=spec.count, rollup=spec.rollup)
    if spec.kind == "cooccurrence":
        return matrices.co_occurrence(s, es, tree, mode=spec.mode)
    if spec.kind == "documents":
        return matrices.code_by_document(es, tree, rollup=spec.rollup)
    raise CodingError(f"matrix {spec.kind!r} is not one of attribute, cooccurrence, documents")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "project"


def export(s: Session, project: Project, member: Member, what: str, fmt: str, filters: Filters | None = None, *,
           pseudonyms: Pseudonyms | Mapping[str, str] | None = None, memos: bool = False,
           matrix: MatrixSpec | None = None, when: datetime | None = None, quotes: str = "auto",
           bank: BankOptions | None = None, warnings: list[str] | None = None) -> Export:
    """Make one export file as ``member`` (whose view the blind rule decides).

    ``what``: excerpts, quotes (DOCX quote bank), codebook (appendix), matrix. ``fmt``: one
    of :data:`WHAT_FORMATS` for it. ``pseudonyms``: real name → pseudonym, applied to the
    exported text only; the file then says it is pseudonymised. Quote bank: ``quotes`` is
    "auto" (consensus where adjudicated, else one quote per passage), "passage" or "coder";
    ``bank`` its options (``memos`` is ``bank.memos``). Warnings (attribution fields some
    documents lack) go into the file and, when given, into ``warnings``."""
    if what not in WHAT_FORMATS:
        raise CodingError(f"cannot export {what!r}: choose one of {', '.join(WHAT_FORMATS)}")
    if fmt not in WHAT_FORMATS[what]:
        raise CodingError(f"{what} exports as {', '.join(WHAT_FORMATS[what])}, not {fmt!r}")
    m = require(s, member, Action.READ_CODINGS, project)
    filters = filters or Filters()
    bank = bank or BankOptions(memos=memos)
    check_mode(quotes)
    ps = pseudonyms if isinstance(pseudonyms, Pseudonyms) else Pseudonyms(pseudonyms or {})
    found: list[str] = []
    fetch = filters.kwargs()
    if what == "quotes" and quotes == "auto" and filters.layer == "coder":
        fetch["layer"] = "all"  # the consensus layer too, where a lead adjudicated
    es = excerpts(s, project, m, **fetch, warnings=found)
    everything = es  # every code's excerpts in these documents and layers, unless codes or text narrow it
    tree = visible_code_tree(s, project, m)  # without other coders' proposals
    choice = None
    if what == "quotes":
        choice = choose_quotes(es, quotes, filters.template or project_template(project))
        es = choice.quotes
    if warnings is not None:
        warnings.extend(found)
    about = writers.About(project.name, filters.layer, project.codebook_version, ps.text(filters.describe(tree)),
                          bool(ps), when or datetime.now(UTC), quotes=choice.description if choice else "",
                          warnings=tuple(ps.text(w) for w in found))
    also = None
    if what == "quotes" and bank.other_codes:
        pool = (everything if not (fetch["codes"] or fetch["text_search"])
                else excerpts(s, project, m, **(fetch | {"codes": None, "text_search": None})))
        also = [[ps.text(c) for c in cs] for cs in other_codes(es, pool)]
    es = ps.excerpts(es)
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
        notes = _document_memos(s, m, {e.document_id for e in es}, ps) if bank.memos else None
        data = quote_bank_docx(es, tree, about, options=bank, also=also, document_memos=notes)
    elif what == "codebook":
        counts = writers.code_counts(es)
        data = (writers.appendix_docx(tree, counts, about) if fmt == "docx"
                else writers.appendix_markdown(tree, counts, about).encode())
    else:
        mx = build_matrix(s, project, m, es, matrix or MatrixSpec())
        mx.rows, mx.columns = [ps.text(r) for r in mx.rows], [ps.text(c) for c in mx.columns]
        if ps:  # a CSV has no cover line: the corner cell says it
            mx.row_header = f"{mx.row_header} (PSEUDONYMISED: names replaced by pseudonyms in this export only)"
        data = (writers.matrix_csv(mx).encode("utf-8-sig") if fmt == "csv"
                else writers.matrix_xlsx(mx, about) if fmt == "xlsx" else writers.matrix_markdown(mx, about).encode())
    return Export(data, f"{stem}.{fmt}", MIME[fmt])


def _document_memos(s: Session, member: Member, doc_ids: set[str], ps: Pseudonyms) -> dict[str, list[tuple[str, str]]]:
    """Document memos the member may see (the blind rule), by document name: [(author, text)]."""
    out: dict[str, list[tuple[str, str]]] = {}
    if not doc_ids:
        return out
    rows = s.execute(select(Document.name, Coder.name, Memo.text).join(Document, Document.id == Memo.document_id)
                     .outerjoin(Coder, Coder.id == Memo.author_id)
                     .where(Memo.document_id.in_(sorted(doc_ids)), visibility(s, member).memos())
                     .order_by(Document.name, Coder.name))
    for doc, author, text in rows:
        if text.strip():
            out.setdefault(ps.text(doc), []).append((ps.text(author or "former member"), ps.text(text)))
    return out


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

"""The segment table, the framework matrix and coded documents: one entry point,
:func:`export_coded`, for the CLI's ``export segments|framework|document`` and the Exports
page's download buttons.

Everything comes from the excerpts query (:func:`coding.exporting.excerpts.excerpts`), so
the blind rule decides what a member gets: in an open blind round a coder exports only
their own codings. Code columns are the codebook as the member sees it (another coder's
pending proposal is no column), codable codes in codebook order, narrowed by the code
filter. Files name codes by path, never by id.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.tree import CodeTree, visible_code_tree
from coding.errors import CodingError
from coding.exporting.document_docx import CodedDocument, coded_documents_docx
from coding.exporting.excerpts import Excerpt, excerpts
from coding.exporting.exports import MIME, Export, Filters, _slug
from coding.exporting.framework import Case, framework_docx, framework_table
from coding.exporting.segment_table import NAMINGS, segment_table, variables_table
from coding.exporting.segment_table import columns as segment_columns
from coding.exporting.table import Sheet, write_sheets, write_table
from coding.store.models import Attribute, Document, Project
from coding.team.access import Action, require
from coding.team.members import Member

CODED_FORMATS: dict[str, tuple[str, ...]] = {
    "segments": ("csv", "xlsx"),
    "framework": ("xlsx", "docx", "csv"),
    "document": ("docx",),
}
TITLES = {"segments": "Segment table (one 0/1 column per code)", "framework": "Framework matrix (case x code)",
          "document": "Coded documents (codes in the margin)"}


def code_columns(tree: CodeTree, filters: Filters) -> list[tuple[str, str]]:
    """(code id, path) of the codable codes the filters name (with their sub-codes unless
    the filters say not), in codebook order; all codable codes when none are named."""
    infos = [i for i in tree.infos if i.codable]
    if not filters.codes:
        return [(i.id, i.path) for i in infos]
    wanted: set[str] = set()
    for c in filters.codes:
        info = tree.info.get(c) or tree.resolve(c)
        wanted.add(info.id)
        if filters.include_descendants:
            wanted.update(tree.descendants(info.id))
    return [(i.id, i.path) for i in infos if i.id in wanted]


def _cases(s: Session, project: Project, filters: Filters) -> list[tuple[Document, dict[str, str]]]:
    """The project's documents the documents and attribute filters keep, by name, with their
    attributes (documents are no one's work: the blind rule hides codings, not documents)."""
    q = select(Document).where(Document.project_id == project.id).order_by(Document.name)
    if filters.documents:
        q = q.where(Document.name.in_(list(filters.documents)))
    docs = list(s.scalars(q))
    if filters.documents and (unknown := sorted(set(filters.documents) - {d.name for d in docs})):
        raise CodingError(f"no document named {', '.join(map(repr, unknown))} in {project.name!r}; list them "
                          f"with `python -m coding documents {project.name}`")
    attrs: dict[str, dict[str, str]] = {d.id: {} for d in docs}
    if docs:
        for doc_id, name, value in s.execute(select(Attribute.document_id, Attribute.name, Attribute.value)
                                             .where(Attribute.document_id.in_(list(attrs)))):
            attrs[doc_id][name] = value
    wanted = {k: {str(v) for v in vs} for k, vs in (filters.attributes or {}).items()}
    return [(d, attrs[d.id]) for d in docs if all(attrs[d.id].get(k) in vs for k, vs in wanted.items())]


def _cover(project: Project, what: str, filters: Filters, tree: CodeTree, es: list[Excerpt],
           when: datetime) -> str:
    """The cover line: what, project, layer, codebook version, date, coders, filters (code
    paths, not ids)."""
    described = filters.describe(tree)
    coders = sorted({e.coder if e.layer != "consensus" else "consensus" for e in es}, key=str.casefold)
    parts = [TITLES[what], f"project {project.name}", f"layer {filters.layer}",
             f"codebook version {project.codebook_version}", f"exported {when:%Y-%m-%d}",
             f"{len(es):,} coding(s) by {', '.join(coders) or 'nobody'}"]
    if described:
        parts.append(f"filters: {described}")
    return "; ".join(parts)


def export_coded(s: Session, project: Project, member: Member, what: str, fmt: str,
                 filters: Filters | None = None, *, when: datetime | None = None, names: str = "paths") -> Export:
    """One file of ``what`` (segments, framework, document) as ``fmt`` (see
    :data:`CODED_FORMATS`), made as ``member`` sees the project. ``document``: every
    document with a coding in view, or the documents the filters name (coded or not).
    ``names``: the segment table's column names (paths or spss, see segment_table)."""
    m = require(s, member, Action.READ_CODINGS, project)
    return _export(s, project, m, what, fmt, filters, when, names)[0]


def export_segments(s: Session, project: Project, member: Member, fmt: str, filters: Filters | None = None, *,
                    when: datetime | None = None, names: str = "paths") -> tuple[Export, Export]:
    """The segment table as ``fmt`` (with ``names="spss"`` its XLSX has a "Variables" sheet) and the variables
    table as CSV: each column's name, kind, source (code path, attribute, fixed field) and
    definition, the key to ``names="spss"``'s variable names."""
    m = require(s, member, Action.READ_CODINGS, project)
    return _export(s, project, m, "segments", fmt, filters, when, names)


def _export(s: Session, project: Project, m: Member, what: str, fmt: str, filters: Filters | None,
            when: datetime | None, names: str) -> tuple[Export, Export | None]:
    if what not in CODED_FORMATS:
        raise CodingError(f"cannot export {what!r} here: choose one of {', '.join(CODED_FORMATS)}")
    if fmt not in CODED_FORMATS[what]:
        raise CodingError(f"{what} exports as {', '.join(CODED_FORMATS[what])}, not {fmt!r}")
    if what == "segments" and names not in NAMINGS:  # before the query, which can take a while
        raise CodingError(f"column names are {' or '.join(NAMINGS)}, not {names!r}")
    filters = filters or Filters()
    when = when or datetime.now(UTC)
    tree = visible_code_tree(s, project, m)
    # No attribution is written here (attributes get columns of their own): an empty
    # template, so a project whose documents lack the template's attributes exports too.
    es = excerpts(s, project, m, **(filters.kwargs() | {"template": ""}))
    columns = code_columns(tree, filters)
    cases = _cases(s, project, filters) if what != "segments" else []  # segments: the excerpts say it all
    cover = _cover(project, what, filters, tree, es, when)
    stem = f"{_slug(project.name)}-{what}"
    if what == "segments":
        cols = segment_columns(es, columns, names)
        header, rows = segment_table(es, columns, names, cols)
        vheader, vrows = variables_table(cols, {i.id: i.definition for i in tree.infos})
        sheets = [Sheet("Segments", header, rows, {"text": 60, "document": 24}, {"text"})]
        if names == "spss":  # the key to the names; by paths the columns say it themselves
            sheets.append(Sheet("Variables", vheader, vrows, {"source": 40, "definition": 60}, {"definition"}))
        data = (write_table("csv", header, rows).encode("utf-8-sig") if fmt == "csv"
                else write_sheets(sheets, cover=cover))
        variables = Export(write_table("csv", vheader, vrows).encode("utf-8-sig"), f"{stem}_variables.csv", MIME["csv"])
        return Export(data, f"{stem}.{fmt}", MIME[fmt]), variables
    elif what == "framework":
        listed = [Case(d.id, d.name, a) for d, a in cases]
        if fmt == "docx":
            data = framework_docx(listed, es, columns, cover)
        else:
            header, rows = framework_table(listed, es, columns)
            data = _table(fmt, header, rows, "Framework", cover,
                          {"document": 24, **{p: 50 for _, p in columns}}, {h for h in header[1:]})
    else:
        coded = {e.document_id for e in es}
        chosen = [(d, a) for d, a in cases if filters.documents or d.id in coded]
        if not chosen:
            raise CodingError("no coded document matches the filters: choose documents with codings you can see")
        data = coded_documents_docx([CodedDocument(d.id, d.name, d.text, a) for d, a in chosen], es, cover, when)
        if len(chosen) == 1:
            stem = f"{_slug(project.name)}-{_slug(chosen[0][0].name)}"
    return Export(data, f"{stem}.{fmt}", MIME[fmt]), None


def _table(fmt: str, header, rows, title: str, cover: str, widths: dict, wrapped: set) -> bytes:
    """CSV (UTF-8 with a BOM for Excel; the cover line is the About sheet's in XLSX only)
    or XLSX, through the one table writer."""
    if fmt == "csv":
        return write_table("csv", header, rows).encode("utf-8-sig")
    return write_table("xlsx", header, rows, title=title, widths=widths, wrapped=wrapped, cover=cover)

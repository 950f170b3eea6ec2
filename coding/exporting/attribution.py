"""The attribution template: how an exported quote names its source (issue 16).

A template holds plain ``{name}`` fields. ``{document}`` (the document's name),
``{speaker}`` (the speakers of the turns a quote covers) and ``{turn}`` (their numbers)
are built in; every other name is a participant attribute of the document. A field a
document lacks is left out, with the text that joins it to the field before (or, for the
first field, after) it, so ``({role} - {school})`` on a document without ``role`` gives
``(School I_3)``; the caller collects a warning naming the field and the documents.

The default works on any project: ``({speaker}, {document})``. Migration 0005 stored
``({role} - {school})`` (the demo's style) for every project; migration 0010 resets it to
the default where a project's documents lack those attributes.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.errors import CodingError
from coding.store.models import Attribute, Document, Project
from coding.team.access import Action, require
from coding.team.events import log_event
from coding.team.members import Member

DEFAULT_TEMPLATE = "({speaker}, {document})"
LEGACY_TEMPLATE = "({role} - {school})"   # migration 0005's default; the demo keeps it
BUILT_IN = ("document", "speaker", "turn")
MAX_LENGTH = 300


def template_fields(template: str) -> list[str]:
    """The field names a template uses, in order. Only plain ``{name}`` fields are allowed:
    no format specs, conversions, indexing or attribute access."""
    if len(template) > MAX_LENGTH:
        raise CodingError(f"the attribution template is over {MAX_LENGTH} characters: shorten it")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise CodingError(f"the attribution template {template!r} is not valid ({exc}): write fields as "
                          "{name} and a literal brace as {{ or }}") from None
    names = []
    for _, name, spec, conv in parts:
        if name is None:
            continue
        if not name.strip() or spec or conv:
            raise CodingError(f"the attribution template {template!r} has a field {{{name}{'!' + conv if conv else ''}"
                              f"{':' + spec if spec else ''}}} that is not a plain name: write it as "
                              "{document}, {speaker}, {turn} or an attribute column such as {site}")
        names.append(name.strip())
    return names


@lru_cache(maxsize=64)
def _compiled(template: str) -> tuple[str, tuple[tuple[str, str], ...], str, str | None]:
    """(prefix, ((joining text, field name), ...), suffix, the literal text when no field)."""
    parts = list(string.Formatter().parse(template))
    prefix = parts[0][0] if parts else ""
    fields: list[tuple[str, str]] = []
    suffix = ""
    joiner = None
    for i, (literal, name, _, _) in enumerate(parts):
        if i > 0:
            joiner = literal if joiner is None else joiner + literal
        if name is None:
            suffix = joiner or ""
            continue
        suffix = ""
        fields.append(("" if not fields and joiner is None else joiner or "", name.strip()))
        joiner = ""
    return prefix, tuple(fields), suffix, None if fields else "".join(p[0] for p in parts)


def render_attribution(template: str, attributes: Mapping[str, str], *, document: str, speaker: str = "",
                       turn: str = "", missing: set[str] | None = None) -> str:
    """The template filled in for one quote. Substituted literally (never ``str.format``),
    so no field can reach an object. A field without a value is left out with the text
    joining it to its neighbour (none present: ""); names the document lacks go into
    ``missing`` (built-in ``speaker``/``turn`` count as lacking only when ``speaker`` and
    ``turn`` are both empty, i.e. the document has no turns there)."""
    prefix, fields, suffix, literal = _compiled(template)
    if literal is not None:
        return literal
    kept = [(sep, v) for sep, key in fields if (v := _value(key, attributes, document, speaker, turn, missing))]
    if not kept:
        return ""
    return prefix + kept[0][1] + "".join(sep + v for sep, v in kept[1:]) + suffix


def _value(key: str, attributes: Mapping[str, str], document: str, speaker: str, turn: str,
           missing: set[str] | None) -> str:
    if key == "document":
        return document
    if key in ("speaker", "turn"):
        if not speaker and not turn and missing is not None:
            missing.add(key)
        return speaker if key == "speaker" else turn
    if key not in attributes:
        if missing is not None:
            missing.add(key)
        return ""
    return attributes[key] or ""


def missing_warnings(lacking: Mapping[str, Iterable[str]]) -> list[str]:
    """One warning per field: which documents lack it (the exports go on without it)."""
    out = []
    for key, docs in sorted(lacking.items()):
        docs = sorted(set(docs), key=str.casefold)
        shown = ", ".join(docs[:5]) + (f" and {len(docs) - 5} more" if len(docs) > 5 else "")
        what = "no speaker turns" if key in ("speaker", "turn") else f"no attribute {key!r}"
        n = f"{len(docs)} document{'s' if len(docs) != 1 else ''}"
        out.append(f"the attribution template's field {{{key}}} is left out where it is missing: {n} "
                   f"{'have' if len(docs) != 1 else 'has'} {what} ({shown}). A lead changes the template on "
                   "the Retrieve page (Export tab)")
    return out


def project_template(project: Project) -> str:
    return project.attribution_template or DEFAULT_TEMPLATE


def set_attribution_template(s: Session, project: Project, member: Member, template: str) -> str:
    """Store the project's attribution template (a lead's setting), checked first and logged as
    ``project.attribution`` (before, after). Empty: back to the default. A name that is neither
    built in nor an attribute of any document is refused (a typo) once the project has attributes."""
    m = require(s, member, Action.EDIT_CODEBOOK, project)
    template = (template or "").strip() or DEFAULT_TEMPLATE
    names = template_fields(template)
    have = set(s.scalars(select(Attribute.name).join(Document).where(Document.project_id == project.id)))
    unknown = [n for n in dict.fromkeys(names) if n not in have and n not in BUILT_IN]
    if have and unknown:
        raise CodingError(f"the attribution template {template!r} names {', '.join(map(repr, unknown))}, which no "
                          f"document of {project.name!r} has (attributes: {', '.join(sorted(have))}; built in: "
                          "document, speaker, turn): correct the template, or import an attributes CSV with that "
                          "column first")
    before = project_template(project)
    if template != before:
        project.attribution_template = template
        log_event(s, project.id, m, "project.attribution", "project", project.id, before=before, after=template)
        s.flush()
    return template

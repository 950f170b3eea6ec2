"""The processing cache: each document parsed once with spaCy, its analysis stored.

:func:`process_documents` stores one :class:`~coding.store.models.NlpCache` row
per document, keyed by text SHA-256 and pipeline name+version, each in its own
transaction: a run stopped half-way (Ctrl-C, a page rerun, a cancel) leaves only
whole rows, and the next run parses only what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .access import Action, require
from .errors import CodingError
from .projects import Member
from .store.models import Document, NlpCache, Project


@dataclass
class ProcessReport:
    total: int = 0
    parsed: int = 0
    cached: int = 0
    cancelled: bool = False
    pipelines: dict[str, str] = field(default_factory=dict)  # language -> pipeline name


def _pipeline_names(languages) -> dict[str, str]:
    from .nlp.analysis import analysis_pipeline_name

    return {lang: analysis_pipeline_name(lang) for lang in sorted(set(languages))}


def process_documents(store, project_name: str, member: Member, *,
                      progress: Callable[[int, int, str], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> ProcessReport:
    """Parse every document of the project that has no cache row yet (one transaction per
    document). ``progress(done, total, document name)`` after each; ``cancel()`` is asked
    before each parse and stops the run (the rows written so far are whole)."""
    from .nlp.analysis import analyse_texts
    from .projects import get_project

    with store.session(write=False) as s:
        project = get_project(s, project_name)
        require(s, member, Action.READ_PROJECT, project)
        docs = s.execute(select(Document.id, Document.name, Document.sha256, Document.language)
                         .where(Document.project_id == project.id).order_by(Document.name)).all()
        names = _pipeline_names(d.language for d in docs)
        have = set(s.execute(select(NlpCache.sha256, NlpCache.pipeline)
                             .where(NlpCache.sha256.in_({d.sha256 for d in docs}))).all())
    report = ProcessReport(total=len(docs), pipelines=names)
    todo = []
    for d in docs:
        if (d.sha256, names[d.language]) in have:
            report.cached += 1
        else:
            todo.append(d)
    done = report.cached
    if progress:
        progress(done, report.total, "")
    for d in todo:
        if cancel is not None and cancel():
            report.cancelled = True
            break
        with store.session(write=False) as s:
            text = s.scalar(select(Document.text).where(Document.id == d.id))
        if text is None:  # deleted meanwhile
            continue
        data = next(analyse_texts([text], d.language))
        key = (d.sha256, names[d.language])

        def write(s: Session) -> None:
            if s.get(NlpCache, key) is None:
                s.add(NlpCache(sha256=key[0], pipeline=key[1], data=json.dumps(data, separators=(",", ":"))))
        store.run(write)
        report.parsed += 1
        done += 1
        if progress:
            progress(done, report.total, d.name)
    return report


def _analyses(s: Session, docs: list[Document]) -> dict[str, dict]:
    """Cached analysis per document id; refused, naming them, when some are not processed."""
    names = _pipeline_names(d.language for d in docs)
    rows = {(r.sha256, r.pipeline): r.data for r in s.scalars(
        select(NlpCache).where(NlpCache.sha256.in_({d.sha256 for d in docs})))}
    out, missing = {}, []
    for d in docs:
        data = rows.get((d.sha256, names[d.language]))
        if data is None:
            missing.append(d.name)
        else:
            out[d.id] = json.loads(data)
    if missing:
        shown = ", ".join(repr(n) for n in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise CodingError(f"{len(missing)} document(s) are not processed for suggestions yet ({shown}): "
                          "press 'Process documents' on the Suggestions page or run "
                          "`python -m coding suggest process PROJECT`")
    return out


def processing_status(s: Session, project: Project, member: Member) -> tuple[int, int]:
    """(processed, total) documents of the project."""
    require(s, member, Action.READ_PROJECT, project)
    docs = list(s.scalars(select(Document).where(Document.project_id == project.id)))
    names = _pipeline_names(d.language for d in docs)
    have = set(s.execute(select(NlpCache.sha256, NlpCache.pipeline)
                         .where(NlpCache.sha256.in_({d.sha256 for d in docs}))).all())
    return sum((d.sha256, names[d.language]) in have for d in docs), len(docs)

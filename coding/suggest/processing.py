"""The processing cache: each document parsed once with spaCy, its analysis stored.

:func:`process_documents` stores one :class:`~coding.store.models.NlpCache` row
per document, keyed by text SHA-256 and pipeline name+version
(:func:`coding.nlp.analysis.analysis_pipeline_name`), each in its own
transaction: a run stopped half-way (Ctrl-C, a page rerun, a cancel) leaves only
whole rows, and the next run parses only what is missing. A fully cached project
is checked and read without loading spaCy.

:func:`start_background` runs it in a daemon thread (after an import, or on demand
from the Suggestions page): one run per project per process, polled with
:meth:`Background.progress` and stopped with :meth:`Background.cancel`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.errors import CodingError
from coding.team.members import Member
from coding.store.models import Document, NlpCache, Project


@dataclass
class ProcessReport:
    total: int = 0
    parsed: int = 0
    cached: int = 0
    cancelled: bool = False
    pipelines: dict[str, str] = field(default_factory=dict)  # language -> pipeline name


def _pipeline_names(languages) -> dict[str, str]:
    from coding.nlp.analysis import analysis_pipeline_name

    return {lang: analysis_pipeline_name(lang) for lang in sorted(set(languages))}


def _cache_state(s: Session, project: Project):
    """The project's documents (id, name, sha256, language) by name, the pipeline name per
    language, and the (sha256, pipeline) pairs already cached."""
    docs = s.execute(select(Document.id, Document.name, Document.sha256, Document.language)
                     .where(Document.project_id == project.id).order_by(Document.name)).all()
    names = _pipeline_names(d.language for d in docs)
    have = set(s.execute(select(NlpCache.sha256, NlpCache.pipeline)
                         .where(NlpCache.sha256.in_({d.sha256 for d in docs}))).all())
    return docs, names, have


def process_documents(store, project_name: str, member: Member, *,
                      progress: Callable[[int, int, str], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> ProcessReport:
    """Parse every document of the project that has no cache row yet (one transaction per
    document). ``progress(done, total, name)`` is called before each parse with the name of
    the document being parsed, and at the end with ``""``; ``cancel()`` is asked before each
    parse and stops the run (the rows written so far are whole)."""
    from coding.team.projects import get_project

    with store.session(write=False) as s:
        project = get_project(s, project_name)
        require(s, member, Action.READ_PROJECT, project)
        docs, names, have = _cache_state(s, project)
    report = ProcessReport(total=len(docs), pipelines=names)
    todo = []
    for d in docs:
        if (d.sha256, names[d.language]) in have:
            report.cached += 1
        else:
            todo.append(d)
    done = report.cached
    if todo:
        from coding.nlp.analysis import analyse_texts  # spaCy loads only when something is parsed
    for d in todo:
        if cancel is not None and cancel():
            report.cancelled = True
            break
        if progress:
            progress(done, report.total, d.name)
        with store.session(write=False) as s:
            text = s.scalar(select(Document.text).where(Document.id == d.id))
        if text is None:  # deleted meanwhile
            continue
        data = next(analyse_texts([text], d.language))
        key = (d.sha256, names[d.language])

        def write(s: Session) -> None:
            if s.get(NlpCache, key) is None:  # another run may have stored it meanwhile
                s.add(NlpCache(sha256=key[0], pipeline=key[1], data=json.dumps(data, separators=(",", ":"))))
        store.run(write)
        report.parsed += 1
        done += 1
    if progress:
        progress(done, report.total, "")
    return report


def _analyses(s: Session, docs: list[Document]) -> dict[str, dict]:
    """Cached analysis per document id; refused, naming them, when some are not processed."""
    names = _pipeline_names(d.language for d in docs)
    rows = {(sha, pipeline): data for sha, pipeline, data in s.execute(
        select(NlpCache.sha256, NlpCache.pipeline, NlpCache.data)
        .where(NlpCache.sha256.in_({d.sha256 for d in docs})))}
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
    docs, names, have = _cache_state(s, project)
    return sum((d.sha256, names[d.language]) in have for d in docs), len(docs)


# --- background processing ------------------------------------------------------------

class Background:
    """One processing run in a daemon thread. Poll :meth:`progress`; :meth:`cancel` stops it
    before the next document (the documents parsed so far stay cached). When :attr:`done`,
    :attr:`report` holds the :class:`ProcessReport`, or :attr:`error` the exception that
    stopped it."""

    def __init__(self, store, project_name: str, member: Member):
        self.project = project_name
        self.report: ProcessReport | None = None
        self.error: BaseException | None = None
        self._state = (0, 0, "")
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(store, member), daemon=True,
                                        name=f"processing {project_name}")

    def _run(self, store, member: Member) -> None:
        def progress(done: int, total: int, name: str) -> None:
            self._state = (done, total, name)
        try:
            self.report = process_documents(store, self.project, member, progress=progress,
                                            cancel=self._cancel.is_set)
        except BaseException as exc:  # kept for the page to show; a thread has nobody to raise to
            self.error = exc
        finally:
            self._finished.set()

    def progress(self) -> tuple[int, int, str]:
        """(documents processed, total, the document being parsed now or "")."""
        return self._state

    def cancel(self) -> None:
        """Stop before the next document."""
        self._cancel.set()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def cancelled(self) -> bool:
        return self.report.cancelled if self.report is not None else self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (or ``timeout`` seconds); True when it has ended."""
        return self._finished.wait(timeout)


_RUNS: dict[tuple[str, str], Background] = {}
_RUNS_LOCK = threading.Lock()


def start_background(store, project_name: str, member: Member) -> Background:
    """Start processing ``project_name`` in the background, or return the run already going
    for it in this process. Refused (:class:`CodingError`) at once when ``member`` may not
    read the project."""
    from coding.team.projects import get_project

    with store.session(write=False) as s:
        require(s, member, Action.READ_PROJECT, get_project(s, project_name))
    key = (store.url, project_name)
    with _RUNS_LOCK:
        run = _RUNS.get(key)
        if run is not None and not run.done:
            return run
        run = _RUNS[key] = Background(store, project_name, member)
        run._thread.start()
    return run


def background(store, project_name: str) -> Background | None:
    """The latest background run for the project in this process (running or ended), or None."""
    with _RUNS_LOCK:
        return _RUNS.get((store.url, project_name))

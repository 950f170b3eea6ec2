"""The demo study: a project built from ``corpora/cic-demo`` and ``codebooks/``.

:func:`build_demo` stores it in one transaction (what the tests' template does: it takes
seconds); :func:`process_demo` then parses its documents for suggestions (spaCy: about
20 seconds the first time, nothing once cached), so the Suggestions page works at once.
``python -m coding demo`` does both; the app's "Build the demo study" button builds it
and parses in the background (:func:`process_demo_in_background`).

Codings in the double-coded sample are anchored by quotation (the exact text and
which occurrence), so the sample stays readable and survives re-typing offsets.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
from coding.work.codings import apply_codes
from coding.work.documents import get_document, import_attributes, store_document
from coding.errors import CodingError
from coding.team.projects import add_member, create_project, get_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round, reveal
from coding.store.engine import REPO_ROOT
from coding.store.models import Assignment, Project
from coding.suggest.processing import Background, ProcessReport, process_documents, start_background

DEMO_DIR = REPO_ROOT / "corpora" / "cic-demo"


def find_quote(text: str, quote: str, occurrence: int = 1, *, where: str) -> tuple[int, int]:
    """Offsets of the ``occurrence``-th exact match of ``quote`` in ``text``."""
    pos = -1
    for _ in range(occurrence):
        pos = text.find(quote, pos + 1)
        if pos < 0:
            raise CodingError(f"{where}: quote {quote[:60]!r} (occurrence {occurrence}) is not in the document; "
                              "copy the exact text of the transcript")
    return pos, pos + len(quote)


def load_quoted_codings(s: Session, project: Project, path: Path, *, layer_members: dict[str, Member]) -> int:
    """Store codings of a YAML file whose entries give document, coder, code path, quote."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tree = code_tree(s, project)
    docs: dict = {}
    n = 0
    for i, row in enumerate(data.get("codings") or [], start=1):
        where = f"{path.name}: entry {i}"
        missing = [k for k in ("document", "coder", "code", "quote") if not row.get(k)]
        if missing:
            raise CodingError(f"{where}: field(s) {', '.join(missing)} missing; each entry needs document, coder, code, quote")
        name = row["document"]
        doc = docs.get(name) or docs.setdefault(name, get_document(s, project, name))
        member = layer_members.get(row["coder"])
        if member is None:
            raise CodingError(f"{where}: coder {row['coder']!r} is not in study.yaml's members")
        code = tree.resolve(row["code"])
        start, end = find_quote(doc.text, row["quote"], int(row.get("occurrence", 1)), where=where)
        n += len(apply_codes(s, project, member, doc, [code.id], start, end, memo=row.get("memo") or ""))
    return n


def build_demo(s: Session, folder: Path = DEMO_DIR, *, password: str | None = None) -> tuple[Project, bool]:
    """Build the demo project if absent. Returns (project, created).

    Without ``password`` the demo is in local single-user mode (members sign in by
    picking their name; the app serves it on a loopback address only). With one,
    the project is protected and every member signs in with that password."""
    if not (folder / "study.yaml").is_file():
        raise CodingError(
            f"the demo study is not at {folder}: it ships with the source repository (corpora/ and "
            "codebooks/), not with the installed package. Run `python -m coding demo` from a checkout of the "
            "repository, or import your own transcripts and codebook")
    spec = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    existing = s.scalar(select(Project).where(Project.name == spec["project"]))
    if existing is not None:
        return existing, False
    lead_spec = next((m for m in spec["members"] if m["role"] == "lead"), None)
    if lead_spec is None:
        raise CodingError(f"{folder / 'study.yaml'}: members need one with role lead")
    project = create_project(s, spec["project"], lead_name=lead_spec["name"], lead_password=password,
                             local_mode=password is None)
    project.attribution_template = spec.get("attribution_template") or project.attribution_template
    lead = Member.of(get_member(s, project, lead_spec["name"]))
    import_codebook(s, project, load_codebook_file((folder / spec["codebook"]).resolve()), member=lead)
    languages = spec.get("languages") or {}
    for f in sorted(folder.glob("*.txt")):
        store_document(s, project, f.stem, f.name, f.read_bytes(),
                       language=languages.get(f.stem, spec.get("language", "en")), actor=lead)
    csv_path = folder / spec["attributes"]
    import_attributes(s, project, csv_path.name, csv_path.read_bytes(), actor=lead)
    by_name: dict[str, Member] = {lead.name: lead}
    for m in spec["members"]:
        if m["name"] != lead.name:
            by_name[m["name"]] = Member.of(add_member(s, project, m["name"], m["role"], actor=lead,
                                                      password=password, temporary=False))
    total = 0
    sample_docs: list[str] = []
    for fname in spec.get("double_coding") or []:
        path = folder / fname
        total += load_quoted_codings(s, project, path, layer_members=by_name)
        sample_docs += [r["document"] for r in yaml.safe_load(path.read_text(encoding="utf-8"))["codings"]]
    r = spec.get("round")
    if r:
        rnd = open_round(s, project, lead, r["name"], blind=r.get("blind", True))
        coders = [get_member(s, project, n) for n in r["coders"]]
        docs = [get_document(s, project, n) for n in dict.fromkeys(sample_docs)]
        assign(s, project, lead, rnd, docs, coders)
        for a in s.scalars(select(Assignment).where(Assignment.round_id == rnd.id)):
            a.status = "done"
        if r.get("revealed"):
            reveal(s, project, lead, rnd)
    return project, True


def _demo_lead(store, folder: Path) -> tuple[str, Member]:
    spec = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    lead_name = next(m["name"] for m in spec["members"] if m["role"] == "lead")
    with store.session(write=False) as s:
        return spec["project"], Member.of(get_member(s, get_project(s, spec["project"]), lead_name))


def process_demo(store, folder: Path = DEMO_DIR, *, progress=None) -> ProcessReport:
    """Parse the built demo's documents for suggestions, as its lead (each document in its
    own transaction; what is cached already is skipped, so a second call reads only).
    ``progress(done, total, name)`` as :func:`coding.suggest.processing.process_documents`."""
    name, lead = _demo_lead(store, folder)
    return process_documents(store, name, lead, progress=progress)


def process_demo_in_background(store, folder: Path = DEMO_DIR) -> Background:
    """:func:`process_demo` in a thread of this process (the app: nothing waits for it; the
    Suggestions page shows its progress)."""
    name, lead = _demo_lead(store, folder)
    return start_background(store, name, lead)

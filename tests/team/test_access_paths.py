"""One access path: every public engine function that takes an acting member decides
by what the database says of that member, never by the object it is handed.

The functions are found by introspection (every module of ``coding``, every public
function with a ``member``, ``actor`` or ``lead`` parameter), not listed by hand, so a
new function is covered the day it is written. Each is called on the protected
project ``harbour`` (the demo beside it on the same server) with:

- a **removed** member (a former lead, removed; the object still says lead),
- a **foreign** member (the demo's lead, relabelled as a lead of harbour),
- a **forged** member (coder tom's id with ``role="lead"`` written on it),
- a **stale** member (li, a lead when the page loaded, demoted since).

Removed and foreign are refused by every function. Forged and stale are refused by
every function that the honest member (tom, li as the database knows them: coders)
is refused. Whenever a call is refused, nothing is stored. Calls run in a
transaction that is rolled back, so each starts from the same project.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

import coding
from coding.errors import PermissionDeniedError
from coding.store.models import Base
from tests.conftest import TEAM, TEAM_ATTRIBUTES, TEAM_CODEBOOK, copy_database, drop_database, template_of

MEMBER_PARAMS = ("member", "actor", "lead")
# Below the rule, not subject to it: the rule itself, and primitives that act on the member's
# own identity (no project to scope) or record an actor a caller has already checked.
BELOW_THE_RULE = {
    "coding.team.access": None,                        # the rule: require, current, can, load...
    "coding.team.visibility": None,                    # the blind rule, given a reloaded member
    "coding.team.events": {"log_event"},               # writes the event of an already-checked actor
    "coding.team.members": {"active_coder"},           # the reload itself
    "coding.team.accounts": {"must_change_password"},  # the member's own account
    "coding.team.sessions": {"open_session"},          # the member's own session
}
SKIP_MODULES = ("coding.cli.main", "coding.__main__", "coding.demo")


def _engine_functions() -> list[tuple[str, Callable]]:
    found = []
    for info in pkgutil.walk_packages(coding.__path__, "coding."):
        if info.name.startswith(SKIP_MODULES):
            continue
        mod = importlib.import_module(info.name)
        below = BELOW_THE_RULE.get(info.name, set())
        for name, fn in vars(mod).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != info.name:
                continue
            if below is None or name in below:
                continue
            if any(p in MEMBER_PARAMS for p in inspect.signature(fn).parameters):
                found.append((f"{info.name}.{name}", fn))
    return sorted(found, key=lambda x: x[0])


FUNCTIONS = _engine_functions()
STRONG = "Harbour-Access-Test-9154"


@pytest.fixture(scope="module")
def _access_template(_team_template, tmp_path_factory):
    """harbour with work in it: codings by tom and li, a round, memos, a snapshot, a
    removed former lead ('ex'), li promoted to lead (the stale object) then demoted."""
    from coding.codebook import tree as codebook
    from coding.work import memos
    from coding.work import rounds
    from coding.work import snapshots
    from coding.team.sessions import open_session
    from coding.work.codings import apply_codes
    from coding.interchange.exporter import export_qdc, export_qdpx
    from coding.team.projects import add_member, change_role, get_project, remove_member
    from coding.team.members import Member, get_member
    from coding.store import Store
    from coding.store.models import Coder
    from tests.team.test_access import _report

    base = _team_template
    tmp = tmp_path_factory.mktemp("access")
    url = copy_database(base, tmp, "access")
    st = Store(url, run_migrations=False)
    extra: dict[str, Any] = {}
    with st.session() as s:
        p = get_project(s, TEAM)
        maria = Member.of(get_member(s, p, "maria"))
        tom, li = (Member.of(get_member(s, p, n)) for n in ("tom", "li"))
        tree = codebook.code_tree(s, p)
        gang = tree.resolve("Work/Gang labour").id
        from coding.work.documents import get_document
        d1 = get_document(s, p, "Docker_01")
        [c_tom] = apply_codes(s, p, tom, d1, [gang], 0, 45)
        apply_codes(s, p, li, d1, [gang], 10, 60)
        memos.save_document_memo(s, p, tom, d1, "tom's note")
        entry = memos.add_journal_entry(s, p, li, "Li's entry", "journal text")
        r = rounds.open_round(s, p, maria, "R1", blind=True)
        rounds.assign(s, p, maria, r, [d1], [s.get(Coder, tom.id), s.get(Coder, li.id)])
        snapshots.save_snapshot(s, p, maria, _report(["Docker_01"]), label="first")
        ex = Member.of(add_member(s, p, "ex", "lead", actor=maria, password=STRONG, temporary=False))
        remove_member(s, p, maria, "ex")
        change_role(s, p, maria, "li", "lead")
        li_as_lead = Member.of(get_member(s, p, "li"))
        change_role(s, p, maria, "li", "coder")
        demo_lead = Member.of(get_member(s, get_project(s, "demo"), "lead"))
        extra = {
            "qdc": export_qdc(s, p, maria), "qdpx": export_qdpx(s, p, maria),
            "session_tom": open_session(s, tom).id,
            "coding_tom": c_tom.id, "journal": entry.id, "round": r.id,
            "bad": {
                "removed": ex,
                "foreign": dataclasses.replace(demo_lead, project_id=p.id, role="lead"),
                "forged": dataclasses.replace(tom, role="lead"),
                "stale": li_as_lead,
            },
            "honest": {"forged": tom, "stale": Member.of(get_member(s, p, "li"))},
        }
    st.dispose()
    yield template_of(url), extra
    drop_database(url)


@pytest.fixture
def world(_access_template, tmp_path):
    from coding.store import Store

    tmpl, extra = _access_template
    url = copy_database(tmpl, tmp_path)
    st = Store(url, run_migrations=False)
    yield st, extra
    st.dispose()
    drop_database(url)


# --- arguments, made by parameter name ------------------------------------------------

def _args(fn: Callable, qualname: str, s, st, extra: dict, member, tmp_path) -> tuple[list, dict]:
    from coding.codebook import tree as codebook
    from coding.work.codings import BrowserSelection
    from coding.work.documents import get_document
    from coding.team.projects import get_project
    from coding.store.models import Coder, Code, Event, Round
    from tests.team.test_access import _report

    p = get_project(s, TEAM)
    tree = codebook.code_tree(s, p)
    code = lambda path: tree.resolve(path).id  # noqa: E731
    d1 = get_document(s, p, "Docker_01")
    last_event = s.scalar(select(Event.id).where(Event.project_id == p.id).order_by(Event.at.desc()).limit(1))
    upload = tmp_path / "Docker_09.txt"
    upload.write_text("Interviewer: And then?\n\nDocker: Then the cranes came.\n")
    by_name: dict[str, Any] = {
        "s": s, "store": st, "project": p, "project_name": TEAM, "project_id": p.id,
        "document": d1, "documents": [d1], "document_id": d1.id,
        "code_id": code("Work/Gang labour"), "code_ids": [code("Work/Gang labour")],
        "source_id": code("Change/Job loss"), "target_id": code("Change/Containerisation"),
        "parent_id": code("Change"), "new_parent_id": code("Community"), "merge_into": code("Community"),
        "coding_id": extra["coding_tom"], "event_id": last_event, "undo_event_id": last_event,
        "memo_id": extra["journal"], "session_id": extra["session_tom"],
        "snapshot_id": None, "round_id": None, "rnd": s.get(Round, extra["round"]),
        "coders": [s.get(Coder, extra["honest"]["forged"].id), s.get(Coder, extra["honest"]["stale"].id)],
        "coder_a": "tom", "coder_b": "li",
        "name": "Pensions", "new_name": "Gangs", "new_names": ["Gang A", "Gang B"], "title": "Entry",
        "text": "a note", "memo": "a note", "definition": "a definition", "reason": "fits",
        "template": "{document} ({cohort})", "query": "union", "label": "snap", "status": "done",
        "start": 0, "end": 30, "region_start": 0, "region_end": 60, "position": 40, "to": "turn",
        "decision": "a", "accept": True, "enabled": True, "role": "lead",
        "password": STRONG, "temporary_password": STRONG, "new_password": STRONG,
        "confirm_count": 0, "what": "excerpts", "fmt": "csv", "es": [], "spec": _matrix_spec(),
        "sel": BrowserSelection(d1.id, d1.sha256, 0, 10, d1.text[:10]),
        "quotes": [(d1.id, 0, 10)], "report": _report(["Docker_01"]),
        "book": codebook.parse_codebook(TEAM_CODEBOOK.replace("Pensions", "X") + "  - name: Pensions\n", "b.yaml"),
        "uploads": [("Docker_09.txt", upload.read_bytes())], "paths": [str(upload)],
        "path": "attributes.csv", "filename": "harbour.qdc", "excerpt": _an_excerpt(s, p, d1),
        "first": "R1", "second": "R1",  # coding.report.history.changes_between_rounds: round names
    }
    special = {
        "coding.interchange.importer.import_qdpx": {"data": extra["qdpx"], "filename": "harbour.qdpx"},
        "coding.interchange.importer.import_qdc": {"data": extra["qdc"]},
        "coding.work.staged_import.import_qdpx_staged": {"data": extra["qdpx"], "filename": "harbour.qdpx"},
        "coding.work.staged_import.import_qdc_staged": {"data": extra["qdc"]},
        "coding.work.documents.import_attributes": {"data": TEAM_ATTRIBUTES.encode()},
        "coding.work.attributes.attributes_preview": {"data": TEAM_ATTRIBUTES.encode()},
        "coding.work.documents.store_document": {"data": upload.read_bytes(), "filename": "Docker_09.txt",
                                            "name": "Docker_09"},
        "coding.work.documents.delete_document": {"name": "Clerk_01"},
        "coding.team.projects.change_role": {"name": "tom"},
        "coding.team.projects.remove_member": {"name": "tom"},
        "coding.team.accounts.reset_password": {"name": "tom"},
        "coding.agreement.project.compute_agreement": {"coders": ["tom", "li"]},
        "coding.suggest.recommender_agreement.recommender_agreement": {"coders": ["tom", "li"]},
        "coding.codebook.edits.edit_code": {"definition": "changed"},
    }.get(qualname, {})
    args, kwargs = [], {}
    for name, prm in inspect.signature(fn).parameters.items():
        if name in MEMBER_PARAMS:
            value = member
        elif name in special:
            value = special[name]
        elif prm.kind is prm.VAR_KEYWORD:
            kwargs.update({k: v for k, v in special.items() if k not in inspect.signature(fn).parameters})
            continue
        elif prm.kind is prm.VAR_POSITIONAL or prm.default is not prm.empty:
            continue
        elif name in by_name:
            value = by_name[name]
        else:
            raise AssertionError(f"{qualname}: no test value for parameter {name!r}: add one to _args")
        if prm.kind is prm.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return args, kwargs


# A wrong current password is a failed sign-in attempt, recorded (and committed) by design:
# it is what the lock-out counts. Every other table must be untouched by a refused call.
COUNTED_FAILURES = {"sign_in_attempts"}


def _matrix_spec():
    from coding.exporting.exports import MatrixSpec

    return MatrixSpec(kind="documents")


def _an_excerpt(s, p, d1):
    from coding.exporting.excerpts import excerpts
    from coding.team.members import Member, get_member

    return excerpts(s, p, Member.of(get_member(s, p, "maria")), template="({cohort} - {site})")[0]


def _row_counts(s) -> dict[str, int]:
    return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
            if t.name not in COUNTED_FAILURES}


def _call(world, qualname: str, fn: Callable, member, tmp_path) -> tuple[str, dict, dict]:
    """Call ``fn`` as ``member``; return (outcome, row counts before, after), rolled back."""
    st, extra = world
    with st.session() as s:
        before = _row_counts(s)
        args, kwargs = _args(fn, qualname, s, st, extra, member, tmp_path)
        try:
            with s.begin_nested():
                fn(*args, **kwargs)
                s.flush()
                outcome = "allowed"
        except PermissionDeniedError:
            outcome = "refused"
        except Exception as exc:  # refused later, for another reason (not found, conflict...)
            outcome = f"other: {type(exc).__name__}"
        after = _row_counts(s)
        s.rollback()
    return outcome, before, after


def test_functions_are_found():
    names = {q for q, _ in FUNCTIONS}
    # The introspection must see the modules that hold the rules that bit us.
    for expected in ("coding.codebook.edits.add_code", "coding.codebook.restructure.merge_codes",
                     "coding.work.rounds.open_round", "coding.team.projects.change_role", "coding.work.codings.apply_codes"):
        assert expected in names
    assert len(names) > 90


@pytest.mark.parametrize("qualname,fn", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_only_the_database_decides(world, qualname, fn, tmp_path):
    st, extra = world
    store_based = "store" in inspect.signature(fn).parameters or "project_name" in inspect.signature(fn).parameters
    for kind, bad in extra["bad"].items():
        if store_based:
            outcome, before, after = _call_store(world, qualname, fn, bad, tmp_path)
        else:
            outcome, before, after = _call(world, qualname, fn, bad, tmp_path)
        if kind in ("removed", "foreign"):
            assert outcome == "refused", f"{qualname} as a {kind} member: {outcome}"
        else:
            honest = extra["honest"][kind]
            expected = (_call_store if store_based else _call)(world, qualname, fn, honest, tmp_path)[0]
            if expected == "refused":
                assert outcome == "refused", (
                    f"{qualname}: the {kind} member (a coder in the database, 'lead' on the object) was "
                    f"not refused ({outcome}) though the honest coder is")
        if outcome == "refused":
            assert before == after, f"{qualname} as a {kind} member stored rows though refused"


def _call_store(world, qualname: str, fn: Callable, member, tmp_path) -> tuple[str, dict, dict]:
    """For functions that open their own sessions (and commit): counts before and after."""
    st, extra = world
    with st.session(write=False) as s:
        before = _row_counts(s)
    try:
        with st.session(write=False) as s:
            args, kwargs = _args(fn, qualname, s, st, extra, member, tmp_path)
        result = fn(*args, **kwargs)
        if hasattr(result, "join"):  # a background thread
            result.join(60)
        outcome = "allowed"
    except PermissionDeniedError:
        outcome = "refused"
    except Exception as exc:
        outcome = f"other: {type(exc).__name__}"
    with st.session(write=False) as s:
        after = _row_counts(s)
    return outcome, before, after

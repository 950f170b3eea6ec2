"""Concurrent writers on real databases (SQLite file, or the PostgreSQL in CODING_TEST_DB):
writers queue instead of failing, the same coding is never stored twice, codebook edits
during coding lose no coding, concurrent moves make no cycle, tree walks never hang.

Each test uses real Store instances (one per "browser tab" or process) on the test
database; the interleavings that lost data before are forced with an open transaction
held for a moment, so the tests do not depend on luck."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from coding.codebook.tree import code_tree
from coding.codebook.edits import add_code, move_code
from coding.codebook.restructure import delete_code, delete_impact, merge_codes
from coding.work.codings import apply_codes
from coding.errors import CodingError, ConflictError, NotFoundError
from coding.team.projects import add_member, create_project
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.models import Code, Coder, Coding, Document, Event, Project

REPO = Path(__file__).resolve().parents[2]
TEXT = "word " * 400  # 2000 characters: room for many distinct spans


@pytest.fixture
def team(store):
    """A project with a lead, a second lead, four coders, one document and codes A, B, C."""
    with store.session() as s:
        p = create_project(s, "team", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        lead2 = Member.of(add_member(s, p, "lead2", "lead", actor=lead))
        coders = [Member.of(add_member(s, p, f"coder{i}", "coder", actor=lead)) for i in range(4)]
        doc = Document(project_id=p.id, name="doc", text=TEXT, sha256="0" * 64, length=len(TEXT))
        s.add(doc)
        s.flush()
        codes = {n: add_code(s, p, lead, None, n).id for n in ("A", "B", "C")}
    return {"project": p.id, "lead": lead, "lead2": lead2, "coders": coders, "doc": doc.id, "codes": codes}


def _apply(s, t, member, code_ids, start, end):
    p = s.get(Project, t["project"])
    return [c.id for c in apply_codes(s, p, member, s.get(Document, t["doc"]), code_ids, start, end)]


def _count(store, **where) -> int:
    with store.session(write=False) as s:
        q = select(func.count()).select_from(Coding)
        for k, v in where.items():
            q = q.where(getattr(Coding, k) == v)
        return s.scalar(q)


@contextmanager
def _deadline(seconds: int):
    """Fail instead of hanging when the block loops forever."""
    def boom(*_):
        raise TimeoutError(f"still running after {seconds} s")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _threads(*targets):
    errors: list[BaseException] = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # collected and re-raised in the test
                errors.append(exc)
        return run

    ts = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts), "a writer is still running after 120 s"
    return errors


# --- writers queue ------------------------------------------------------------------

def test_threads_sharing_one_store_store_every_coding(store, team):
    """The app's shape: one Store per process, one thread per browser session."""
    per_thread = 40

    def writer(i):
        def go():
            for k in range(per_thread):
                with store.session() as s:  # the way pages write: no retry loop needed
                    _apply(s, team, team["coders"][i], [team["codes"]["A"]], 5 * k, 5 * k + 4)
        return go

    errors = _threads(*(writer(i) for i in range(4)))
    assert errors == []
    assert _count(store) == 4 * per_thread


_WORKER = """
import json, sys
from coding.work.codings import apply_codes
from coding.team.members import Member
from coding.store import Store
from coding.store.models import Coder, Document, Project
url, project, doc, coder, code, n = sys.argv[1:7]
store = Store(url)  # every process opens (and so also migrates) on its own
saved, errors = [], []
for k in range(int(n)):
    try:
        with store.session() as s:
            made = apply_codes(s, s.get(Project, project), Member.of(s.get(Coder, coder)), s.get(Document, doc),
                               [code], 5 * k, 5 * k + 4)
            ids = [c.id for c in made]
        saved += ids
    except Exception as exc:
        errors.append(f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:200])
print(json.dumps({"saved": saved, "errors": errors}))
"""


def test_processes_writing_at_once_store_every_coding(store, db_url, team):
    n = 60
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, db_url, team["project"], team["doc"], m.id,
                               team["codes"]["B"], str(n)], cwd=REPO, stdout=subprocess.PIPE, text=True)
             for m in team["coders"]]
    results = [json.loads(p.communicate(timeout=180)[0]) for p in procs]
    assert [r["errors"] for r in results] == [[]] * len(procs)
    saved = [i for r in results for i in r["saved"]]
    assert len(saved) == len(set(saved)) == len(procs) * n
    with store.session(write=False) as s:
        assert set(s.scalars(select(Coding.id))) == set(saved)


# --- no duplicates ------------------------------------------------------------------

def test_two_tabs_applying_the_same_coding_store_exactly_one(db_url, store, team):
    """Tab 1's transaction is still open when tab 2 applies the same coding: tab 2 waits
    (SQLite) or hits the unique constraint and is re-run (PostgreSQL); either way it finds
    tab 1's coding and skips it."""
    coder, code = team["coders"][0], team["codes"]["A"]
    tab1, tab2 = Store(db_url, run_migrations=False), Store(db_url, run_migrations=False)
    inserted = threading.Event()
    results = {}

    def first():
        with tab1.session() as s:
            results[1] = _apply(s, team, coder, [code], 10, 20)
            inserted.set()
            time.sleep(0.5)  # still uncommitted while tab 2 runs

    def second():
        inserted.wait(10)
        results[2] = tab2.run(lambda s: _apply(s, team, coder, [code], 10, 20))

    try:
        assert _threads(first, second) == []
    finally:
        tab1.dispose()
        tab2.dispose()
    assert len(results[1]) == 1 and results[2] == []
    assert _count(store, code_id=code, coder_id=coder.id, start=10, end=20) == 1


def test_many_tabs_racing_on_the_same_codings_store_each_once(db_url, store, team):
    coder, codes = team["coders"][1], [team["codes"]["A"], team["codes"]["B"]]
    tabs = [Store(db_url, run_migrations=False) for _ in range(3)]
    gate = threading.Barrier(len(tabs))

    def tab(st):
        def go():
            for k in range(15):
                gate.wait(30)
                st.run(lambda s, k=k: _apply(s, team, coder, codes, 7 * k, 7 * k + 6))
        return go

    try:
        assert _threads(*(tab(st) for st in tabs)) == []
    finally:
        for st in tabs:
            st.dispose()
    with store.session(write=False) as s:
        rows = s.execute(select(Coding.code_id, Coding.start, Coding.end, func.count())
                         .group_by(Coding.code_id, Coding.start, Coding.end)).all()
    assert len(rows) == 30 and {r[3] for r in rows} == {1}


def test_the_database_refuses_a_second_identical_coding(store, team):
    with pytest.raises(ConflictError, match="already stored"), store.session() as s:
        for _ in range(2):
            s.add(Coding(project_id=team["project"], document_id=team["doc"], code_id=team["codes"]["A"],
                         coder_id=team["coders"][0].id, start=1, end=2))
        s.flush()


# --- codebook edits during coding ---------------------------------------------------

def test_merge_while_a_coding_is_being_saved_moves_it(db_url, store, team):
    """The coding's transaction is open when the lead merges its code away. Before, the
    merge did not see it, then ON DELETE CASCADE deleted it silently once committed."""
    coder, a, b = team["coders"][0], team["codes"]["A"], team["codes"]["B"]
    coding_tab, lead_tab = Store(db_url, run_migrations=False), Store(db_url, run_migrations=False)
    inserted = threading.Event()
    saved, moved = [], []

    def code_it():
        with coding_tab.session() as s:
            saved.extend(_apply(s, team, coder, [a], 30, 40))
            inserted.set()
            time.sleep(0.5)

    def merge_it():
        inserted.wait(10)
        moved.append(lead_tab.run(lambda s: merge_codes(s, s.get(Project, team["project"]), team["lead"], a, b)))

    try:
        assert _threads(code_it, merge_it) == []
    finally:
        coding_tab.dispose()
        lead_tab.dispose()
    with store.session(write=False) as s:
        assert [(c.id, c.code_id) for c in s.scalars(select(Coding))] == [(saved[0], b)]
        ev = s.scalar(select(Event).where(Event.action == "code.merge"))
        assert json.loads(ev.payload)["codings"][0]["id"] == saved[0]
    assert moved == [1]


def test_coding_a_code_being_merged_away_is_refused_clearly(db_url, store, team):
    """The merge's transaction is open when a coder applies its source code: the coder
    waits, then is told the code is gone; nothing is stored on a deleted code."""
    coder, a, b = team["coders"][0], team["codes"]["A"], team["codes"]["B"]
    coding_tab, lead_tab = Store(db_url, run_migrations=False), Store(db_url, run_migrations=False)
    merging = threading.Event()
    outcome = []

    def merge_it():
        with lead_tab.session() as s:
            merge_codes(s, s.get(Project, team["project"]), team["lead"], a, b)
            merging.set()
            time.sleep(0.5)

    def code_it():
        merging.wait(10)
        try:
            outcome.append(coding_tab.run(lambda s: _apply(s, team, coder, [a], 30, 40)))
        except CodingError as exc:
            outcome.append(exc)

    try:
        assert _threads(merge_it, code_it) == []
    finally:
        coding_tab.dispose()
        lead_tab.dispose()
    assert isinstance(outcome[0], NotFoundError), outcome
    assert _count(store) == 0


def test_merges_during_heavy_coding_lose_no_coding(db_url, store, team):
    """Four coders code A, B and C while the lead merges C into B, then B into A: every
    coding reported saved exists afterwards, under A."""
    saved: list[str] = []
    refused: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def coder(i):
        st = Store(db_url, run_migrations=False)

        def go():
            try:
                k = 0
                while not stop.is_set() and k < 150:
                    code = team["codes"]["ABC"[k % 3]]
                    try:
                        ids = st.run(lambda s, k=k, code=code: _apply(
                            s, team, team["coders"][i], [code], 9 * k + i, 9 * k + i + 5))
                        with lock:
                            saved.extend(ids)
                    except (NotFoundError, ConflictError) as exc:  # code merged away: a clear refusal
                        refused.append(str(exc))
                    k += 1
            finally:
                st.dispose()
        return go

    def lead():
        st = Store(db_url, run_migrations=False)
        try:
            time.sleep(0.3)
            for src, dst in (("C", "B"), ("B", "A")):
                st.run(lambda s, src=src, dst=dst: merge_codes(
                    s, s.get(Project, team["project"]), team["lead"], team["codes"][src], team["codes"][dst]))
                time.sleep(0.3)
        finally:
            stop.set()
            st.dispose()

    assert _threads(*(coder(i) for i in range(4)), lead) == []
    assert saved, "no coding was saved"
    with store.session(write=False) as s:
        stored = dict(s.execute(select(Coding.id, Coding.code_id)).all())
    lost = [i for i in saved if i not in stored]
    assert lost == []
    assert set(stored.values()) == {team["codes"]["A"]}


def test_delete_while_a_coding_is_being_saved_counts_it(db_url, store, team):
    """A delete confirmed for 0 codings is refused when a coding of the code is being saved."""
    coder, a = team["coders"][0], team["codes"]["A"]
    coding_tab, lead_tab = Store(db_url, run_migrations=False), Store(db_url, run_migrations=False)
    inserted = threading.Event()
    outcome = []

    def code_it():
        with coding_tab.session() as s:
            _apply(s, team, coder, [a], 30, 40)
            inserted.set()
            time.sleep(0.5)

    def delete_it():
        inserted.wait(10)
        try:
            outcome.append(lead_tab.run(lambda s: delete_code(s, s.get(Project, team["project"]), team["lead"], a,
                                                              confirm_count=0)))
        except ConflictError as exc:
            outcome.append(exc)

    try:
        assert _threads(code_it, delete_it) == []
    finally:
        coding_tab.dispose()
        lead_tab.dispose()
    assert isinstance(outcome[0], ConflictError) and "not the 0 you confirmed" in str(outcome[0])
    assert _count(store, code_id=a) == 1


def test_a_code_with_codings_cannot_be_deleted_behind_the_engine(store, team):
    with store.session() as s:
        _apply(s, team, team["coders"][0], [team["codes"]["A"]], 0, 4)
    with pytest.raises(ConflictError), store.session() as s:
        s.execute(Code.__table__.delete().where(Code.id == team["codes"]["A"]))
    assert _count(store) == 1


# --- no cycles ----------------------------------------------------------------------

def test_two_leads_moving_codes_under_each_other_make_no_cycle(db_url, store, team):
    """Lead 1 moves A under B and has not committed when lead 2 moves B under A."""
    a, b = team["codes"]["A"], team["codes"]["B"]
    tab1, tab2 = Store(db_url, run_migrations=False), Store(db_url, run_migrations=False)
    moved = threading.Event()
    outcome = []

    def first():
        with tab1.session() as s:
            move_code(s, s.get(Project, team["project"]), team["lead"], a, b)
            moved.set()
            time.sleep(0.5)

    def second():
        moved.wait(10)
        try:
            outcome.append(tab2.run(lambda s: move_code(s, s.get(Project, team["project"]), team["lead2"], b, a)))
        except ConflictError as exc:
            outcome.append(exc)

    try:
        assert _threads(first, second) == []
    finally:
        tab1.dispose()
        tab2.dispose()
    assert isinstance(outcome[0], ConflictError) and "sub-codes" in str(outcome[0])
    with store.session(write=False) as s:
        parents = dict(s.execute(select(Code.id, Code.parent_id)).all())
        tree = code_tree(s, s.get(Project, team["project"]))
    assert parents[a] == b and parents[b] is None
    assert len(tree.infos) == len(parents)  # every code reachable from the top: no cycle


def test_many_concurrent_moves_leave_a_tree(db_url, store, team):
    with store.session() as s:
        p = s.get(Project, team["project"])
        ids = [add_code(s, p, team["lead"], None, f"M{i}").id for i in range(6)]
    gate = threading.Barrier(2)

    def lead(member, pairs):
        def go():
            st = Store(db_url, run_migrations=False)
            try:
                for code, parent in pairs:
                    gate.wait(30)
                    try:
                        st.run(lambda s, c=code, q=parent: move_code(s, s.get(Project, team["project"]), member, c, q))
                    except ConflictError:
                        pass  # refused: it would have made a cycle
            finally:
                st.dispose()
        return go

    forward = [(ids[i], ids[(i + 1) % 6]) for i in range(6)]
    backward = [(ids[(i + 1) % 6], ids[i]) for i in range(6)]
    assert _threads(lead(team["lead"], forward), lead(team["lead2"], backward)) == []
    with store.session(write=False) as s:
        tree = code_tree(s, s.get(Project, team["project"]))
        assert len(tree.infos) == s.scalar(select(func.count()).select_from(Code))


def test_walks_over_a_corrupt_cyclic_tree_finish(store, team):
    """Data made cyclic behind the engine's back (an old version, a manual edit)."""
    a, b, c = (team["codes"][n] for n in "ABC")
    with store.session() as s:
        _apply(s, team, team["coders"][0], [a], 0, 4)
        s.execute(update(Code).where(Code.id == a).values(parent_id=b))
        s.execute(update(Code).where(Code.id == b).values(parent_id=a))
    with _deadline(10), store.session() as s:
        assert delete_impact(s, a) == (2, 1)
        p = s.get(Project, team["project"])
        with pytest.raises(ConflictError, match="sub-codes"):
            move_code(s, p, team["lead"], c, c)
        move_code(s, p, team["lead"], c, a)  # under a code of the cycle: allowed, no hang
    with _deadline(10), store.session() as s:
        p = s.get(Project, team["project"])
        assert delete_code(s, p, team["lead"], a, confirm_count=1) == 1
        assert s.scalar(select(func.count()).select_from(Code).where(Code.project_id == p.id)) == 0


def test_no_raw_database_error_leaves_a_session(store, team):
    with pytest.raises(CodingError), store.session() as s:
        s.execute(text("INSERT INTO coders (id, project_id, name, role, created_at) "
                       "VALUES ('x', :p, 'lead', 'coder', CURRENT_TIMESTAMP)"), {"p": team["project"]})
    with store.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Coder)) == 6


def test_a_write_session_nested_in_another_fails_fast_on_sqlite(store, team):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL runs nested sessions as independent transactions")
    t = time.monotonic()
    with pytest.raises(CodingError, match="inside another one in the same thread"), store.session() as outer:
        outer.get(Project, team["project"])
        with store.session() as inner:
            inner.get(Project, team["project"])
    assert time.monotonic() - t < 5
    with store.session() as outer, store.session(write=False) as inner:  # a read inside a write is fine
        assert inner.get(Project, team["project"]) is not None
        outer.get(Project, team["project"])

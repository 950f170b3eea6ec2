"""Big imports never hold the database for long (issue 15, item 8): a coder keeps coding
while a lead imports a REFI-QDA project or codebook, a YAML codebook or a transcript batch;
the import is still all or nothing, and nobody sees or codes against it before it lands.

Each test runs on the protected team project ``harbour``, on SQLite and on PostgreSQL
(``CODING_TEST_DB``). The import goes the way the CLI sends it (``python -m coding``);
the coder works in a thread with a Store of its own, as another app process would. What
is measured is the import's own write transactions (how long each held the database) and
the coder's codings (how long each took, and that every one is stored)."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from tests.big_imports import qdc, qdpx, transcripts, yaml_codebook
from tests.conftest import TEAM_PASSWORDS
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.engine import make_url

from coding.cli.main import main
from coding.codebook.tree import code_tree
from coding.codebook.edits import rename_code
from coding.work.codings import apply_codes
from coding.work.documents import import_uploads_committing
from coding.errors import CodingError, ConflictError, NotFoundError, PermissionDeniedError
from coding.team.projects import list_projects
from coding.work.staged_import import import_qdpx_staged, imports_in_progress
from coding.store import Store
from coding.store.models import Base, Code, Coding, Document, Project, StagedImport

# The goals (an import holds the database about a second at most; no coding waits 2 s) are
# measured by bench/concurrency_bench.py. These limits leave room for a loaded test machine and
# still fail the old single transaction: it held SQLite for seconds and a coding waited up to 63 s.
#: How long one of the import's transactions may hold the database.
LONGEST_HOLD_S = 2.0
#: A coding that waits longer than this has waited for the import.
SLOWEST_CODING_S = 5.0
N_CODES = 2000  # the old single transaction held SQLite for 2.5 to 5 s with these


@contextmanager
def write_transactions(url: str):
    """Durations of the write transactions this thread runs on the database at ``url``
    (the in-memory copy an import works on is another database, not counted)."""
    owner, durations = threading.get_ident(), []
    database = make_url(url).database

    def mine(conn) -> bool:
        return (threading.get_ident() == owner and conn.engine.url.database == database
                and not conn.get_execution_options().get("coding_read_only", False))

    def begin(conn):
        if mine(conn):
            conn.info["staged_test_t0"] = time.perf_counter()

    def end(conn):
        t0 = conn.info.pop("staged_test_t0", None)
        if t0 is not None:
            durations.append(time.perf_counter() - t0)

    listeners = [("begin", begin), ("commit", end), ("rollback", end)]
    for name, fn in listeners:
        event.listen(Engine, name, fn)
    try:
        yield durations
    finally:
        for name, fn in listeners:
            event.remove(Engine, name, fn)


class Coder(threading.Thread):
    """tom applying codings on Docker_01, one transaction each, until stopped."""

    def __init__(self, url: str, ids: dict):
        super().__init__(daemon=True)
        self.url, self.ids = url, ids
        self.stop = threading.Event()
        self.done: list[tuple[float, float, list[str]]] = []  # (seconds taken, finished at, ids)
        self.errors: list[BaseException] = []

    def run(self) -> None:
        store = Store(self.url, run_migrations=False)
        ids, k = self.ids, 0
        try:
            while not self.stop.is_set():
                a = k % 200
                b = a + 1 + k // 200

                def code(s, a=a, b=b):
                    return [c.id for c in apply_codes(s, s.get(Project, ids["project"]), ids["tom"],
                                                      s.get(Document, ids["doc"]), [ids["code"]], a, b)]
                t = time.perf_counter()
                made = store.run(code)
                self.done.append((time.perf_counter() - t, time.perf_counter(), made))
                k += 1
                time.sleep(0.01)
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            store.dispose()


def _ids(team) -> dict:
    with team.store.session(write=False) as s:
        p = team.project(s)
        doc = s.scalar(select(Document).where(Document.project_id == p.id, Document.name == "Docker_01"))
        code = code_tree(s, p).resolve("Change/Containerisation")
        return {"project": p.id, "tom": team.member(s, "tom"), "doc": doc.id, "code": code.id}


def _counts(store) -> dict[str, int]:
    with store.session(write=False) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def _cli(monkeypatch, url: str, *argv: str) -> int:
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["maria"])
    return main(["--db", url, "--as", "maria", *argv])


def _while_coding(team, run) -> tuple[list[float], Coder]:
    """``run()`` (the import) while tom codes; returns the import's write transactions
    and the coder."""
    ids = _ids(team)
    coder = Coder(team.store.url, ids)
    coder.start()
    time.sleep(0.3)  # the coder is coding before the import starts
    try:
        with write_transactions(team.store.url) as held:
            run()
        time.sleep(0.2)
    finally:
        coder.stop.set()
        coder.join(60)
    assert not coder.errors, coder.errors
    return held, coder


def _check_coder(team, coder: Coder, held: list[float]) -> None:
    assert held and max(held) < LONGEST_HOLD_S, f"the import held the database for {max(held):.2f} s at once"
    slowest = max(t for t, _, _ in coder.done)
    assert slowest < SLOWEST_CODING_S, f"a coding waited {slowest:.2f} s for the import"
    saved = [i for _, _, made in coder.done for i in made]
    assert len(saved) == len(coder.done) >= 5  # each click stored one coding
    with team.store.session(write=False) as s:
        stored = set(s.scalars(select(Coding.id).where(Coding.id.in_(saved))))
    assert stored == set(saved)  # nothing lost


# --- a coder codes while a lead imports ---------------------------------------------------

def test_a_big_qdpx_import_lets_a_coder_code_meanwhile(team, monkeypatch, tmp_path):
    path = tmp_path / "dockside.qdpx"
    path.write_bytes(qdpx(N_CODES, n_docs=8, codings_per_doc=25))
    before = _counts(team.store)
    held, coder = _while_coding(team, lambda: _cli(
        monkeypatch, team.store.url, "refi", "import", str(path), "--project", team.name) == 0 or pytest.fail())
    _check_coder(team, coder, held)
    after = _counts(team.store)
    assert after["codes"] - before["codes"] == N_CODES
    assert after["documents"] - before["documents"] == 8
    assert after["codings"] - before["codings"] == 8 * 25 + len(coder.done)
    assert after["projects"] == before["projects"] and after["staged_imports"] == 0  # no hidden project left


def test_a_big_yaml_codebook_import_lets_a_coder_code_meanwhile(team, monkeypatch, tmp_path):
    path = tmp_path / "dockside.yaml"
    path.write_text(yaml_codebook(N_CODES, seed=3), encoding="utf-8")
    before = _counts(team.store)
    held, coder = _while_coding(team, lambda: _cli(
        monkeypatch, team.store.url, "codebook", "import", team.name, str(path)) == 0 or pytest.fail())
    _check_coder(team, coder, held)
    assert _counts(team.store)["codes"] - before["codes"] == N_CODES


def test_a_big_qdc_import_lets_a_coder_code_meanwhile(team, monkeypatch, tmp_path):
    path = tmp_path / "dockside.qdc"
    path.write_bytes(qdc(N_CODES, seed=4))
    before = _counts(team.store)
    held, coder = _while_coding(team, lambda: _cli(
        monkeypatch, team.store.url, "refi", "codebook-import", team.name, str(path)) == 0 or pytest.fail())
    _check_coder(team, coder, held)
    assert _counts(team.store)["codes"] - before["codes"] == N_CODES


def test_a_dry_run_of_a_big_qdpx_holds_nothing_and_stores_nothing(team, monkeypatch, tmp_path):
    path = tmp_path / "dockside.qdpx"
    path.write_bytes(qdpx(N_CODES, n_docs=4))
    before = _counts(team.store)
    held, coder = _while_coding(team, lambda: _cli(
        monkeypatch, team.store.url, "refi", "import", str(path), "--project", team.name, "--dry-run") == 0
        or pytest.fail())
    _check_coder(team, coder, held)
    after = _counts(team.store)
    for table in ("codes", "documents", "coders", "memos", "sets", "staged_imports"):
        assert after[table] == before[table], table
    assert after["codings"] == before["codings"] + len(coder.done)


def test_a_batch_of_transcripts_lets_a_coder_code_meanwhile(team, monkeypatch):
    """Each file is committed on its own (coding.work.documents): a batch never held the database."""
    with team.store.session(write=False) as s:
        maria = team.member(s, "maria")
    before = _counts(team.store)
    held, coder = _while_coding(team, lambda: import_uploads_committing(
        team.store, team.name, transcripts(60, seed=5), actor=maria).ok or pytest.fail())
    _check_coder(team, coder, held)
    assert _counts(team.store)["documents"] - before["documents"] == 60


# --- all or nothing, and nothing visible before it lands -------------------------------------

def test_staged_rows_are_invisible_and_cannot_be_coded_against(team):
    data = qdpx(600, n_docs=3, seed=6)
    seen = []
    with team.store.session(write=False) as s:
        maria, tom, p = team.member(s, "maria"), team.member(s, "tom"), team.project(s)
        codes_before = len(code_tree(s, p).infos)
        docs_before = s.scalar(select(func.count()).select_from(Document).where(Document.project_id == p.id))
    other = Store(team.store.url, run_migrations=False)

    def look(done, total):
        with other.session(write=False) as s:
            p = team.project(s)
            staged = s.scalars(select(Code).join(Project, Project.id == Code.project_id)
                               .where(Project.staging_for == p.id)).first()
            if staged is None:
                return
            assert len(code_tree(s, p).infos) == codes_before
            assert s.scalar(select(func.count()).select_from(Document)
                            .where(Document.project_id == p.id)) == docs_before
            assert [x.name for x in list_projects(s)].count(team.name) == 1
            assert all(x.staging_for is None for x in list_projects(s))
            (shown,) = imports_in_progress(s, p, tom)
            assert shown.label == "six.qdpx" and shown.by == "maria" and 0 < shown.rows_done <= shown.rows_total
            code_id, doc = staged.id, s.scalar(select(Document).where(Document.project_id == p.id))
        with pytest.raises((PermissionDeniedError, NotFoundError)):
            with other.session() as s:
                apply_codes(s, team.project(s), tom, s.get(Document, doc.id), [code_id], 0, 5)
        seen.append(done)

    import_qdpx_staged(team.store, team.name, maria, data, "six.qdpx", progress=look)
    other.dispose()
    assert seen, "the import was stored in one go: nothing was staged first"
    with team.store.session(write=False) as s:
        assert len(code_tree(s, team.project(s)).infos) == codes_before + 600
        assert imports_in_progress(s, team.project(s), maria) == []


def test_an_import_interrupted_while_staging_leaves_nothing(team):
    before = _counts(team.store)
    with team.store.session(write=False) as s:
        maria = team.member(s, "maria")
    calls = []

    def interrupt(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C half-way

    with pytest.raises(KeyboardInterrupt):
        import_qdpx_staged(team.store, team.name, maria, qdpx(1500, n_docs=6, seed=7), "seven.qdpx",
                           progress=interrupt)
    assert len(calls) == 2
    assert _counts(team.store) == before


def test_a_codebook_change_while_staging_refuses_the_import_and_leaves_nothing(team):
    before = _counts(team.store)
    with team.store.session(write=False) as s:
        maria = team.member(s, "maria")
        gang = code_tree(s, team.project(s)).resolve("Work/Gang labour").id
    other = Store(team.store.url, run_migrations=False)

    def edit(done, total):
        if done < total:
            return
        with other.session() as s:  # another lead's edit lands while the import is staged
            rename_code(s, team.project(s), team.member(s, "maria"), gang, "Gang work")

    with pytest.raises(ConflictError, match="changed while the import was being stored"):
        import_qdpx_staged(team.store, team.name, maria, qdpx(300, n_docs=2, seed=8), "eight.qdpx", progress=edit)
    other.dispose()
    after = _counts(team.store)
    assert after["events"] == before["events"] + 1  # the rename only
    assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}
    # imported again, it lands
    rep = import_qdpx_staged(team.store, team.name, maria, qdpx(300, n_docs=2, seed=8), "eight.qdpx")
    assert rep.codes_created == 300 and len(rep.documents) == 2


def test_a_member_demoted_while_staging_cannot_swap_the_import_in(team):
    from coding.team.projects import add_member, change_role

    with team.store.session() as s:
        maria = team.member(s, "maria")
        add_member(s, team.project(s), "ruth", "lead", actor=maria, password="Winch-Berth-Lead-2044")
    before = _counts(team.store)
    other = Store(team.store.url, run_migrations=False)

    def demote(done, total):
        if done == total:
            with other.session() as s:
                change_role(s, team.project(s), team.member(s, "ruth"), "maria", "coder")

    with pytest.raises(PermissionDeniedError):
        import_qdpx_staged(team.store, team.name, maria, qdpx(300, n_docs=2, seed=9), "nine.qdpx", progress=demote)
    other.dispose()
    after = _counts(team.store)
    assert {k: after[k] for k in ("codes", "documents", "codings", "coders", "staged_imports", "projects")} == \
        {k: before[k] for k in ("codes", "documents", "codings", "coders", "staged_imports", "projects")}


def _staging_then_killed(url: str, project: str, member, data: bytes) -> None:
    """In a child process: stage an import and die without a word (kill -9) half-way."""
    import os
    import signal

    store = Store(url, run_migrations=False)

    def die(done, total):
        if done < total:
            os.kill(os.getpid(), signal.SIGKILL)

    import_qdpx_staged(store, project, member, data, "killed.qdpx", progress=die)


def test_rows_staged_by_a_killed_process_stay_hidden_and_the_next_import_removes_them(team):
    before = _counts(team.store)
    with team.store.session(write=False) as s:
        maria = team.member(s, "maria")
    proc = mp.get_context("spawn").Process(target=_staging_then_killed,
                                           args=(team.store.url, team.name, maria, qdpx(1500, n_docs=4, seed=10)))
    with team.store.session(write=False) as s:
        codes_before = len(code_tree(s, team.project(s)).infos)
    proc.start()
    proc.join(120)
    assert proc.exitcode == -9
    left = _counts(team.store)
    assert left["staged_imports"] == 1 and left["codes"] > before["codes"]  # staged, hidden
    with team.store.session(write=False) as s:
        p = team.project(s)
        assert len(code_tree(s, p).infos) == codes_before
        (stalled,) = imports_in_progress(s, p, maria)
        assert not stalled.stalled
    with team.store.session() as s:  # as if it had been left for longer than STALE_AFTER
        s.execute(update(StagedImport).values(seen_at=datetime.now(UTC) - timedelta(hours=1)))
    rep = import_qdpx_staged(team.store, team.name, maria, qdpx(200, n_docs=1, seed=11), "next.qdpx")
    assert rep.codes_created == 200
    after = _counts(team.store)
    assert after["staged_imports"] == 0 and after["projects"] == before["projects"]
    assert after["codes"] == before["codes"] + 200 and after["documents"] == before["documents"] + 1


def test_a_refused_import_is_refused_before_anything_is_read_or_staged(team):
    with team.store.session(write=False) as s:
        tom = team.member(s, "tom")
    before = _counts(team.store)
    with pytest.raises(PermissionDeniedError):
        import_qdpx_staged(team.store, team.name, tom, qdpx(50, n_docs=1, seed=12), "tom.qdpx")
    with pytest.raises(CodingError, match="is not a REFI-QDA project"):
        import_qdpx_staged(team.store, team.name, team_lead(team), b"not a zip", "broken.qdpx")
    assert _counts(team.store) == before


def team_lead(team):
    with team.store.session(write=False) as s:
        return team.member(s, "maria")


def test_the_exchange_page_shows_an_import_being_stored_and_no_hidden_project(team, monkeypatch, loopback_server):
    """While maria's import is staged (held half-way in another thread), the Exchange page
    says so, and the project list in the sidebar holds no hidden project."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from coding.team.sessions import open_session

    monkeypatch.setenv("CODING_DB_URL", team.store.engine.url.render_as_string(hide_password=False))
    with team.store.session() as s:
        maria = team.member(s, "maria")
        token = open_session(s, maria).id
    staged, go_on, errors = threading.Event(), threading.Event(), []

    def hold(done, total):
        staged.set()
        go_on.wait(120)

    def importing():
        try:
            import_qdpx_staged(team.store, team.name, maria, qdpx(300, n_docs=2, seed=13), "held.qdpx",
                               progress=hold)
        except BaseException as exc:  # reported below
            errors.append(exc)

    worker = threading.Thread(target=importing, daemon=True)
    worker.start()
    try:
        assert staged.wait(120)
        at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
        at.session_state["project"] = team.name
        at.session_state["auth_session"] = token
        at.switch_page("app_pages/interchange_page.py")
        at.run()
        assert not at.exception
        info = " ".join(i.value for i in at.info)
        assert "An import is being stored: held" in info and "by maria" in info and "rows stored" in info
        options = at.sidebar.selectbox(key="common_project").options
        assert team.name in options and not any(o.startswith("importing ") for o in options)
    finally:
        go_on.set()
        worker.join(120)
    assert not errors, errors
    with team.store.session(write=False) as s:
        assert imports_in_progress(s, team.project(s), maria) == []


def test_only_rows_hanging_on_visible_rows_wait_for_the_swap():
    """How the rows are split: a row hanging on an existing row (an account of an existing
    member, a coding on an existing document) is written by the swap; everything else,
    top-level codes included, is staged first. Events always come with the swap."""
    from coding.work.staged_import import _plan
    from coding.store.scratch import Changes

    target, staging, existing_coder, existing_doc = "p-target", "p-staging", "c-old", "d-old"
    changes = Changes(inserts={
        "coders": [{"id": "c-new", "project_id": target, "name": "rita"}],
        "member_accounts": [{"coder_id": existing_coder}, {"coder_id": "c-new"}],
        "codes": [{"id": "k-top", "project_id": target, "parent_id": None, "proposed_by": None},
                  {"id": "k-kid", "project_id": target, "parent_id": "k-top", "proposed_by": None}],
        "documents": [{"id": "d-new", "project_id": target, "name": "Docker_09"}],
        "codings": [{"id": "g-1", "project_id": target, "document_id": "d-new", "code_id": "k-kid",
                     "coder_id": "c-new"},
                    {"id": "g-2", "project_id": target, "document_id": existing_doc, "code_id": "k-kid",
                     "coder_id": "c-new"}],
        "events": [{"id": "e-1", "project_id": target, "actor_id": None}],
    })
    plan = _plan(changes, target, staging)
    staged = [(t, r.get("id", r.get("coder_id"))) for t, r in plan.staged]
    later = [(t, r.get("id", r.get("coder_id"))) for t, r in plan.later]
    assert staged == [("coders", "c-new"), ("member_accounts", "c-new"), ("codes", "k-top"), ("codes", "k-kid"),
                      ("documents", "d-new"), ("codings", "g-1")]
    assert later == [("member_accounts", existing_coder), ("codings", "g-2"), ("events", "e-1")]
    assert all(r["project_id"] == staging for t, r in plan.staged if "project_id" in r)
    assert plan.names == {"coders": ["rita"], "documents": ["Docker_09"]} and plan.touches_codebook


def test_a_coding_takes_no_longer_once_a_big_codebook_has_landed(team):
    """Applying or changing a code reads the chosen codes and their ancestors, not the whole
    codebook: after an import of 20,000 codes a coding (which holds SQLite's write lock
    while it runs) takes about as long as before, so coders do not queue behind each other."""
    from statistics import median

    from coding.store.models import new_id
    from coding.work.codings import recode

    with team.store.session(write=False) as s:
        p = team.project(s)
        tom = team.member(s, "tom")
        tree = code_tree(s, p)
        doc = s.scalar(select(Document.id).where(Document.project_id == p.id, Document.name == "Clerk_01"))
        codes = [tree.resolve("Change/Containerisation").id, tree.resolve("Change/Job loss").id]
        folder = tree.resolve("Work").id

    def timed(k0: int) -> list[float]:
        took = []
        for k in range(k0, k0 + 12):
            def work(s, k=k):
                p = s.get(Project, team_project_id)
                [c] = apply_codes(s, p, tom, s.get(Document, doc), [codes[0]], k, k + 5)
                recode(s, p, tom, c.id, codes[1])
            t = time.perf_counter()
            team.store.run(work)
            took.append(time.perf_counter() - t)
        return took

    team_project_id = tom.project_id
    small = median(timed(0))
    with team.store.session() as s:  # 20,000 more codes, as a big import leaves them
        s.execute(Code.__table__.insert(), [
            {"id": new_id(), "project_id": team_project_id, "parent_id": folder, "position": i,
             "name": f"Theme {i}", "codable": True} for i in range(20_000)])
    big = median(timed(20))
    assert big < 3 * small + 0.02, f"a coding took {big * 1000:.0f} ms with 20,000 codes, {small * 1000:.0f} ms before"
    with pytest.raises(ConflictError, match="'Work' is a folder"), team.store.session() as s:
        apply_codes(s, s.get(Project, team_project_id), tom, s.get(Document, doc), [folder], 0, 5)
    with pytest.raises(NotFoundError), team.store.session() as s:
        apply_codes(s, s.get(Project, team_project_id), tom, s.get(Document, doc), [new_id()], 0, 5)

"""A coded passage reruns only the transcript's fragment (issue 19: click → stored): tom, a
coder of harbour, codes Clerk_01 in Chromium. The server's own account of each run is read
from the WebSocket: every run ends with a ``script_finished`` message whose status says
whether the whole page ran (FINISHED_SUCCESSFULLY) or only a fragment
(FINISHED_FRAGMENT_RUN_SUCCESSFULLY). After each step the test reads the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.message import DecodeError
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from coding.store import Store
from tests.conftest import TEAM_TEXTS, copy_database, drop_database

from .coding_helpers import block_of, code_in_picker, drag, settle, wait_selection
from .conftest import run_streamlit
from .test_coding_picker import (
    code_id,
    doc_id,
    open_doc,
    sign_in_tom,
    toms_codings,
    wait_db,
)

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
FULL, FRAGMENT = ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


@pytest.fixture(scope="module")
def harbour(request, tmp_path_factory):
    url = copy_database(request.getfixturevalue("_team_template"), tmp_path_factory.mktemp("fragment"))
    store = Store(url, run_migrations=False)
    try:
        with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
            yield store, app_url
    finally:
        store.dispose()
        drop_database(url)


class Runs:
    """The end status of every script run the server reports to this page."""

    def __init__(self, page) -> None:
        self.ends: list[int] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._got))

    def _got(self, payload) -> None:
        if not isinstance(payload, bytes):
            return
        try:
            msg = ForwardMsg.FromString(payload)
        except DecodeError:   # not a ForwardMsg (never expected): ignore it
            return
        if msg.WhichOneof("type") == "script_finished":
            self.ends.append(msg.script_finished)


def code_phrase(page, store, runs: Runs, phrase: str, code_path: str, n_before: int) -> list[int]:
    """Drag over `phrase` in Clerk_01, click `code_path` in the picker; the run ends it caused."""
    text = TEAM_TEXTS["Clerk_01"]
    start = len(runs.ends)
    drag(page, block_of(text, phrase), phrase, block_of(text, phrase), phrase)
    wait_selection(page, phrase)
    code_in_picker(page, code_id(store, code_path)).click()
    assert len(wait_db(lambda: len(toms_codings(store, "Clerk_01")) > n_before and toms_codings(store, "Clerk_01"))
               or []) == n_before + 1
    page.wait_for_function("() => !document.querySelector('.cwtv-root').getAttribute('data-selection')",
                           timeout=15_000)
    settle(page)
    page.wait_for_timeout(800)
    return runs.ends[start:]


def test_a_coded_passage_reruns_only_the_fragment_and_the_tabs_are_right_when_opened(browser, harbour):
    store, url = harbour
    ctx, page, _ = sign_in_tom(browser, url)
    runs = Runs(page)   # attached after sign-in: the socket is already open, so reload once
    page.reload()
    page.wait_for_selector(".cwtv-root .cwtv-block [data-s]", timeout=60_000)
    settle(page)
    open_doc(page, store, "Clerk_01")
    text = TEAM_TEXTS["Clerk_01"]
    assert "My progress: not started" in page.locator(".stMainBlockContainer").inner_text()

    # The first coding moves tom's progress on: the page is run whole once to show it.
    ends = code_phrase(page, store, runs, "Counted every bale over the side", "Work/Clerical work", 0)
    assert FRAGMENT in ends or FULL in ends
    assert FULL in ends, ends
    assert "My progress: in progress" in page.locator(".stMainBlockContainer").inner_text()

    # Every later passage: the fragment only (no full run), and the database holds it exactly.
    for n, (phrase, path) in enumerate([("By 1985 a terminal did my job", "Change/Job loss"),
                                        ("Paper, pencil, carbon copies", "Work/Clerical work")], start=1):
        ends = code_phrase(page, store, runs, phrase, path, n)
        assert ends == [FRAGMENT], ends
        at = text.index(phrase)
        row = toms_codings(store, "Clerk_01")[-1]
        assert (row[1], row[2], row[3]) == (path.rsplit("/", 1)[-1], at, at + len(phrase))
        page.wait_for_selector(f".cwtv-root [data-hl~='{row[0]}']", timeout=15_000)

    # Opening the codings list runs the page whole: its filter lists the codes now on the document.
    start = len(runs.ends)
    page.get_by_role("tab", name="Codings here").click()
    page.locator(f".st-key-coding_list_{doc_id(store, 'Clerk_01')}").wait_for(timeout=30_000)
    settle(page)
    assert FULL in runs.ends[start:]
    page.locator(f".st-key-coding_hide_{doc_id(store, 'Clerk_01')}").click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=10_000)
    assert sorted(o for o in options.all_inner_texts() if o != "Select all") == ["Change/Job loss", "Work/Clerical work"]
    page.keyboard.press("Escape")
    settle(page)

    # With the list open, a coded passage runs the page whole, so the list is never stale.
    ends = code_phrase(page, store, runs, "I trained the young ones on it", "Community", 3)
    assert FULL in ends, ends
    page.locator(f".st-key-coding_hide_{doc_id(store, 'Clerk_01')} input").click()
    if not options.count():
        page.keyboard.press("ArrowDown")
    options.first.wait_for(timeout=10_000)
    page.wait_for_timeout(500)   # the options are filled a moment after the list opens
    assert sorted(o for o in options.all_inner_texts() if o != "Select all") == ["Change/Job loss", "Community", "Work/Clerical work"], options.all_inner_texts()
    assert len(toms_codings(store, "Clerk_01")) == 4
    ctx.close()

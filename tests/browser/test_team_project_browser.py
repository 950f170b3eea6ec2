"""Issue 17 end to end in a real Chromium: a research team's own project, start to finish in
the browser, on a server that already holds the demo and the protected project harbour.

The lead (maria, a lead of harbour) opens harbour from a link naming it, signs in, creates
a protected project for her own study, imports its transcripts, its YAML codebook and its
participant attributes, adds a coder (tom), opens a round and assigns him a document. Tom
signs in in a second browser context while she stays signed in, chooses his own password,
and both code the document; maria reveals the round and compares herself with tom on the
Agreement page. Then each walks every page link twice, the second time after a reload:
the project and the sign-in stay. The database is read after each step."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from coding.agreement.project import compute_agreement
from coding.codebook.tree import code_tree
from coding.store import Store
from coding.store.models import Assignment, Coder, Coding, Document, NlpCache, Round, SessionToken
from coding.team.members import Member, get_member
from coding.team.projects import get_project
from coding.work.documents import document_summary, list_documents
from tests.conftest import PG_URL, TEAM_PASSWORDS, copy_database

from .coding_helpers import REPO, choose, code_in_picker, drag, settle, signed_in, wait_selection
from .conftest import run_streamlit
from .test_coding_loop import answered, wait_answered

pytestmark = pytest.mark.browser

STUDY = "Net lofts"  # the team's own study: net makers of a fishing harbour
MARIA_PW = "Mending-Twine-Lead-8830"  # her account in the new project (harbour's stays as it is)
TOM_TEMP, TOM_PW = "Cork-Float-Temp-4471", "Herring-Drift-Coder-9264"
TEXTS = {
    "Loft_01": ("Interviewer: Who taught you to mend nets?\n\n"
                "Maker: My aunt taught me in the loft above the fish market, every winter evening.\n\n"
                "Interviewer: And when the nylon came?\n\n"
                "Maker: Nylon nets needed no tarring. Half the lofts closed within ten years.\n"),
    "Loft_02": ("Interviewer: What did the work pay?\n\n"
                "Maker: Piece rates, by the fathom. We sang to keep the count.\n"),
}
CODEBOOK = """\
codebook: Net lofts
codes:
  - name: Craft
    codable: false
    children:
      - name: Learning the craft
        definition: How the skill was passed on.
      - name: Pay
        definition: Piece rates and wages.
  - name: Decline
    definition: Lofts closing, new materials.
"""
ATTRIBUTES = "document,generation,loft\nLoft_01,1950s,Fish market\nLoft_02,1960s,Harbour wall\nLoft_09,1970s,Pier\n"
LINKS = {"Project": "", "Code transcripts": "coding_page", "Codebook": "codebook_page",
         "Agreement": "agreement_page", "Memos": "memos_page", "Retrieve": "retrieve_page",
         "Suggestions": "suggestions_page", "Members": "members_page", "Exchange": "interchange_page"}
QUOTE = "My aunt taught me in the loft above the fish market"


@pytest.fixture
def server(_team_template, tmp_path):
    """A copy of the demo + harbour database, served by the app; yields (store, url)."""
    if PG_URL:
        pytest.skip("browser tests run on SQLite")
    url = copy_database(_team_template, tmp_path, "e2e")
    store = Store(url, run_migrations=False)
    try:
        with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
            yield store, app_url
    finally:
        store.dispose()


# --- what the page shows -------------------------------------------------------------------

def sidebar(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def open_project(page) -> str:
    return page.locator(".st-key-common_project input").input_value()


def url_project(page) -> str | None:
    return (parse_qs(urlsplit(page.url).query).get("project") or [None])[0]


def expect_signed_in(page, who: str, project: str, where: str) -> None:
    """The sidebar names ``who`` and ``project``, the URL the project, the page asks no sign-in
    (polled for a while: the run that follows a click may still be on its way)."""
    page.get_by_text(f"Signed in as {who}").first.wait_for(timeout=30_000)
    for _ in range(100):
        shown = (open_project(page), url_project(page))
        if shown == (project, project):
            break
        page.wait_for_timeout(200)
    assert shown == (project, project), f"{where}: the sidebar shows {shown[0]!r}, the URL is {page.url}"
    settle(page)
    assert page.get_by_text(f"Signed in as {who}").count(), f"{where}: signed out"
    assert "Sign in from the sidebar" not in page.locator("[data-testid='stMain']").inner_text(), where


def go(page, link: str) -> None:
    """Click a navigation link and wait for its page (its path; the query names the project)."""
    path = LINKS[link]
    for _ in range(3):
        page.get_by_role("link", name=link, exact=True).click()
        try:
            page.wait_for_url(lambda u: urlsplit(u).path.rstrip("/").endswith(path), timeout=10_000)
            break
        except Exception:  # noqa: BLE001  (a click swallowed by a rerun: click again)
            settle(page)
    settle(page)


def fill(page, key: str, value: str) -> None:
    page.locator(f".st-key-{key} input").fill(value)


def click(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    settle(page)


def pick(page, key: str, option: str) -> None:
    """Add `option` to the multiselect with key `key`."""
    for _ in range(3):  # a rerun may close the list as it opens: open it again
        page.locator(f".st-key-{key} input").click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except Exception:  # noqa: BLE001
            page.screenshot(path="/tmp/h17a/pick.png")
            page.keyboard.press("Escape")
            settle(page)
    page.keyboard.press("Escape")


def sign_in(page, name: str, password: str) -> None:
    fill(page, "common_name", name)
    fill(page, "common_pw", password)
    click(page, "Sign in")
    signed_in(page)  # the session cookie set, no rerun pending


def wait_db(check, what: str, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"the database never showed: {what}"
        time.sleep(0.2)


# --- what the database holds -----------------------------------------------------------------

def study(store, fn):
    with store.session(write=False) as s:
        return fn(s, get_project(s, STUDY))


def codings_of(store, who: str) -> list[tuple[str, str, str]]:
    def read(s, p):
        m = get_member(s, p, who)
        rows = s.execute(select(Document.name, Document.text, Coding.code_id, Coding.start, Coding.end)
                         .join(Coding, Coding.document_id == Document.id)
                         .where(Coding.coder_id == m.id, Coding.layer == "coder")).all()
        tree = code_tree(s, p)
        return [(name, tree.info[code].path, text[a:b]) for name, text, code, a, b in rows]
    return study(store, read)


def code_on_the_page(page, store, who: str, code_path: str) -> None:
    """On the coding page: open Loft_01, drag over QUOTE, click the code; wait until stored."""
    code_id = study(store, lambda s, p: code_tree(s, p).resolve(code_path).id)
    doc_id = study(store, lambda s, p: s.scalar(select(Document.id).where(Document.project_id == p.id,
                                                                          Document.name == "Loft_01")))
    choose(page, "coding_doc", "Loft_01")
    page.wait_for_selector(f".cwtv-root[data-doc='{doc_id}'] .cwtv-block [data-s]", timeout=30_000)
    settle(page)
    block = f"t{TEXTS['Loft_01'][:TEXTS['Loft_01'].index(QUOTE)].count(chr(10) * 2)}"
    drag(page, block, QUOTE, block, QUOTE)
    wait_selection(page, QUOTE)
    n = answered(page)
    code_in_picker(page, code_id).click()
    wait_answered(page, n + 1)
    wait_db(lambda: ("Loft_01", code_path, QUOTE) in codings_of(store, who), f"{who}'s coding")


def walk(page, who: str) -> None:
    """Every page link twice, the second time after a reload: the project and sign-in stay."""
    nav = page.locator("[data-testid='stSidebarNav'] a")
    links = {nav.nth(i).inner_text().strip().splitlines()[-1].strip(): urlsplit(nav.nth(i).get_attribute("href")).path.strip("/")
             for i in range(nav.count())}
    assert set(LINKS) <= set(links), links  # every page of the app is walked, new ones too
    LINKS.update(links)
    for lap in ("first", "after a reload"):
        for link in links:
            go(page, link)
            expect_signed_in(page, who, STUDY, f"{who}, {lap}, {link}")
        page.reload()
        settle(page, timeout=60_000)
        expect_signed_in(page, who, STUDY, f"{who}, reloaded")


def test_a_team_runs_its_own_project_in_the_browser(browser, server, tmp_path):
    pages: dict = {}
    try:
        _story(browser, server, tmp_path, pages)
    except BaseException:
        import os

        if os.environ.get("CODING_DEBUG_SHOTS"):  # where each page stood when it failed
            for who, page in pages.items():
                page.screenshot(path=f"{os.environ['CODING_DEBUG_SHOTS']}.{who}.png")
        raise


def _story(browser, server, tmp_path, pages: dict) -> None:
    store, url = server
    lead_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    maria = pages["maria"] = lead_ctx.new_page()

    # A link naming harbour opens harbour (not the demo, first by default); maria signs in.
    maria.goto(f"{url}/?project=harbour")
    maria.locator(".st-key-common_name input").wait_for(timeout=60_000)
    assert open_project(maria) == "harbour"
    sign_in(maria, "maria", TEAM_PASSWORDS["maria"])
    expect_signed_in(maria, "maria", "harbour", "harbour sign-in")

    # She creates a protected project for her own study and is signed in to it as its lead.
    maria.get_by_text("Create another project").click()
    fill(maria, "project_new_name", STUDY)
    fill(maria, "project_new_pw", MARIA_PW)
    fill(maria, "project_new_pw2", MARIA_PW)
    click(maria, "Create project")
    expect_signed_in(maria, "maria", STUDY, "after creating the project")
    with store.session(write=False) as s:
        p = get_project(s, STUDY)
        lead = get_member(s, p, "maria")
        assert (p.local_mode, lead.role) == (False, "lead") and lead.password_hash
        assert s.scalar(select(func.count()).select_from(SessionToken)
                        .where(SessionToken.coder_id == lead.id, SessionToken.revoked_at.is_(None))) == 1

    # Transcripts, on the Project page (then parsed for suggestions in the background).
    files = []
    for name, text in TEXTS.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    maria.locator(".st-key-project_files input[type=file]").set_input_files(files)
    maria.get_by_text("Loft_02.txt").first.wait_for(timeout=20_000)
    click(maria, "Import")
    maria.get_by_text("Imported Loft_02").wait_for(timeout=30_000)
    assert study(store, lambda s, p: {d.name: d.text for d in list_documents(s, p)}) == TEXTS

    # The codebook and the attributes, on the Codebook page: previewed, then stored.
    go(maria, "Codebook")
    (tmp_path / "netlofts.yaml").write_text(CODEBOOK, encoding="utf-8")
    maria.locator(".st-key-codebook_yaml_file_0 input[type=file]").set_input_files(
        str(tmp_path / "netlofts.yaml"))
    maria.get_by_text("4 codes to create, 0 codes to update").wait_for(timeout=20_000)
    assert study(store, lambda s, p: code_tree(s, p).infos) == []  # a preview stores nothing
    click(maria, "Import this codebook")
    maria.get_by_text("Codebook imported from netlofts.yaml: 4 created, 0 updated.").wait_for(timeout=30_000)
    assert study(store, lambda s, p: [i.path for i in code_tree(s, p).infos]) == [
        "Craft", "Craft/Learning the craft", "Craft/Pay", "Decline"]
    maria.locator("[data-testid='stExpander'] summary", has_text="Participant attributes (CSV)").click()
    maria.locator(".st-key-codebook_csv_file_0").wait_for(timeout=10_000)
    (tmp_path / "people.csv").write_text(ATTRIBUTES, encoding="utf-8")
    maria.locator(".st-key-codebook_csv_file_0 input[type=file]").set_input_files(str(tmp_path / "people.csv"))
    maria.get_by_text("2 documents matched, 1 row naming no document").wait_for(timeout=20_000)
    click(maria, "Store these attributes")
    maria.get_by_text(re.compile(r"Attributes stored from people.csv: 4 values for 2 documents")).wait_for(
        timeout=30_000)
    assert study(store, lambda s, p: {d.name: document_summary(d)["attributes"] for d in list_documents(s, p)}) == {
        "Loft_01": {"generation": "1950s", "loft": "Fish market"},
        "Loft_02": {"generation": "1960s", "loft": "Harbour wall"}}

    # A coder, a round, an assignment: the Assign form offers tom, added a moment before.
    go(maria, "Project")
    fill(maria, "project_member_name", "tom")
    fill(maria, "project_member_pw", TOM_TEMP)
    click(maria, "Add member")
    maria.get_by_text("Added tom as coder.").wait_for(timeout=20_000)
    assert study(store, lambda s, p: get_member(s, p, "tom").role) == "coder"
    fill(maria, "project_round_name", "Round 1")
    click(maria, "Open round")
    maria.get_by_text("Opened Round 1.").wait_for(timeout=20_000)
    pick(maria, "project_assign_docs", "Loft_01")
    assert "tom" in maria.locator("[class*='st-key-project_assign_coders']").inner_text()
    click(maria, "Assign")
    maria.get_by_text("1 assignment added in Round 1.").wait_for(timeout=20_000)
    assert study(store, lambda s, p: s.execute(
        select(Document.name, Coder.name).join(Assignment, Assignment.document_id == Document.id)
        .join(Coder, Coder.id == Assignment.coder_id).where(Document.project_id == p.id)).all()) == [("Loft_01", "tom")]

    # Tom signs in from his own browser while maria stays signed in: a link opens the study.
    coder_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    tom = pages["tom"] = coder_ctx.new_page()
    tom.goto(f"{url}/coding_page?project={STUDY.replace(' ', '%20')}")
    tom.locator(".st-key-common_name input").wait_for(timeout=60_000)
    assert open_project(tom) == STUDY
    sign_in(tom, "tom", TOM_TEMP)
    fill(tom, "common_pw_old", TOM_TEMP)
    fill(tom, "common_pw_new", TOM_PW)
    fill(tom, "common_pw_again", TOM_PW)
    click(tom, "Set password")
    tom.locator(".st-key-common_pw_new").wait_for(state="detached", timeout=20_000)
    expect_signed_in(tom, "tom", STUDY, "tom after choosing his password")

    # Both code the same passage: tom (assigned) and maria, the lead who codes.
    go(tom, "Code transcripts")
    code_on_the_page(tom, store, "tom", "Craft/Learning the craft")
    go(maria, "Code transcripts")
    expect_signed_in(maria, "maria", STUDY, "maria while tom works")
    code_on_the_page(maria, store, "maria", "Craft/Learning the craft")
    assert codings_of(store, "tom") == codings_of(store, "maria") == [
        ("Loft_01", "Craft/Learning the craft", QUOTE)]

    # Maria reveals the round and compares herself with tom on the Agreement page.
    go(maria, "Project")
    click(maria, "Reveal this round")
    maria.get_by_text("Round 1 revealed").wait_for(timeout=20_000)
    assert study(store, lambda s, p: [r.status for r in s.scalars(select(Round).where(Round.project_id == p.id))]) == [
        "revealed"]
    go(maria, "Agreement")
    coders = maria.locator(".st-key-agreement_coders").inner_text()
    assert "tom" in coders and "maria" in coders, coders
    maria.get_by_text(re.compile(r"tom and maria")).first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 60  # the per-code table may still be drawing after the heading
    while True:
        main = maria.locator("[data-testid='stMain']").inner_text()
        if "Learning the craft" in main or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "needs two members" not in main and "Learning the craft" in main
    with store.session(write=False) as s:
        p = get_project(s, STUDY)
        rep = compute_agreement(s, p, ["tom", "maria"], member=Member.of(get_member(s, p, "maria")), ci=False)
        assert rep.rows[-1].percent_coded == 1.0  # the same passage, the same code

    # Every page twice, each member, the second time after a reload: nobody is thrown out.
    walk(maria, "maria")
    walk(tom, "tom")
    with store.session(write=False) as s:
        p = get_project(s, STUDY)
        for who in ("maria", "tom"):
            live = s.scalar(select(func.count()).select_from(SessionToken).where(
                SessionToken.coder_id == get_member(s, p, who).id, SessionToken.revoked_at.is_(None)))
            assert live == 1, f"{who} has {live} live sessions"

    # The imported transcripts were parsed for suggestions in the background meanwhile.
    def parsed() -> bool:
        with store.session(write=False) as s:
            shas = [d.sha256 for d in list_documents(s, get_project(s, STUDY))]
            return s.scalar(select(func.count()).select_from(NlpCache).where(NlpCache.sha256.in_(shas))) == 2
    wait_db(parsed, "both transcripts processed for suggestions", timeout=120)
    lead_ctx.close()
    coder_ctx.close()

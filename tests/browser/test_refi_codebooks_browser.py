"""The Exchange page in a real Chromium on harbour (issue 16, items 9-11): maria uploads a
Taguette codebook CSV and Taguette's .qdc (its empty <Sets/> accepted with a warning
naming it), imports them, then downloads the project; the download, read with the
independent reader of the standard, names every member and each coder's selections."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.store.models import Code
from coding.team.members import Member, get_member
from coding.team.projects import get_project
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from tests.conftest import TEAM, TEAM_PASSWORDS
from tests.interchange.test_refi_readers import TAGUETTE_CSV, _taguette_qdc, read_standard

from .coding_helpers import open_page, settle
from .test_team_project_browser import server, sign_in  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


def _upload(page, path) -> None:
    page.locator(".st-key-exchange_upload input[type=file]").set_input_files(str(path))
    page.get_by_text("Summary before importing").wait_for(timeout=60_000)
    settle(page, timeout=60_000)


def _import(page) -> None:
    page.get_by_role("button", name="Import into this project").click()
    page.get_by_text("Imported.").wait_for(timeout=60_000)
    settle(page, timeout=60_000)


def test_lead_imports_codebooks_of_taguette_and_exports_every_coder(browser, server, tmp_path):  # noqa: F811
    store, url = server
    with store.session() as s:  # tom and li code the same span with the same code
        p = get_project(s, TEAM)
        d1 = get_document(s, p, "Docker_01")
        gang = code_tree(s, p).by_path["Work/Gang labour"].id
        for who in ("tom", "li"):
            apply_codes(s, p, Member.of(get_member(s, p, who)), d1, [gang], 0, 45)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{url}/?project={TEAM}")
    page.locator(".st-key-common_name input").wait_for(timeout=60_000)
    sign_in(page, "maria", TEAM_PASSWORDS["maria"])
    page.get_by_text("Signed in as maria").first.wait_for(timeout=30_000)
    open_page(page, "Exchange", "interchange_page")
    page.locator(".st-key-exchange_upload input[type=file]").wait_for(state="attached", timeout=60_000)

    csv_file = tmp_path / "codebook.csv"
    csv_file.write_text(TAGUETTE_CSV, encoding="utf-8")
    _upload(page, csv_file)
    page.get_by_text("codes: 3 new, 0 updated").wait_for(timeout=10_000)
    with store.session(write=False) as s:
        assert "Strikes" not in code_tree(s, get_project(s, TEAM)).by_path  # a dry run so far
    _import(page)
    with store.session(write=False) as s:
        tree = code_tree(s, get_project(s, TEAM))
        assert tree.by_path["Strikes/1989 strike"].definition == "The last national dock strike"

    qdc = tmp_path / "taguette.qdc"
    qdc.write_bytes(_taguette_qdc())
    _upload(page, qdc)
    page.get_by_text("/CodeBook/Sets is empty").first.wait_for(timeout=10_000)
    _import(page)
    with store.session(write=False) as s:
        assert s.scalar(select(Code.name).where(Code.id == "0a1b2c3d-0000-4000-8000-00000000a001")) == "strike"

    page.get_by_role("button", name="Prepare the export files").click()
    page.locator(".st-key-exchange_dl_qdpx button").wait_for(timeout=60_000)
    with page.expect_download(timeout=30_000) as dl:
        page.locator(".st-key-exchange_dl_qdpx button").click()
    std = read_standard(open(dl.value.path(), "rb").read())  # noqa: SIM115 (Playwright owns the file)
    assert set(std.users.values()) == {"maria", "tom", "li"}
    same = [x for x in std.selections if (x.start, x.end) == (0, 45)]
    assert sorted(std.users[x.user] for x in same) == ["li", "tom"]
    ctx.close()

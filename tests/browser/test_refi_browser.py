"""The Exchange page in a real Chromium (issue 11): the lead uploads a real REFI-QDA
project (QualCoder's qc 1.3.2 demo), reads the summary (nothing stored yet), imports
it, and the database holds its documents and codings; then prepares and downloads an
export of the project, which holds them too."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
from sqlalchemy import func, select

from coding.team.projects import get_project
from coding.suggest.processing import processing_status
from coding.team.members import Member, get_member
from coding.store.models import Coding, Document, Event

from .coding_helpers import REPO, demo_app, open_page, settle, sign_in_local

pytestmark = pytest.mark.browser
QC = REPO.parent / "shared" / "refi" / "qc-1.3.2_demo.qdpx"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_app(tmp_path_factory.mktemp("refi") / "demo.db") as served:
        yield served


def _counts(store) -> tuple[int, int]:
    with store.session(write=False) as s:
        return (s.scalar(select(func.count()).select_from(Document)),
                s.scalar(select(func.count()).select_from(Coding)))


@pytest.mark.skipif(not QC.is_file(), reason="../shared/refi/qc-1.3.2_demo.qdpx is not beside the repository")
def test_lead_imports_a_qdpx_and_downloads_an_export(browser, demo):
    store, url = demo
    before = _counts(store)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    sign_in_local(page, url, "lead")
    open_page(page, "Exchange", "interchange_page")
    page.locator(".st-key-exchange_upload input[type=file]").wait_for(state="attached", timeout=60_000)

    page.locator(".st-key-exchange_upload input[type=file]").set_input_files(str(QC))
    page.get_by_text("Summary before importing").wait_for(timeout=60_000)
    page.get_by_text("codings: cp 205").wait_for(timeout=10_000)
    settle(page, timeout=60_000)
    assert _counts(store) == before  # the summary is a dry run: nothing stored yet

    page.get_by_role("button", name="Import into this project").click()
    page.get_by_text("Imported.").wait_for(timeout=60_000)
    settle(page, timeout=60_000)
    with store.session(write=False) as s:
        p = get_project(s, "demo")
        docs = {d.name: d for d in s.scalars(select(Document).where(Document.project_id == p.id))}
        assert {"admin-1", "board_2017"} <= set(docs)
        cp = get_member(s, p, "cp")
        imported = list(s.scalars(select(Coding).where(Coding.project_id == p.id, Coding.coder_id == cp.id)))
        assert len(imported) == 205 and {c.provenance for c in imported} == {"imported"}
        assert {c.document_id for c in imported} == {docs["board_2017"].id}  # the file codes only this one
        assert str(docs["board_2017"].id) == "33663939-3636-3632-3038-613431643463"  # the file's GUID kept
        ev = s.scalars(select(Event).where(Event.project_id == p.id, Event.action == "interchange.import")).one()
        assert json.loads(ev.payload)["codings"] == {"cp": 205}
        assert ev.actor_id == get_member(s, p, "lead").id
    assert _counts(store) == (before[0] + 2, before[1] + 205)
    # The imported documents are parsed for suggestions in the background, as on the Project page.
    deadline = time.monotonic() + 180
    while True:
        with store.session(write=False) as s:
            p = get_project(s, "demo")
            done, total = processing_status(s, p, Member.of(get_member(s, p, "lead")))
        if done == total or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (done, total) == (total, before[0] + 2)

    assert page.locator(".st-key-exchange_dl_qdpx").count() == 0  # not built until asked
    page.get_by_role("button", name="Prepare the export files").click()
    page.locator(".st-key-exchange_dl_qdpx button").wait_for(timeout=60_000)
    with page.expect_download(timeout=30_000) as dl:
        page.locator(".st-key-exchange_dl_qdpx button").click()
    data = open(dl.value.path(), "rb").read()  # noqa: SIM115 (Playwright owns the file)
    assert dl.value.suggested_filename == "demo.qdpx"
    z = zipfile.ZipFile(io.BytesIO(data))
    xml = z.read("project.qde").decode("utf-8")
    assert f'guid="{docs["admin-1"].id}"' in xml and 'name="board_2017"' in xml
    assert z.read(f"sources/{docs['admin-1'].id}.txt").decode("utf-8") == docs["admin-1"].text
    assert xml.count("<Coding ") >= before[1] + 205
    ctx.close()

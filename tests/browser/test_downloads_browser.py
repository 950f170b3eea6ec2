"""Issue 17, item 8, in a real Chromium on harbour: download buttons clicked quickly one after
the other, and during a rerun (one that ends early with ``st.rerun()``: coding a hit on the
Retrieve page), all deliver their files, and the files hold what the database holds. Before,
a deferred download's id was dropped by that rerun and the file never arrived ("Deferred
file ... not found" in the server log)."""

from __future__ import annotations

import csv
import io
import math
import time

import docx
import openpyxl
import pytest
from sqlalchemy import select

from coding.agreement.project import compute_agreement
from coding.store.models import Coder, Coding, Document

from .coding_helpers import open_page, settle
from .conftest import run_streamlit
from .download_helpers import prepare
from .test_export_kinds_browser import REPO, _prepare, _sign_in

pytestmark = pytest.mark.browser


def _stored(team) -> list[tuple[tuple[str, int, int, str], str]]:
    """Every harbour coding as ((document, start, end, coder), the stored text slice)."""
    with team.store.session() as s:
        names = dict(s.execute(select(Coder.id, Coder.name)).all())
        rows = s.execute(select(Document.name, Document.text, Coding.start, Coding.end, Coding.coder_id)
                         .join(Document, Document.id == Coding.document_id)
                         .where(Document.project_id == team.project(s).id, Coding.layer == "coder")).all()
    return sorted(((d, a, b, names[c]), t[a:b]) for d, t, a, b, c in rows)


def _collect(page, seen: list, n: int, timeout: float = 90) -> dict[str, bytes]:
    """The first ``n`` files delivered (downloads in ``seen``), by suffix."""
    got: dict[str, bytes] = {}
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        for d in list(seen):
            suffix = d.suggested_filename.rsplit(".", 1)[-1]
            if suffix not in got and d.failure() is None:
                with open(d.path(), "rb") as f:
                    got[suffix] = f.read()
    return got


def test_downloads_clicked_in_a_row_and_during_a_rerun_all_arrive(browser, team):
    _prepare(team)  # tom and li code harbour in a blind round
    url = team.store.engine.url.render_as_string(hide_password=False)
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx, page = _sign_in(browser, app_url, team, "maria")
        seen: list = []
        page.on("download", lambda d: seen.append(d))

        # Agreement: four buttons clicked one right after the other, no wait between
        open_page(page, "Agreement", "agreement_page")
        page.get_by_text("Per code").first.wait_for(timeout=120_000)
        settle(page, timeout=120_000)
        for label in ("Download CSV", "Download Word report", "Download Excel (all tables)", "Download Markdown"):
            page.get_by_role("button", name=label).first.click()
        files = _collect(page, seen, 4)
        assert sorted(files) == ["csv", "docx", "md", "xlsx"], sorted(files)
        with team.store.session(write=False) as s:
            rep = compute_agreement(s, team.project(s), ["tom", "li"], member=team.member(s, "maria"))
        rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8-sig"))))
        assert [r["code"] for r in rows] == [r.code for r in rep.rows]
        per_code = list(openpyxl.load_workbook(io.BytesIO(files["xlsx"]))["Per code"]
                        .iter_rows(values_only=True))[1:]
        assert [(g[0], g[2]) for g in per_code] == [(r.code, r.n_units) for r in rep.rows]
        for g, r in zip(per_code, rep.rows):
            assert (g[6] is None and math.isnan(r.kappa)) or math.isclose(g[6], r.kappa, rel_tol=1e-12)
        assert docx.Document(io.BytesIO(files["docx"])).tables
        assert all(r.code in files["md"].decode() for r in rep.rows[:-1])

        # Retrieve: two exports ready; then a hit is coded (its run ends with st.rerun()) and
        # both are clicked while the page is running again
        seen.clear()
        open_page(page, "Retrieve", "retrieve_page")
        page.get_by_role("tab", name="Export").wait_for(timeout=60_000)
        settle(page, timeout=60_000)
        page.get_by_role("tab", name="Export").click()
        for label in ("Excerpts (CSV)", "Quote bank (DOCX)"):
            prepare(page, label)
            settle(page, timeout=60_000)
        before = _stored(team)
        page.get_by_role("tab", name="Search the corpus").click()
        page.get_by_label("Find in every transcript (plain text, any case)").fill("tally book")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Code this hit").wait_for(timeout=60_000)
        settle(page, timeout=60_000)
        page.get_by_role("button", name="Code this hit").click()  # its run ends with st.rerun()
        for label in ("Excerpts (CSV)", "Quote bank (DOCX)"):
            # the message the rerun adds above the tabs may bring the first tab back: pick Export again
            page.get_by_role("tab", name="Export").click()
            page.get_by_role("button", name=label).first.click()
        files = _collect(page, seen, 2)
        assert sorted(files) == ["csv", "docx"], sorted(files)
        settle(page, timeout=60_000)
        assert len(_stored(team)) == len(before) + 1  # the hit was coded meanwhile
        rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8-sig"))))
        # prepared before the hit: exactly the codings stored then, each quote the stored slice
        assert sorted(((r["document"], int(r["start"]), int(r["end"]), r["coder"]), r["text"]) for r in rows) == before
        quotes = [par.text for par in docx.Document(io.BytesIO(files["docx"])).paragraphs if par.style.name == "Quote"]
        assert quotes and all(any(q.startswith(t) for _, t in before) for q in quotes)
        ctx.close()

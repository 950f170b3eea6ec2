"""Issue 17, item 8 on the pages (AppTest, harbour): every download button carries its file
(no deferred id, which a run ended early drops while the browser still holds it) and does not
rerun the page when clicked; a costly export is prepared on request, holds the stored codings,
and is withdrawn when the filters change."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from coding.store.models import Coder, Coding, Document
from coding.team.sessions import open_session
from tests.exporting.test_coded_exports import CODINGS, _code

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def harbour(team, monkeypatch, loopback_server):
    """``make(page, member)``: an AppTest of app.py on harbour, tom and li having coded."""
    monkeypatch.setenv("CODING_DB_URL", team.store.engine.url.render_as_string(hide_password=False))
    with team.store.session() as s:
        p = team.project(s)
        for c in CODINGS:
            _code(s, p, *c)

    def make(page: str, member: str = "maria") -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        at.session_state["project"] = team.name
        with team.store.session() as s:
            at.session_state["auth_session"] = open_session(s, team.member(s, member)).id
        at.switch_page(page)
        return at

    return make


def _carried(at: AppTest) -> dict[str, str]:
    """Key -> file URL of every download button, each checked to carry its file and not rerun."""
    out = {}
    for b in at.get("download_button"):
        assert not b.proto.deferred_file_id, b.proto.label  # a deferred id dies with a run ended early
        assert b.proto.ignore_rerun, b.proto.label  # clicking it does not rerun the page
        assert b.proto.url, b.proto.label
        out[b.key] = b.proto.url
    return out


def test_agreement_downloads_carry_their_files_across_reruns(harbour):
    at = harbour("app_pages/agreement_page.py")
    at.run()
    assert not at.exception
    first = _carried(at)
    assert set(first) == {"agreement_csv", "agreement_md", "agreement_xlsx", "agreement_docx"}
    at.radio(key="agreement_cell_metric").set_value(at.radio(key="agreement_cell_metric").options[-1]).run()
    assert not at.exception
    assert _carried(at) == first  # the same files (built once per report), so a click mid-rerun still gets them


def test_a_retrieve_export_is_prepared_holds_the_stored_codings_and_goes_when_filters_change(team, harbour):
    at = harbour("app_pages/retrieve_page.py")
    at.run()
    assert not at.exception
    assert "retrieve_dl_excerpts_csv" not in _carried(at)
    at.button(key="retrieve_dl_excerpts_csv__prepare").click().run()
    assert not at.exception
    assert "retrieve_dl_excerpts_csv" in _carried(at)
    _, data, _ = at.session_state["retrieve_dl_excerpts_csv__file"]
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig") if isinstance(data, bytes) else data)))
    with team.store.session() as s:
        names = dict(s.execute(select(Coder.id, Coder.name)).all())
        stored = sorted(((d, a, b, names[c]), t[a:b]) for d, t, a, b, c in s.execute(
            select(Document.name, Document.text, Coding.start, Coding.end, Coding.coder_id)
            .join(Document, Document.id == Coding.document_id)
            .where(Document.project_id == team.project(s).id)).all())
    assert sorted(((r["document"], int(r["start"]), int(r["end"]), r["coder"]), r["text"]) for r in rows) == stored
    # another rerun keeps it; a changed filter withdraws it (it was made for other choices)
    at.run()
    assert "retrieve_dl_excerpts_csv" in _carried(at)
    at.text_input(key="retrieve_search").input("foreman").run()
    assert not at.exception
    assert "retrieve_dl_excerpts_csv" not in _carried(at)
    assert "retrieve_dl_excerpts_csv__prepare" in {b.key for b in at.button}


def test_the_exports_page_prepares_its_files(harbour):
    at = harbour("app_pages/exports_page.py")
    at.run()
    assert not at.exception
    assert _carried(at) == {}
    at.button(key="exports_dl_segments_csv__prepare").click().run()
    assert not at.exception
    assert set(_carried(at)) == {"exports_dl_segments_csv"}


def test_every_page_downloads_through_the_helper():
    """A page calling st.download_button itself could hand Streamlit a deferred callable again."""
    direct = [f"{path.name}:{n}" for path in sorted((REPO / "app_pages").glob("*.py")) if path.name != "downloads.py"
              for n, line in enumerate(path.read_text().splitlines(), 1) if ".download_button(" in line]
    assert direct == []
    assert (REPO / "app.py").read_text().count(".download_button(") == 0


def test_the_exports_page_offers_spss_names_for_the_segment_table(team, harbour):
    """Ticking the SPSS names box, the prepared segment table is the engine's ``names="spss"``
    file (with its Variables sheet), not the one named by code paths."""
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    from coding.exporting.coded_exports import export_coded
    from coding.exporting.exports import Filters

    def engine(names: str) -> bytes:
        with team.store.session() as s:
            return export_coded(s, team.project(s), team.member(s, "maria"), "segments", "xlsx", Filters(),
                                names=names).data

    at = harbour("app_pages/exports_page.py")
    at.run()
    at.checkbox(key="exports_spss_names").check().run()
    at.button(key="exports_dl_segments_xlsx__prepare").click().run()
    assert not at.exception
    url = _carried(at)["exports_dl_segments_xlsx"]
    spss, paths = engine("spss"), engine("paths")
    assert spss != paths and b"Variables" in __import__("zipfile").ZipFile(io.BytesIO(spss)).read("xl/workbook.xml")
    name = f"{team.name}-segments.xlsx"
    ids = {m: _calculate_file_id(data, "application/octet-stream", name) for m, data in (("spss", spss),
                                                                                          ("paths", paths))}
    assert ids["spss"] in url and ids["paths"] not in url, url

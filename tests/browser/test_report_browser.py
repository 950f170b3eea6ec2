"""The Report page (issue 20) in a real Chromium on harbour with a generated project: the page
states the engine's saturation point, shows the chart, and its PNG and SVG downloads hold the
engine's chart of that point."""

from __future__ import annotations

import pytest

from coding.report.saturation import project_saturation
from coding.report.saturation_chart import chart_spec, render
from tests.report.test_saturation import _generated, _png_size, _svg_texts

from .coding_helpers import open_page, settle
from .conftest import run_streamlit
from .download_helpers import download
from .test_export_kinds_browser import REPO, _sign_in

pytestmark = pytest.mark.browser


def test_report_page_shows_the_saturation_point_and_downloads_its_chart(browser, team):
    with team.store.session() as s:
        _generated(s, team)  # eight interviews coded by tom, last one first
        res = project_saturation(s, team.project(s), team.member(s, "maria"))
    point = res.saturation.point
    assert point is not None
    url = team.store.engine.url.render_as_string(hide_password=False)
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx, page = _sign_in(browser, app_url, team, "maria")
        open_page(page, "Report", "report_page")
        page.get_by_text(f"Saturation was reached at {point} documents").first.wait_for(timeout=120_000)
        settle(page, timeout=120_000)
        assert page.locator("[data-testid='stVegaLiteChart']").count() >= 1
        svg = download(page, "Saturation chart (SVG)")
        png = download(page, "Saturation chart (PNG)")
        ctx.close()
    assert svg == render(chart_spec(res, title=f"Saturation: {team.name}"), "svg")
    assert f"saturation: {point} documents (+{res.saturation.run_length} to confirm)" in _svg_texts(svg)
    assert _png_size(png)[0] > 1000

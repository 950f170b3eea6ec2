"""The saturation chart: cumulative codes and new codes per document, with the saturation
point of Guest, Namey & Chen (2020) marked, as an Altair chart (the Report page draws it) and
as PNG or SVG (the command line, the page's downloads and the methods report's DOCX).

Images are rendered by vl-convert (Vega-Lite compiled and drawn in-process, with its own
fonts): no browser and no network. Names of documents are data of the chart (tooltips); the
SVG writer escapes every text it draws."""

from __future__ import annotations

import altair as alt
import pandas as pd

from coding.errors import CodingError
from coding.report.saturation import ProjectSaturation

FORMATS = ("png", "svg")
MEASURES = {"cumulative_codes": "Cumulative codes", "new_codes": "New codes"}


def saturation_chart(res: ProjectSaturation, *, title: str | None = None, width: int = 560,
                     height: int = 300) -> alt.LayerChart:
    """The chart of ``res``: one line per measure over the documents in order, and a dashed rule
    at the saturation point (documents needed) labelled with it, when reached."""
    rows = res.table()
    long = pd.DataFrame([{"position": r["position"], "document": r["document"], "measure": MEASURES[k],
                          "codes": r[k]} for r in rows for k in MEASURES],
                        columns=["position", "document", "measure", "codes"])
    sat = res.saturation
    subtitle = (f"base size {sat.base_size}, run length {sat.run_length}, new-information threshold "
                f"<= {sat.threshold:.0%} (Guest, Namey & Chen 2020)")
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("position:Q", title="Documents", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("codes:Q", title="Codes", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("measure:N", title=None, sort=list(MEASURES.values()), legend=alt.Legend(orient="top")),
        tooltip=["position", "document", "measure", "codes"])
    layers = [lines]
    if sat.point is not None:
        mark = pd.DataFrame({"position": [sat.point], "label": [f"saturation: {sat.point} documents "
                                                                 f"(+{sat.run_length} to confirm)"]})
        rule = alt.Chart(mark).encode(x="position:Q")
        layers += [rule.mark_rule(strokeDash=[4, 4], color="#444"),
                   rule.mark_text(align="left", baseline="top", dx=4, dy=4, color="#444").encode(
                       y=alt.value(0), text="label:N")]
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title or "Saturation", subtitle=subtitle, anchor="start"), width=width, height=height)


def chart_spec(res: ProjectSaturation, *, title: str | None = None) -> dict:
    """The chart as a Vega-Lite specification (plain data: what the DOCX renderer keeps)."""
    return saturation_chart(res, title=title).to_dict()


def render(spec: dict, fmt: str, *, scale: float = 2) -> bytes:
    """A Vega-Lite ``spec`` as PNG (``scale`` times its size, for print) or SVG (UTF-8) bytes."""
    import vl_convert as vlc

    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=scale)
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    raise CodingError(f"chart format {fmt!r}: use png or svg")

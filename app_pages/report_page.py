"""Report (issue 20): thematic saturation (Guest, Namey & Chen 2020) as a chart with its
parameters (the engine's chart, its images as PNG/SVG), the table as CSV/XLSX, and the methods
report as DOCX (with the chart) or Markdown.

Figures come from coding.report.saturation and coding.report.methods, built for the signed-in
member under the blind rule (a coder in an open blind round sees their own work only).
Names typed by users (codes, documents) reach the page as data of the chart and table, or
through ``md_escape``. Keys are prefixed ``report_``."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import require_member, store
from app_pages.downloads import download_button
from app_pages.plain import md_escape
from coding.agreement.coders import comparable_coders
from coding.errors import CodingError
from coding.exporting.table import write_table
from coding.report.methods import methods_report
from coding.report.methods_render import to_docx, to_markdown
from coding.report.saturation import order_attributes, project_saturation
from coding.report.saturation_chart import chart_spec, render, saturation_chart
from coding.team.projects import get_project
from coding.work.lookups import codings_fingerprint

ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Report")

with store().session(write=False) as s:
    project = get_project(s, project_name)
    attributes = order_attributes(s, project, member)
    coders = comparable_coders(s, project, member)
    fingerprint = codings_fingerprint(s, project, member)

st.subheader("Saturation")
st.caption("Guest, Namey & Chen (2020), PLoS ONE 15(5): e0232076. The codes of the first *base size* documents "
           "are the base; a *run* of documents reaches saturation when the codes first seen in it are at most "
           "the threshold's share of the base.")
c1, c2, c3, c4 = st.columns(4)
base = c1.number_input("Base size (documents)", 1, 50, 4, key="report_base")
run = c2.number_input("Run length (documents)", 1, 20, 2, key="report_run")
threshold = c3.number_input("New-information threshold (%)", 0.0, 50.0, 5.0, step=1.0, key="report_threshold") / 100
order_by = c4.selectbox("Order documents by", ["(when first coded)", *attributes], key="report_order")
c5, c6, c7 = st.columns(3)
layer = c5.selectbox("Codings", ["coder", "consensus"], key="report_layer",
                     format_func=lambda x: "coders" if x == "coder" else "consensus layer")
who = c6.selectbox("Coder", ["(all coders)", *coders], key="report_coder", disabled=layer == "consensus")
level = c7.selectbox("Level", ["code", "family"], key="report_level",
                     format_func=lambda x: "leaf codes" if x == "code" else "code families (top-level codes)")

try:
    res = store().run(lambda s: project_saturation(
        s, get_project(s, project_name), member, layer=layer, level=level,
        coder=None if who == "(all coders)" or layer == "consensus" else who,
        order_attribute=None if order_by == "(when first coded)" else order_by,
        base_size=int(base), run_length=int(run), threshold=float(threshold)), write=False)
except CodingError as exc:
    st.error(md_escape(str(exc)))
    st.stop()

st.markdown(md_escape(res.saturation.sentence()))
rows = res.table()
if rows:
    df = pd.DataFrame(rows)
    st.altair_chart(saturation_chart(res, title=f"Saturation: {project_name}"), width="stretch", height=380)
    num = st.column_config.NumberColumn
    st.dataframe(df[["position", "document", "new_codes", "cumulative_codes", "new_in_run", "new_information",
                     "codes_first_seen"]], hide_index=True, width="stretch", column_config={
        "position": num("#"), "document": st.column_config.TextColumn("Document"),
        "new_codes": num("New codes"), "cumulative_codes": num("Cumulative codes"),
        "new_in_run": num("New in the run ending here"),
        "new_information": num("New information (share of the base)", format="percent"),
        "codes_first_seen": st.column_config.TextColumn("Codes first seen")})
    header = list(rows[0])
    body = [[r[k] for k in header] for r in rows]
    d1, d2, d3 = st.columns(3)
    download_button(d1, "Saturation table (CSV)", lambda: write_table("csv", header, body),
                    file_name=f"{project_name}-saturation.csv", key="report_csv", mime="text/csv")
    download_button(d2, "Saturation table (XLSX)", lambda: write_table("xlsx", header, body, title="Saturation"),
                    file_name=f"{project_name}-saturation.xlsx", key="report_xlsx",
                    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    # the images of the chart on the page (vl-convert, offline), built once per choice of parameters
    chart_basis = (project_name, member.id, fingerprint, int(base), int(run), float(threshold), order_by, layer,
                   who, level)
    g1, g2, _ = st.columns(3)
    for where, fmt, mime in ((g1, "png", "image/png"), (g2, "svg", "image/svg+xml")):
        download_button(where, f"Saturation chart ({fmt.upper()})",
                        lambda fmt=fmt: render(chart_spec(res, title=f"Saturation: {project_name}"), fmt),
                        file_name=f"{project_name}-saturation.{fmt}", key=f"report_{fmt}", mime=mime,
                        basis=chart_basis, prepare=False)
    prev = res.prevalence()
    download_button(d3, "Prevalence curves (CSV)",
                    lambda: write_table("csv", ["position", "document", "code", "documents"],
                                        [[r["position"], r["document"], r["code"], r["documents"]] for r in prev]),
                    file_name=f"{project_name}-prevalence.csv", key="report_prev", mime="text/csv")
    with st.expander("Prevalence curves: documents mentioning each code as documents accumulate"):
        st.altair_chart(alt.Chart(pd.DataFrame(prev)).mark_line().encode(
            x=alt.X("position:Q", title="Documents"), y=alt.Y("documents:Q", title="Documents mentioning the code"),
            color=alt.Color("code:N", legend=alt.Legend(orient="bottom", columns=2, labelLimit=400)),
            tooltip=["code", "position", "documents"]), width="stretch")
else:
    st.info("No codings to count yet.")

st.subheader("Methods report")
st.caption("The corpus, team (roles), codebook development, rounds, agreement per round with confidence "
           "intervals, adjudication, saturation (with the parameters above) and the suggestions' share; each "
           "number with the command that reproduces it. Building it computes agreement for every round.")
names = st.checkbox("Name the team members", key="report_names")
basis = (project_name, member.id, fingerprint, names, int(base), int(run), float(threshold), order_by)


def _build(kind: str):
    def build():
        rep = store().run(lambda s: methods_report(
            s, get_project(s, project_name), member, names=names, base_size=int(base), run_length=int(run),
            threshold=float(threshold), order_attribute=None if order_by == "(when first coded)" else order_by),
            write=False)
        return to_docx(rep) if kind == "docx" else to_markdown(rep)
    return build


m1, m2 = st.columns(2)
download_button(m1, "Download methods report (DOCX)", _build("docx"), file_name=f"{project_name}-methods.docx",
                key="report_docx", basis=basis,
                mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
download_button(m2, "Download methods report (Markdown)", _build("md"), file_name=f"{project_name}-methods.md",
                key="report_md", basis=basis, mime="text/markdown")

"""Agreement (leads): reliability per code, document x code view, rounds, and adjudication.

Figures come from coding.agreement.project.compute_agreement; disagreements and
the consensus layer from coding.work.adjudication; snapshots from coding.work.snapshots.
Transcript text reaches the page only through st.text; names typed or imported by
users (codes, members, documents, snapshot labels) go through ``md_escape`` wherever
Streamlit renders Markdown. Selectbox options are ids shown by a format_func that
returns only the (stable) name: Streamlit maps the browser's choice back by its label,
so a label holding a count that changes would lose the selection. Keys are prefixed
``agreement_``.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import require_member, store
from app_pages.downloads import download_button
from app_pages.plain import md_escape
from coding.work.adjudication import (
    DECISIONS, accept_agreements, adjudicate, clip, compare, consensus_status, disagreement_counts, subtract,
)
from coding.agreement.coders import comparable_coders
from coding.agreement.project import RELIABLE, SUGGESTIONS, TENTATIVE, UNITS, Report, compute_agreement
from coding.agreement.tables import partial_note, report_csv, suggestions_note
from coding.codebook.tree import code_tree
from coding.errors import CodingError
from coding.exporting.agreement_export import agreement_file
from coding.team.projects import get_project
from coding.suggest.recommender_agreement import recommender_agreement
from coding.work.lookups import codings_fingerprint, document_by_id, document_entries
from coding.work.rounds import list_rounds
from coding.work.snapshots import list_snapshots, save_snapshot, trend

UNIT_HELP = {
    "character": "Every character is a unit: coded or not, by each coder. Exact and strict about "
                 "boundaries; u-alpha (Krippendorff's unitizing alpha) is shown too.",
    "sentence": "Every sentence is a unit, coded when a coder's spans cover at least the minimum share of "
                "it (0: any overlap). Sentence segmentation (spaCy) runs once per document and is stored, "
                "so the first computation on new documents takes longer.",
    "turn": "Every speaker turn (its words, without the speaker label) is a unit, coded when a coder's spans "
            "cover at least the minimum share of it (0: any overlap).",
    "segment": "MAXQDA-style segment matching: a coder's segment counts as matched when the other coder "
               "coded a segment overlapping it by at least the minimum overlap. Percent only, no chance "
               "correction; exactly two coders.",
}
SUGGESTION_LABEL = {"include": "count them", "exclude": "leave them out", "only": "count only them"}
UNIT_WORD = {"character": "characters", "sentence": "sentences", "turn": "speaker turns", "segment": "segments"}
VERDICT_FLAG = {"reliable": "✅ reliable", "tentative": "⚠️ tentative", "unreliable": "❌ unreliable",
                "undefined": "— undefined", "": ""}
KIND_LABEL = {"boundary": "boundary (both coded, differently)", "only A": "only A coded it",
              "only B": "only B coded it", "agreement": "agreement"}
DECISION_LABEL = {"a": "A's version", "b": "B's version", "both": "both (union)", "neither": "neither",
                  "edit": "edit"}
CACHE = "agreement_cache"
FLASH = "agreement_flash"
THIRD = "agreement_third"

ctx = require_member(lead=True)
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Agreement")


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _pct(x) -> str:
    return "—" if _nan(x) else f"{x:.0%}"


def _ci(ci) -> str:
    return f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""


def _names(names: list[str]) -> str:
    """Member names joined for a sentence, escaped for Markdown."""
    names = [md_escape(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# Altair axes: every label shown (no thinning), long code paths and document names whole.
ROW = 26            # pixels per code row: room for a 12 px label and its padding
LABEL_LIMIT = 720   # pixels; Vega-Lite truncates labels with an ellipsis beyond this


CHAR_PX = 7         # average width of a 12 px label character, for the room angled labels need


def _axis(**kw) -> alt.Axis:
    return alt.Axis(labelOverlap=False, labelLimit=LABEL_LIMIT, labelFontSize=12, **kw)


def _label_room(labels, angle: int) -> int:
    """Vertical pixels x-axis labels at ``angle`` degrees take (the chart height includes them)."""
    longest = min(LABEL_LIMIT, CHAR_PX * max((len(str(x)) for x in labels), default=0))
    return int(longest * abs(math.sin(math.radians(angle)))) + 30


def marked(doc_text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """``doc_text[start:end]`` with the coded ``spans`` between ⟦ and ⟧ (plain text, no markup)."""
    out, pos = [], start
    for a, b in spans:
        out += [doc_text[pos:a], "⟦", doc_text[a:b], "⟧"]
        pos = b
    out.append(doc_text[pos:end])
    return "".join(out)


# --- options --------------------------------------------------------------------------

with store().session(write=False) as s:
    project = get_project(s, project_name)
    version = project.codebook_version
    coder_names = comparable_coders(s, project, member)  # coders, and a lead who codes
    tree = code_tree(s, project)
    fingerprint = codings_fingerprint(s, project, member)  # changes with every coding added, removed, resized
    rounds = [(r.id, r.name) for r in list_rounds(s, project)]

if len(coder_names) < 2:
    st.info("Agreement needs two members who code: add a coder on the Project page, or code documents "
            "yourself (a lead who codes can be compared too).")
    st.stop()

c1, c2 = st.columns([2, 1])
coders = c1.multiselect("Coders", coder_names, default=coder_names[:2], key="agreement_coders",
                        help="Two coders give Cohen's kappa; more give Fleiss' kappa. Alpha works for any number.")
unit = c2.selectbox("Unit", UNITS, key="agreement_unit", format_func=lambda u: u.capitalize())
st.info(UNIT_HELP[unit], icon=":material/info:")
c3, c4, c5 = st.columns([2, 1, 1])
codes = c3.multiselect("Codes (optional)", [i.path for i in tree.infos], key="agreement_codes",
                       placeholder="All codable codes",
                       help="Folders give figures only with roll-up on (their children's codings pooled).")
rollup = c4.checkbox("Roll children up into parents", key="agreement_rollup",
                     help="A parent counts as coded wherever any of its descendants is.")
ci = c4.checkbox("95% confidence intervals", value=True, key="agreement_ci",
                 help="Bootstrap: over documents for characters, over units otherwise.")
min_share, min_overlap = 0.0, 0.9
if unit in ("sentence", "turn"):
    min_share = c5.number_input("Min share of a unit coded", 0.0, 1.0, 0.0, 0.05, key="agreement_min_share",
                                help="0 counts a unit as coded on any overlap.")
elif unit == "segment":
    min_overlap = c5.number_input("Min overlap to match", 0.05, 1.0, 0.9, 0.05, key="agreement_min_overlap")
suggestions = st.radio("Codings made from accepted suggestions", SUGGESTIONS, horizontal=True,
                       key="agreement_suggestions", format_func=SUGGESTION_LABEL.get,
                       help="Leave them out to see the agreement of what the coders typed themselves, or count "
                            "only them to see how the suggestions fare on their own.")

if len(coders) < 2:
    st.info("Choose at least two coders to compare.")
    st.stop()

# --- compute (cached per options, codebook version and the coders' codings) -----------

cache_key = (project_name, version, fingerprint, tuple(coders), unit, tuple(codes), rollup, float(min_share),
             float(min_overlap), ci, suggestions)
cache: dict = st.session_state.setdefault(CACHE, {})
rep: Report | None = cache.get(cache_key)
if rep is None:
    try:
        with st.spinner(f"Computing agreement over {UNIT_WORD[unit]}..."):
            # Sentence units segment new documents once and store the sentences: a write
            # (re-run on a clash with other writers); the other units only read.
            rep = store().run(lambda s: compute_agreement(
                s, get_project(s, project_name), coders, member=member, unit=unit, codes=codes or None,
                min_share=min_share, min_overlap=min_overlap, rollup=rollup, ci=ci, suggestions=suggestions),
                write=unit == "sentence")
    except CodingError as exc:
        st.error(md_escape(str(exc)))
        st.stop()
    while len(cache) >= 8:
        cache.pop(next(iter(cache)))
    cache[cache_key] = rep

overall = rep.rows[-1]
n_docs = len(rep.options["documents"])
if unit == "segment":
    st.markdown(
        f"{_names(coders)}: {_pct(overall.percent)} of {overall.n_units:,} coded segments find a match "
        f"overlapping at least {min_overlap:.0%}, over {n_docs} documents. Segment matching has no chance "
        "correction, so it gives no kappa or alpha.")
else:
    st.markdown(
        f"Over coded text, {_names(coders)} agree on {_pct(overall.percent_coded)} of {UNIT_WORD[unit]}; "
        f"Krippendorff's alpha over all text {'—' if _nan(overall.alpha) else f'{overall.alpha:.2f}'}"
        f"{_ci(overall.alpha_ci)}, **{overall.verdict}** (Krippendorff 2004: ≥ .800 reliable, "
        f".667–.800 tentative). Over all text, including what nobody coded, they agree on "
        f"{_pct(overall.percent)}. Documents every chosen coder coded: {n_docs}.")
if note := suggestions_note(rep):
    st.caption(md_escape(note))
if rep.options.get("partial"):
    st.info(md_escape(partial_note(rep)) + " A document counts once every chosen coder has coded something "
            "in it or marked it done; until then one coder's codings would all count as disagreements.",
            icon=":material/pending:")

# --- per-code table ---------------------------------------------------------------------

st.subheader("Per code")


def _p100(x):
    return None if _nan(x) else x * 100


def _num(x):
    return None if _nan(x) else x


table = pd.DataFrame([{
    "code": r.code, "n": r.n_units, "coded": r.n_coded,
    "% agreement (all text)": _p100(r.percent), "% agreement (coded text)": _p100(r.percent_coded),
    "kappa": _num(r.kappa), "kappa 95% CI": _ci(r.kappa_ci).strip(),
    "alpha": _num(r.alpha), "alpha 95% CI": _ci(r.alpha_ci).strip(),
    "u-alpha": _num(r.u_alpha), "verdict": VERDICT_FLAG.get(r.verdict, r.verdict), "note": r.note,
} for r in rep.rows])
if unit != "character":
    table = table.drop(columns=["u-alpha"])
kappa_name = "Cohen's kappa" if len(coders) == 2 else "Fleiss' kappa"
st.dataframe(table, hide_index=True, key="agreement_table", column_config={
    "code": st.column_config.TextColumn("code", width="large"),
    "n": st.column_config.NumberColumn(f"n ({UNIT_WORD[unit]})", format="%d"),
    "coded": st.column_config.NumberColumn("coded", format="%d", help="Units at least one coder coded"),
    "% agreement (all text)": st.column_config.NumberColumn(format="%.1f%%"),
    "% agreement (coded text)": st.column_config.NumberColumn(format="%.1f%%"),
    "kappa": st.column_config.NumberColumn(kappa_name, format="%.3f"),
    "alpha": st.column_config.NumberColumn("Krippendorff's alpha", format="%.3f"),
    "u-alpha": st.column_config.NumberColumn("u-alpha", format="%.3f", help="Unitizing alpha over the continuum"),
})
d1, d2, d3, d4, _ = st.columns([1, 1, 1, 1, 1])
# Every file is built now, from the report shown, and offered as bytes (app_pages/downloads.py:
# a deferred download could fail when clicked during a rerun). Excel: the overall, per-code and
# per-document tables and an About sheet; Word: the method sentence and the table.
download_button(d1, "Download CSV", report_csv(rep), file_name=f"agreement-{unit}.csv", mime="text/csv",
                key="agreement_csv")
# Markdown: the file `export agreement --format md` writes (overall, per-code, per-document tables).
download_button(d2, "Download Markdown", lambda: agreement_file(rep, project_name, "md"),
                file_name=f"agreement-{unit}.md", mime="text/markdown", key="agreement_md", basis=cache_key,
                prepare=False)
download_button(d4, "Download Excel (all tables)", lambda: agreement_file(rep, project_name, "xlsx"),
                file_name=f"agreement-{unit}.xlsx", key="agreement_xlsx", basis=cache_key, prepare=False,
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
download_button(d3, "Download Word report", lambda: agreement_file(rep, project_name, "docx"),
                file_name=f"agreement-{unit}.docx", key="agreement_docx", basis=cache_key, prepare=False,
                mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")

chart_rows = [{"code": r.code, "alpha": r.alpha, "verdict": r.verdict} for r in rep.rows if not _nan(r.alpha)]
if chart_rows:
    cdf = pd.DataFrame(chart_rows)
    low = min(0.0, float(cdf["alpha"].min()))
    bars = alt.Chart(cdf).mark_bar().encode(
        x=alt.X("alpha:Q", title="Krippendorff's alpha", scale=alt.Scale(domain=[low, 1])),
        y=alt.Y("code:N", sort=None, title=None, axis=_axis()),
        color=alt.Color("verdict:N", scale=alt.Scale(domain=["reliable", "tentative", "unreliable"],
                                                     range=["#2e7d32", "#f9a825", "#c62828"])),
        tooltip=["code", alt.Tooltip("alpha:Q", format=".3f"), "verdict"])
    rules = alt.Chart(pd.DataFrame({"alpha": [TENTATIVE, RELIABLE],
                                    "threshold": ["tentative ≥ .667", "reliable ≥ .800"]})).mark_rule(
        strokeDash=[4, 4], color="#555").encode(x="alpha:Q", tooltip=["threshold"])
    st.altair_chart((bars + rules).properties(height=ROW * len(cdf) + 60), width="stretch",
                    key="agreement_alpha_chart")

# --- document x code -------------------------------------------------------------------

st.subheader("Documents × codes")
cells = pd.DataFrame(rep.by_document)
metrics = ["percent"] if unit == "segment" or len(coders) > 2 else ["kappa", "percent"]
metric = st.radio("Cell value", metrics, horizontal=True, key="agreement_cell_metric",
                  format_func=lambda m: kappa_name if m == "kappa" else "% agreement")
if not cells.empty:
    cells["value"] = cells[metric].astype(float)
    heat = alt.Chart(cells).mark_rect().encode(
        x=alt.X("document:N", title=None, axis=_axis(labelAngle=-60)),
        y=alt.Y("code:N", sort=None, title=None, axis=_axis()),
        color=alt.Color("value:Q", title=metric, scale=alt.Scale(scheme="redyellowgreen")),
        tooltip=["document", "code", alt.Tooltip("value:Q", format=".3f"), "coded"])
    st.altair_chart(heat.properties(height=ROW * cells["code"].nunique() + _label_room(cells["document"].unique(), 60)),
                    width="stretch", key="agreement_heatmap")
    with st.expander("As a table"):
        pivot = cells.pivot_table(index="code", columns="document", values="value", sort=False, dropna=False)
        st.dataframe(pivot, key="agreement_doc_table",
                     column_config={c: st.column_config.NumberColumn(format="%.3f") for c in pivot.columns})

# --- the recommender as a third coder (run on click: it trains models) --------------------

with st.expander("Suggestions as a third coder"):
    third_unit = "sentence" if unit == "segment" else unit
    st.markdown(
        "How the code recommender would do as one more coder. For each chosen coder, a model learns from "
        "that coder's own codings of the other documents (the documents compared here are held out a fold "
        "at a time, so a document is never learnt from and coded at once); it codes each sentence of the "
        "held-out documents with its top code when the score clears a threshold chosen on the training "
        f"documents only. The table compares its codings with each coder over {UNIT_WORD[third_unit]}, with "
        "the same coefficients as above; the last row is the coders' own agreement on the same documents. "
        "Codings made from accepted suggestions are left out of training and comparison. The documents "
        "must be processed on the Suggestions page first.")
    t1, t2 = st.columns([1, 3], vertical_alignment="bottom")
    folds = t1.number_input("Folds", 2, 10, 5, 1, key="agreement_third_folds",
                            help="Groups of documents held out in turn (at most one per document).")
    third_key = (cache_key, int(folds))
    if t2.button("Measure the recommender", key="agreement_third_run"):
        try:
            with st.spinner("Training and testing a model per coder and fold..."):
                st.session_state[THIRD] = (third_key, store().run(lambda s: recommender_agreement(
                    s, get_project(s, project_name), member, coders, unit=third_unit, folds=int(folds),
                    min_share=min_share),
                    # reads only once sentence units are stored (the report above did, at the sentence unit)
                    write=third_unit == "sentence" and unit != "sentence"))
        except CodingError as exc:
            st.error(md_escape(str(exc)))
    got = st.session_state.get(THIRD)
    if got is not None and got[0] == third_key:
        third = got[1]
        st.dataframe(pd.DataFrame(third.table()), hide_index=True, key="agreement_third_table", column_config={
            "n": st.column_config.NumberColumn(f"n ({UNIT_WORD[third.unit]})", format="%d"),
            "coded": st.column_config.NumberColumn(format="%d", help="Units at least one of the two coded"),
            "percent": st.column_config.NumberColumn("% agreement", format="%.3f"),
            "percent_coded": st.column_config.NumberColumn("% agr. (coded)", format="%.3f"),
            "kappa": st.column_config.NumberColumn(format="%.3f"),
            "alpha": st.column_config.NumberColumn("Krippendorff's alpha", format="%.3f"),
            "alpha_coded": st.column_config.NumberColumn("alpha (coded)", format="%.3f"),
            "predicted": st.column_config.NumberColumn("sentences the model coded", format="%d"),
        })
        st.caption(f"{third.folds} folds by document: "
                   + "; ".join(", ".join(md_escape(d) for d in f) for f in third.options["documents_per_fold"])
                   + ". Threshold: the score maximising F1 of the top code in an inner cross-validation on "
                     "each fold's training documents (range over folds in the table).")

# --- snapshots and rounds ----------------------------------------------------------------

st.subheader("Rounds")
flash = st.session_state.pop(FLASH, None)
s1, s2, s3 = st.columns([2, 1, 1], vertical_alignment="bottom")
label = s1.text_input("Snapshot label", key="agreement_snapshot_label",
                      placeholder="e.g. Round 1, before revising the definitions")
round_ids = [None] + [r[0] for r in rounds]
round_names = dict(rounds)
round_id = s2.selectbox("Round", round_ids, key="agreement_snapshot_round",
                        format_func=lambda r: "(none)" if r is None else round_names[r])
if s3.button("Save snapshot", key="agreement_snapshot_save", type="primary"):
    try:
        store().run(lambda s: save_snapshot(s, get_project(s, project_name), member, rep, label=label,
                                            round_id=round_id))
        named = f" “{md_escape(label.strip())}”" if label.strip() else ""
        st.session_state[FLASH] = ("rounds", f"Saved the snapshot{named} "
                                             f"(codebook version {rep.codebook_version}).")
        st.rerun()
    except CodingError as exc:
        st.error(md_escape(str(exc)))
if flash and flash[0] == "rounds":
    st.success(flash[1])

with store().session(write=False) as s:
    project = get_project(s, project_name)
    snaps = list_snapshots(s, project, member)
    moves = trend(s, project, member)
if not snaps:
    st.info("No snapshots yet. Save one after each round of coding to see how agreement moves as the "
            "codebook is revised.")
else:
    st.dataframe(pd.DataFrame([{
        "#": i + 1, "snapshot": x["label"], "saved": x["created_at"], "by": x["created_by"], "unit": x["unit"],
        "coders": ", ".join(x["coders"]), "codebook version": x["codebook_version"], "round": x["round"] or "",
        "alpha (all codes)": x["alpha"], "kappa (all codes)": x["kappa"],
        "% agreement": None if x["percent"] is None else x["percent"] * 100,
    } for i, x in enumerate(snaps)]), hide_index=True, key="agreement_snapshots", column_config={
        "alpha (all codes)": st.column_config.NumberColumn(format="%.3f"),
        "kappa (all codes)": st.column_config.NumberColumn(format="%.3f"),
        "% agreement": st.column_config.NumberColumn(format="%.1f%%"),
        "saved": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    })
    mv = pd.DataFrame(moves)
    mv["snapshot"] = mv["order"].astype(str) + ". " + mv["snapshot"] + " (v" + mv["codebook_version"].astype(str) + ")"
    order = list(dict.fromkeys(mv.sort_values("order")["snapshot"]))
    line = mv[(mv["code"] == "(all codes)") & mv["alpha"].notna()]
    if not line.empty:
        chart = alt.Chart(line).mark_line(point=True).encode(
            x=alt.X("snapshot:N", sort=order, title=None, axis=_axis(labelAngle=-20)),
            y=alt.Y("alpha:Q", title="Krippendorff's alpha (all codes)"),
            color=alt.Color("unit:N"), tooltip=["snapshot", "unit", alt.Tooltip("alpha:Q", format=".3f")])
        rules = alt.Chart(pd.DataFrame({"alpha": [TENTATIVE, RELIABLE]})).mark_rule(
            strokeDash=[4, 4], color="#555").encode(y="alpha:Q")
        st.altair_chart(chart + rules, width="stretch")
    with st.expander("Alpha per code across snapshots"):
        per_code = mv.pivot_table(index="code", columns="snapshot", values="alpha", sort=False)
        st.dataframe(per_code[[c for c in order if c in per_code.columns]], key="agreement_trend_table",
                     column_config={c: st.column_config.NumberColumn(format="%.3f") for c in per_code.columns})

# --- drill-down and adjudication -------------------------------------------------------

st.subheader("Disagreements and adjudication")
coder_a, coder_b = coders[0], coders[1]
st.caption(f"A = {md_escape(coder_a)}, B = {md_escape(coder_b)}"
           + (" (the first two chosen coders)." if len(coders) > 2 else ".")
           + " Each region is a stretch where either coder applied the code; ⟦ ⟧ marks what each coded. "
           "A decision writes the consensus layer that exports use; a reason is required.")
if flash and flash[0] == "adjudication":
    st.success(flash[1])

with store().session(write=False) as s:
    project = get_project(s, project_name)
    counts = disagreement_counts(s, project, member, coder_a, coder_b)
    status = consensus_status(s, project, member, coder_a, coder_b)
    docs = document_entries(s, project, member, rep.options["documents"])

if status:
    with st.expander("Consensus progress per document"):
        st.dataframe(pd.DataFrame([{"document": d, "disagreements": v["disagreements"], "decided": v["decided"],
                                    "open": v["disagreements"] - v["decided"]} for d, v in status.items()]),
                     hide_index=True, key="agreement_status")

codable = [i for i in tree.infos if i.codable]
if not codable or not docs:
    st.info("Nothing to review: no codable codes or no documents both coders coded.")
    st.stop()


def _tally(pairs) -> tuple[int, int]:
    """(disagreements, decided) summed over (document, code) pairs."""
    found = [counts.get(p, {"disagreements": 0, "decided": 0}) for p in pairs]
    return sum(v["disagreements"] for v in found), sum(v["decided"] for v in found)


# Labels are names only: counts change with every decision, and a changed label loses the choice.
e1, e2 = st.columns(2)
code_id = e1.selectbox("Code", [i.id for i in codable], format_func=lambda cid: tree.info[cid].path,
                       key="agreement_dd_code")
doc_names = dict((d.id, d.name) for d in docs)
doc_id = e2.selectbox("Document", list(doc_names), format_func=doc_names.get, key="agreement_dd_doc")
n_code, k_code = _tally((d, code_id) for d in doc_names)
n_doc, k_doc = _tally([(doc_id, code_id)])
e1.caption(f"This code: {n_code} disagreements in these documents, {k_code} decided.",
           help="Counted afresh after every decision.")
e2.caption(f"This code in this document: {n_doc} disagreements, {k_doc} decided.")
with st.expander("Open disagreements of this code per document"):
    st.dataframe(pd.DataFrame([{"document": name, "disagreements": n, "decided": k, "open": n - k}
                               for did, name in doc_names.items() for n, k in [_tally([(did, code_id)])]]),
                 hide_index=True, key="agreement_dd_per_doc")

with store().session(write=False) as s:
    project = get_project(s, project_name)
    doc = document_by_id(s, project, member, doc_id)
    text = doc.text
    regions = compare(s, project, member, doc, code_id, coder_a, coder_b)

agreed_open = [r for r in regions if r.kind == "agreement" and r.decided is None]
diffs = [r for r in regions if r.is_disagreement]
st.caption(f"{len(regions)} regions: {len(regions) - len(diffs)} agreements ({len(agreed_open)} not yet in the "
           f"consensus), {len(diffs)} disagreements ({sum(r.decided is not None for r in diffs)} decided).")
if st.button("Accept all agreements into consensus", key="agreement_accept", disabled=not agreed_open):
    try:
        def accept(s):
            p = get_project(s, project_name)
            return accept_agreements(s, p, member, document_by_id(s, p, member, doc_id), code_id, coder_a, coder_b)
        n = store().run(accept)
        st.session_state[FLASH] = ("adjudication", f"Accepted {n} agreed region(s) into the consensus.")
        st.rerun()
    except CodingError as exc:
        st.error(md_escape(str(exc)))

if not diffs:
    st.info("No disagreements on this code in this document.")

for i, r in enumerate(diffs, start=1):
    rk = f"{doc_id[:8]}_{code_id[:8]}_{r.start}_{r.end}"
    state = f"decided: {DECISION_LABEL[r.decided.decision]}" if r.decided else "open"
    with st.expander(f"Region {i} · characters {r.start}–{r.end} · {KIND_LABEL[r.kind]} · {state}",
                     expanded=r.decided is None):
        ca, cb = st.columns(2)
        for col, name, mine, theirs, tag in ((ca, coder_a, r.a_spans, r.b_spans, "A"),
                                             (cb, coder_b, r.b_spans, r.a_spans, "B")):
            with col:
                st.markdown(f"**{tag}: {md_escape(name)}**")
                if not mine:
                    st.text("(did not apply this code here)")
                    continue
                st.text(marked(text, r.start, r.end, mine))
                for a, b in subtract(mine, theirs):
                    st.caption(f"only {tag}, characters {a}–{b}:")
                    st.text(f"“{text[a:b]}”")
        if r.decided is not None:
            adj = r.decided
            st.caption(f"Decided by {md_escape(adj.decided_by)} on {adj.decided_at:%Y-%m-%d %H:%M}: "
                       f"{DECISION_LABEL[adj.decision]}.")
            st.text(f"Reason: {adj.reason}")
            st.text("Consensus: " + (marked(text, r.start, r.end, r.consensus) if r.consensus else "(not coded)"))
        prev = DECISIONS.index(r.decided.decision) if r.decided is not None else 0
        decision = st.radio("Decision", DECISIONS, index=prev, horizontal=True, key=f"agreement_dec_{rk}",
                            format_func=DECISION_LABEL.get)
        edit = None
        if decision == "edit":
            f1, f2 = st.columns(2)
            es = f1.number_input("Start", r.start, r.end - 1, r.start, 1, key=f"agreement_es_{rk}")
            ee = f2.number_input("End", r.start + 1, r.end, r.end, 1, key=f"agreement_ee_{rk}")
            if es < ee:
                edit = [(int(es), int(ee))]
                st.text("Consensus would be: " + marked(text, r.start, r.end, clip(edit, r.start, r.end)))
            else:
                st.warning("Start must be before end.")
        reason = st.text_input("Reason (required)", key=f"agreement_reason_{rk}",
                               placeholder="e.g. the definition includes the teacher's example")
        if st.button("Decide again" if r.decided else "Decide", key=f"agreement_decide_{rk}"):
            try:
                def decide(s):
                    p = get_project(s, project_name)
                    adjudicate(s, p, member, document_by_id(s, p, member, doc_id), code_id, r.start, r.end,
                               decision, reason=reason, coder_a=coder_a, coder_b=coder_b, edit_spans=edit)
                store().run(decide)
                st.session_state[FLASH] = ("adjudication", f"Region {i}: {DECISION_LABEL[decision]} is now the "
                                                           "consensus.")
                st.rerun()
            except CodingError as exc:
                st.error(md_escape(str(exc)))

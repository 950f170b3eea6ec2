"""The methods report: the corpus, the team, the codebook's development, the coding
procedure, agreement per round, adjudication, saturation and what the suggestions did, as
sections of text and tables whose every number is computed here and carries a note naming
the command that reproduces it. Rendered by :mod:`coding.report.methods_render`.

Built for one member under the blind rule: a coder's report while a blind round is open
holds only what they may see (their own work on its documents)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.errors import CodingError
from coding.team.access import Action, require
from coding.team.members import Member
from coding.store.models import Adjudication, Assignment, Attribute, Coder, Coding, Document, Project, Round
from coding.report.methods_appendix import codebook_appendix, round_changes_appendix
from coding.report.saturation import project_saturation
from coding.report.saturation_chart import chart_spec
from coding.report.sections import MethodsReport, Section


class _Notes:
    def __init__(self, project: str, lead: str):
        self.prefix = f"python -m coding --as {lead}"
        self.project = project
        self.notes: list[str] = []

    def cite(self, command: str) -> str:
        """The marker of the note naming ``command`` (the same command shares one note)."""
        text = f"{self.prefix} {command}".replace("NAME", _quote(self.project))
        if text not in self.notes:
            self.notes.append(text)
        return f"[{self.notes.index(text) + 1}]"


def _quote(x: str) -> str:
    return x if x.replace("-", "").replace("_", "").isalnum() else f"'{x}'"


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.1%}"


def _num(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.2f}"


def methods_report(s: Session, project: Project, member: Member, *, names: bool = False, base_size: int = 4,
                   run_length: int = 2, threshold: float = 0.05, order_attribute: str | None = None,
                   n_boot: int = 1000) -> MethodsReport:
    """The methods report of ``project`` as ``member`` may see it; coders named only with ``names``."""
    from coding.team.members import members
    from coding.team.visibility import visibility

    m = require(s, member, Action.READ_CODINGS, project)
    vis = visibility(s, m)
    notes = _Notes(project.name, m.name)
    nums: dict[str, Any] = {}
    people = members(s, project, active_only=True)
    alias = {c.name: (c.name if names else f"Coder {chr(65 + i)}")
             for i, c in enumerate(sorted((c for c in people if c.role == "coder"), key=lambda c: c.created_at))}
    secs = [_corpus(s, project, notes, nums), _team(people, alias, names, notes, nums),
            _codebook(s, project, m, notes, nums),
            _procedure(s, project, vis, alias, notes, nums),
            _agreement(s, project, m, vis, alias, names, notes, nums, n_boot),
            _saturation(s, project, m, alias, notes, nums, base_size, run_length, threshold, order_attribute),
            _suggestions(s, project, vis, notes, nums)]
    secs.append(codebook_appendix(s, project, m))
    changes = round_changes_appendix(s, project, m)
    if changes is not None:
        secs.append(changes)
    return MethodsReport(project.name, secs, notes.notes, nums)


def _corpus(s, project, notes, nums) -> Section:
    docs = list(s.execute(select(Document.id, Document.text).where(Document.project_id == project.id)))
    words = sum(len(t.split()) for _, t in docs)
    nums.update(documents=len(docs), words=words)
    sec = Section("Corpus")
    mark = notes.cite("documents NAME --json")
    sec.paragraphs.append(
        f"The corpus comprised {len(docs)} transcript{'s' if len(docs) != 1 else ''} totalling {words:,} words "
        f"(mean {words / len(docs) if docs else 0:,.0f} words per transcript){mark}.")
    attrs = Counter((n, v) for n, v in s.execute(
        select(Attribute.name, Attribute.value).join(Document, Document.id == Attribute.document_id)
        .where(Document.project_id == project.id)))
    nums["attributes"] = {f"{n}={v}": k for (n, v), k in attrs.items()}
    if attrs:
        sec.paragraphs.append(f"Participants by attribute{mark}:")
        sec.tables.append(("Participants by attribute", ["Attribute", "Value", "Transcripts"],
                           [[n, v or "(empty)", str(k)] for (n, v), k in sorted(attrs.items())]))
    else:
        sec.paragraphs.append("No participant attributes were recorded.")
    return sec


def _team(people, alias, names, notes, nums) -> Section:
    roles = Counter(c.role for c in people)
    nums.update(leads=roles.get("lead", 0), coders=roles.get("coder", 0))
    mark = notes.cite("member list NAME")
    text = (f"The team had {roles.get('lead', 0)} lead{'s' if roles.get('lead', 0) != 1 else ''} and "
            f"{roles.get('coder', 0)} coder{'s' if roles.get('coder', 0) != 1 else ''}{mark}")
    if names:
        text += ": " + "; ".join(f"{c.name} ({c.role})" for c in people)
    return Section("Team", [text + "."])


def _codebook(s, project, m, notes, nums) -> Section:
    from coding.codebook.tree import visible_code_tree
    from coding.report.history import codebook_timeline, rounds_and_versions

    tree = visible_code_tree(s, project, m)
    codable = sum(1 for i in tree.infos if i.codable)
    top = sum(1 for i in tree.infos if i.depth == 0)
    timeline = codebook_timeline(s, project, m)
    kinds = Counter(t["kind"] for t in timeline)
    nums.update(codes=len(tree.infos), codable_codes=codable, top_level_codes=top,
                codebook_version=project.codebook_version, codebook_edits=len(timeline), edit_kinds=dict(kinds))
    sec = Section("Codebook development")
    mark, hist = notes.cite("codes NAME --json"), notes.cite("report history NAME")
    sec.paragraphs.append(
        f"The final codebook (version {project.codebook_version}) held {len(tree.infos)} codes, {codable} of them "
        f"applicable to text, under {top} top-level code{'s' if top != 1 else ''}{mark}. It was developed over "
        f"{len(timeline)} recorded edit{'s' if len(timeline) != 1 else ''}"
        + (": " + ", ".join(f"{k} {v}" for v, k in sorted(((v, k) for k, v in kinds.items()), reverse=True))
           if kinds else "") + f"{hist}. The final codebook is given in the appendix.")
    by_role = Counter(t["role"] for t in timeline)
    if by_role:
        sec.paragraphs.append("Edits by role: " + ", ".join(f"{r} {n}" for r, n in sorted(by_role.items())) + f"{hist}.")
    sec.tables.append(("Codebook history", ["When", "Change", "Code", "By (role)", "Version"],
                       [[f"{t['when']:%Y-%m-%d %H:%M}", t["kind"], t["code"], t["role"], str(t["version"] or "")]
                        for t in timeline]))
    rounds = rounds_and_versions(s, project, m)
    if rounds:
        sec.tables.append(("Rounds and codebook versions", ["Round", "Codebook version at opening",
                                                            "Agreement snapshots (codebook version)"],
                           [[r["round"], str(r["codebook_version"]),
                             "; ".join(f"{x['label']} (v{x['codebook_version']})" for x in r["snapshots"]) or "none"]
                            for r in rounds]))
    return sec


def _procedure(s, project, vis, alias, notes, nums) -> Section:
    rounds = list(s.scalars(select(Round).where(Round.project_id == project.id).order_by(Round.opened_at)))
    by_layer = dict(s.execute(select(Coding.layer, func.count()).where(vis.codings()).group_by(Coding.layer)).all())
    nums.update(rounds=len(rounds), codings_coder=by_layer.get("coder", 0), codings_consensus=by_layer.get("consensus", 0))
    mark = notes.cite("report methods NAME --json")
    sec = Section("Coding procedure")
    sec.paragraphs.append(
        f"Coders marked passages of the transcripts (spans of characters) with codes of the codebook: "
        f"{by_layer.get('coder', 0):,} codings by individual coders and {by_layer.get('consensus', 0):,} in the "
        f"consensus layer{mark}.")
    rows = []
    for r in rounds:
        # the blind rule as rounds.progress applies it: another coder's assignment in an open blind round is hidden
        pairs = [(d, c) for d, c, cid in s.execute(
            select(Assignment.document_id, Coder.name, Coder.id).select_from(Assignment)
            .join(Coder, Coder.id == Assignment.coder_id).where(Assignment.round_id == r.id)) if vis.sees(d, cid)]
        rows.append([r.name, "blind" if r.blind else "open", r.status, str(len({d for d, _ in pairs})),
                     ", ".join(sorted({alias.get(c, c) for _, c in pairs})), str(r.codebook_version)])
    if rounds:
        sec.paragraphs.append(f"Coding proceeded in {len(rounds)} round{'s' if len(rounds) != 1 else ''}; in a "
                              "blind round each coder saw only their own codings until the lead revealed the round.")
        sec.tables.append(("Rounds", ["Round", "Blind", "Status", "Documents", "Coders", "Codebook version"], rows))
    return sec


def _agreement(s, project, m, vis, alias, names, notes, nums, n_boot) -> Section:
    from coding.agreement.project import compute_agreement
    from coding.exporting.agreement_report import method_sentence
    from coding.work.adjudication import disagreement_counts

    sec = Section("Inter-coder agreement and adjudication")
    nums["agreement"] = {}
    for r in s.scalars(select(Round).where(Round.project_id == project.id).order_by(Round.opened_at)):
        pairs = s.execute(select(Document.name, Coder.name).select_from(Assignment)
                          .join(Document, Document.id == Assignment.document_id)
                          .join(Coder, Coder.id == Assignment.coder_id).where(Assignment.round_id == r.id)).all()
        coders = sorted({c for _, c in pairs})
        docs = sorted({d for d, _ in pairs})
        if len(coders) < 2:
            continue
        shown = [alias.get(c, c) for c in coders]
        cmd = ("agreement NAME --coders " + " ".join(coders if names else [f"<{a}>" for a in shown]) + " "
               + " ".join(f"--document {_quote(d)}" for d in docs))
        try:
            rep = compute_agreement(s, project, coders, member=m, documents=docs, n_boot=n_boot)
        except CodingError as exc:
            sec.paragraphs.append(f"{_round(r.name)}: agreement not available to this reader ({exc}).")
            continue
        overall = rep.rows[-1]
        nums["agreement"][r.name] = {"alpha": overall.alpha, "kappa": overall.kappa, "percent": overall.percent,
                                     "alpha_ci": overall.alpha_ci, "codebook_version": rep.codebook_version}
        sentence = method_sentence(rep)
        for c, a in zip(coders, shown):
            sentence = sentence.replace(c, a)
        sec.paragraphs.append(f"{_round(r.name)}: {sentence}{notes.cite(cmd)}")
        sec.tables.append((f"Agreement per code, {_round(r.name).lower()}", ["Code", "% agreement", "Kappa [95% CI]",
                                                                   "Alpha [95% CI]", "Verdict"],
                           [[x.code, _pct(x.percent), _num(x.kappa) + _ci(x.kappa_ci), _num(x.alpha) + _ci(x.alpha_ci),
                             x.verdict] for x in rep.rows]))
        if len(coders) == 2:
            cells = disagreement_counts(s, project, m, coders[0], coders[1])
            ids = set(s.scalars(select(Document.id).where(Document.project_id == project.id, Document.name.in_(docs))))
            dis = sum(v["disagreements"] for (d, _), v in cells.items() if d in ids)
            dec = sum(v["decided"] for (d, _), v in cells.items() if d in ids)
            nums["agreement"][r.name].update(disagreements=dis, decided=dec)
            sec.paragraphs.append(f"In {_round(r.name).lower()}, {dis} disagreement{'s' if dis != 1 else ''} between the two "
                                  f"coders were found and {dec} of them decided by a lead{notes.cite('report methods NAME --json')}.")
    decisions = Counter(d for d, doc in s.execute(select(Adjudication.decision, Adjudication.document_id)
                                                  .where(Adjudication.project_id == project.id))
                        if vis.sees_all_of(doc))
    nums["adjudications"] = dict(decisions)
    if decisions:
        words = {"a": "first coder's version kept", "b": "second coder's version kept", "both": "both kept",
                 "neither": "neither kept", "edit": "span edited"}
        sec.paragraphs.append("Adjudication decisions: " + ", ".join(
            f"{words.get(k, k)} {v}" for k, v in sorted(decisions.items())) + f"{notes.cite('report methods NAME --json')}.")
    if not sec.paragraphs:
        sec.paragraphs.append("No round had two or more coders, so no agreement was computed.")
    return sec


def _round(name: str) -> str:
    return name if name.lower().startswith("round") else f"Round {name}"


def _ci(ci) -> str:
    return f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""


def _saturation(s, project, m, alias, notes, nums, base_size, run_length, threshold, order_attribute) -> Section:
    has_consensus = s.scalar(select(func.count()).select_from(Coding).where(
        Coding.project_id == project.id, Coding.layer == "consensus")) or 0
    layer = "consensus" if has_consensus else "coder"
    res = project_saturation(s, project, m, layer=layer, base_size=base_size, run_length=run_length,
                             threshold=threshold, order_attribute=order_attribute)
    fam = project_saturation(s, project, m, layer=layer, level="family", base_size=base_size,
                             run_length=run_length, threshold=threshold, order_attribute=order_attribute)
    sat = res.saturation
    nums["saturation"] = {"layer": layer, "documents": len(res.order), "codes": sat.total_codes,
                          "base_codes": sat.base_codes, "point": sat.point, "confirmed_at": sat.confirmed_at,
                          "family_point": fam.saturation.point}
    opts = (f" --base {base_size} --run {run_length} --threshold {threshold:g} --layer {layer}"
            + (f" --order-by {_quote(order_attribute)}" if order_attribute else ""))
    mark = notes.cite("report saturation NAME" + opts)
    order = f"by {order_attribute}" if order_attribute else "in the order they were first coded"
    sec = Section("Saturation")
    sec.paragraphs.append(f"Documents were taken {order}, counting the codes of the "
                          f"{'consensus layer' if layer == 'consensus' else 'coders together'}. {sat.sentence()}{mark}")
    sec.paragraphs.append("At the level of code families (top-level codes): " + fam.saturation.sentence()
                          + notes.cite("report saturation NAME" + opts + " --level family"))
    per_coder = []
    for name, shown in alias.items():
        one = project_saturation(s, project, m, coder=name, base_size=base_size, run_length=run_length,
                                 threshold=threshold, order_attribute=order_attribute)
        if not one.order:
            continue  # none of their codings visible to this reader
        nums["saturation"].setdefault("per_coder", {})[shown] = one.saturation.point
        per_coder.append(f"{shown}: " + (f"saturation at {one.saturation.point} of {len(one.order)} documents"
                                         if one.saturation.reached else f"not reached in {len(one.order)} documents")
                         + notes.cite("report saturation NAME" + opts.replace(f" --layer {layer}", " --layer coder")
                                      + f" --coder {_quote(name) if shown == name else '<' + shown + '>'}"))
    if per_coder:
        sec.paragraphs.append("Per coder (same parameters): " + "; ".join(per_coder) + ".")
    if res.steps:
        sec.charts.append(("Cumulative codes and new codes per document; the dashed line marks the saturation point"
                           + notes.cite("report saturation NAME" + opts + " --png FILE.png"),
                           chart_spec(res, title=f"Saturation: {project.name}")))
    sec.tables.append(("New codes per document", ["#", "Document", "New codes", "Cumulative codes",
                                                  "New information of the run ending here"],
                       [[str(r["position"]), r["document"], str(r["new_codes"]), str(r["cumulative_codes"]),
                         "" if r["new_information"] is None else f"{r['new_information']:.0%}"] for r in res.table()]))
    return sec


def _suggestions(s, project, vis, notes, nums) -> Section:
    rows = Counter((layer, prov) for layer, prov in s.execute(
        select(Coding.layer, Coding.provenance).where(vis.codings())))
    final = "consensus" if any(layer == "consensus" for layer, _ in rows) else "coder"
    total = sum(v for (layer, _), v in rows.items() if layer == final)
    suggested = rows.get((final, "suggested"), 0)
    share = suggested / total if total else None
    nums.update(suggested_codings=suggested, final_codings=total, suggested_share=share)
    mark = notes.cite("report methods NAME --json")
    text = (f"Of the {total:,} final codings ({'consensus layer' if final == 'consensus' else 'coders’ codings'}), "
            f"{suggested:,} ({_pct(share)}) were made by accepting a suggestion of the code recommender{mark}.")
    return Section("Suggestions", [text])

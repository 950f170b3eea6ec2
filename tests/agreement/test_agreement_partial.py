"""Project agreement on generated projects in progress, checked per character.

Each project is generated from a seed: documents of random length (one empty),
coders who have coded some documents, not started others, or marked some done
without coding anything; a code only one coder uses, a code nobody uses. Every
table, unit count and coefficient that ``compute_agreement`` reports is compared
with a brute force written here from scratch: one boolean array per (code,
document, coder) built from the codings stored in the database.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import select

from coding.agreement.project import compute_agreement
from coding.agreement.tables import report_markdown, report_text
from coding.codebook.tree import code_tree, import_codebook, parse_codebook
from coding.work.codings import apply_codes
from coding.work.documents import get_document, import_uploads
from coding.errors import AgreementError
from coding.team.projects import add_member, create_project, get_project
from coding.team.members import Member, get_member, members
from coding.work.rounds import assign, open_round, set_status
from coding.store.models import Coding, Document, SpeakerTurn

CODEBOOK = """
codebook: generated
codes:
  - name: Theme
    codable: false
    children:
      - {name: Shared, codable: true}
      - {name: Also shared, codable: true}
      - {name: Only ana, codable: true}
      - {name: Nobody, codable: true}
  - {name: Loose, codable: true}
"""
CODERS = ["ana", "ben", "cat"]
WORDS = "we met every week and the materials helped élèves 😀 a lot but time was short".split()


@dataclass
class Generated:
    docs: list[str]                    # document names, in name order
    worked: dict[str, set[str]]        # document -> coders who coded it or marked it done


def _text(rng: random.Random, turns: int) -> str:
    lines = []
    for i in range(turns):
        who = "Interviewer" if i % 2 == 0 else "Teacher"
        lines.append(f"{who}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))) + ".")
    return "\n\n".join(lines) + "\n"


def _generate(s, seed: int) -> Generated:
    """A project 'gen' with 6-8 documents and three coders part-way through."""
    rng = random.Random(seed)
    p = create_project(s, "gen", lead_name="lead", local_mode=True)
    lead = Member.of(get_member(s, p, "lead"))
    import_codebook(s, p, parse_codebook(CODEBOOK), member=lead)
    coders = {n: Member.of(add_member(s, p, n, "coder", actor=lead)) for n in CODERS}
    n_docs = rng.randint(6, 8)
    import_uploads(s, p, [(f"D{i}.txt", _text(rng, rng.randint(1, 12)).encode()) for i in range(n_docs - 1)],
                   actor=lead)
    # an empty document (an import would refuse an empty file; a failed conversion can leave one)
    s.add(Document(project_id=p.id, name="D_empty", text="", sha256=hashlib.sha256(b"").hexdigest(), length=0))
    s.flush()
    names = sorted([f"D{i}" for i in range(n_docs - 1)] + ["D_empty"])
    tree = code_tree(s, p)
    ids = {i.path: i.id for i in tree.infos}
    rnd = open_round(s, p, lead, "R1", blind=False)
    docs = {n: get_document(s, p, n) for n in names}
    assign(s, p, lead, rnd, list(docs.values()), [coders[n] for n in CODERS])
    worked: dict[str, set[str]] = {n: set() for n in names}
    for name, doc in docs.items():
        for coder in CODERS:
            state = rng.choices(["not started", "coding", "done, nothing"], [2, 5, 1])[0]
            if name == "D_empty" and state == "coding":
                state = "done, nothing"
            if state == "not started":
                continue
            worked[name].add(coder)
            if state == "done, nothing":
                set_status(s, p, coders[coder], doc, "done")
                continue
            pool = ["Theme/Shared", "Theme/Also shared", "Loose"] + (["Theme/Only ana"] if coder == "ana" else [])
            for _ in range(rng.randint(1, 8)):
                a = rng.randrange(doc.length)
                b = min(doc.length, a + rng.randint(1, 200))
                apply_codes(s, p, coders[coder], doc, [ids[c] for c in rng.sample(pool, rng.randint(1, 2))], a, b)
    return Generated(names, worked)


def _lead(s, p) -> Member:
    """The project's lead, who computes agreement (the engine applies the blind rule to a member)."""
    return Member.of(next(m for m in members(s, p, active_only=True) if m.role == "lead"))


def _marks(s, coders: list[str], docs: list[str]) -> tuple[dict, dict]:
    """Per-character brute force: marks[code_id][doc][coder] -> bool array; texts by name."""
    p = get_project(s, "gen")
    tree = code_tree(s, p)
    by_name = {d.name: d for d in s.scalars(select(Document).where(Document.project_id == p.id))}
    member_ids = {m.id: m.name for m in members(s, p)}
    marks = {i.id: {d: {c: np.zeros(by_name[d].length, bool) for c in coders} for d in docs}
             for i in tree.infos if i.codable}
    for c in s.scalars(select(Coding).where(Coding.project_id == p.id, Coding.layer == "coder")):
        doc, coder = next(n for n, d in by_name.items() if d.id == c.document_id), member_ids[c.coder_id]
        if doc in docs and coder in coders:
            assert 0 <= c.start < c.end <= by_name[doc].length
            marks[c.code_id][doc][coder][c.start:c.end] = True
    return marks, by_name


# --- independent coefficient formulas over per-unit 0/1 values ---------------------------

def _two_coder(x: np.ndarray, y: np.ndarray) -> dict:
    n = x.size
    both, only_a, only_b = int((x & y).sum()), int((x & ~y).sum()), int((~x & y).sum())
    neither = n - both - only_a - only_b
    out = {"table": [both, only_a, only_b, neither], "percent": (both + neither) / n if n else math.nan}
    pa, pb = x.mean() if n else 0, y.mean() if n else 0
    pe = pa * pb + (1 - pa) * (1 - pb)
    out["kappa"] = (out["percent"] - pe) / (1 - pe) if n and pe != 1 else math.nan
    out["alpha"] = _alpha(np.vstack([x, y]))
    return out


def _alpha(values: np.ndarray) -> float:
    """Nominal Krippendorff's alpha, binary values, every coder rates every unit."""
    m, n_units = values.shape
    if n_units == 0:
        return math.nan
    j = values.sum(axis=0).astype(float)                 # ones per unit
    o11 = (j * (j - 1)).sum() / (m - 1)
    o00 = ((m - j) * (m - j - 1)).sum() / (m - 1)
    o01 = (j * (m - j)).sum() / (m - 1)
    n1, n0 = o11 + o01, o00 + o01
    n = n0 + n1
    if n0 == 0 or n1 == 0:
        return math.nan
    return 1 - (n - 1) * (2 * o01) / (2 * n0 * n1)


def _fleiss(values: np.ndarray) -> float:
    m, n_units = values.shape
    if n_units == 0:
        return math.nan
    ones = values.sum(axis=0).astype(float)
    zeros = m - ones
    p_i = (ones * (ones - 1) + zeros * (zeros - 1)) / (m * (m - 1))
    p1 = ones.sum() / (n_units * m)
    pe = p1 ** 2 + (1 - p1) ** 2
    return math.nan if pe == 1 else (p_i.mean() - pe) / (1 - pe)


def _pairs_agree(values: np.ndarray) -> float:
    """Percent agreement of m coders: per unit, the share of coder pairs that agree; mean."""
    m, n_units = values.shape
    if n_units == 0:
        return math.nan
    agree = sum((values[i] == values[k]).astype(float) for i in range(m) for k in range(i + 1, m))
    return float((agree / (m * (m - 1) / 2)).mean())


def _close(got, want) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None or math.isnan(got)
    return got is not None and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


SEEDS = [1, 2, 3, 5, 8, 13]


def _expected_docs(gen: Generated, coders: list[str]) -> list[str]:
    return [d for d in gen.docs if set(coders) <= gen.worked[d]]


@pytest.mark.parametrize("seed", SEEDS)
def test_two_coders_characters_match_brute_force(store, seed):
    with store.session() as s:
        gen = _generate(s, seed)
    coders = ["ana", "ben"]
    expected = _expected_docs(gen, coders)
    with store.session() as s:
        p = get_project(s, "gen")
        if not expected:
            with pytest.raises(AgreementError, match="no document has codings by all of ana, ben"):
                compute_agreement(s, p, coders, member=_lead(s, p), ci=False)
            return
        rep = compute_agreement(s, p, coders, member=_lead(s, p), ci=True, n_boot=50)
        marks, by_name = _marks(s, coders, expected)
    assert rep.options["documents"] == expected
    # every document someone but not everyone worked on is named, none other
    assert [(x["document"], set(x["coded_by"]), x["counted"]) for x in rep.options["partial"]] == [
        (d, gen.worked[d] & set(coders), False) for d in gen.docs if 0 < len(gen.worked[d] & set(coders)) < 2]
    tree_rows = rep.rows[:-1]
    assert {r.code_id for r in tree_rows} == set(marks)
    cells = {(c["document"], c["code"]): c for c in rep.by_document}
    pooled_x, pooled_y = [], []
    for row in tree_rows:
        x = np.concatenate([marks[row.code_id][d]["ana"] for d in expected])
        y = np.concatenate([marks[row.code_id][d]["ben"] for d in expected])
        pooled_x.append(x)
        pooled_y.append(y)
        want = _two_coder(x, y)
        assert row.extra["table"] == want["table"], row.code
        assert row.n_units == x.size == sum(by_name[d].length for d in expected)
        assert row.n_coded == int((x | y).sum())
        assert _close(row.percent, want["percent"]) and _close(row.kappa, want["kappa"])
        assert _close(row.alpha, want["alpha"])
        coded = x | y
        assert _close(row.alpha_coded, _alpha(np.vstack([x[coded], y[coded]])) if coded.any() else math.nan)
        for d in expected:
            cell = cells[(d, row.code)]
            one = _two_coder(marks[row.code_id][d]["ana"], marks[row.code_id][d]["ben"])
            assert cell["coded"] == one["table"][0] + one["table"][1] + one["table"][2]
            assert _close(cell["percent"], one["percent"]) and _close(cell["kappa"], one["kappa"])
    overall = rep.rows[-1]
    want = _two_coder(np.concatenate(pooled_x), np.concatenate(pooled_y))
    assert overall.code == "(all codes)" and overall.extra["table"] == want["table"]
    assert _close(overall.alpha, want["alpha"]) and _close(overall.kappa, want["kappa"])
    nobody = next(r for r in tree_rows if r.code == "Theme/Nobody")
    assert nobody.n_coded == 0 and nobody.note and math.isnan(nobody.alpha)
    only_ana = next(r for r in tree_rows if r.code == "Theme/Only ana")
    assert only_ana.extra["table"][2] == 0  # ben never used it: no "only B" characters


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_three_coders_characters_match_brute_force(store, seed):
    with store.session() as s:
        gen = _generate(s, seed)
    expected = _expected_docs(gen, CODERS)
    with store.session() as s:
        p = get_project(s, "gen")
        # name every document explicitly, partial and never-touched ones included
        rep = compute_agreement(s, p, CODERS, member=_lead(s, p), documents=gen.docs, ci=False)
        marks, by_name = _marks(s, CODERS, gen.docs)
        if expected:
            assert compute_agreement(s, p, CODERS, member=_lead(s, p), ci=False).options["documents"] == expected
    assert rep.options["documents"] == gen.docs
    assert all(x["counted"] for x in rep.options["partial"])
    assert {x["document"] for x in rep.options["partial"]} == {
        d for d in gen.docs if 0 < len(gen.worked[d]) < 3}
    pooled = []
    for row in rep.rows[:-1]:
        v = np.vstack([np.concatenate([marks[row.code_id][d][c] for d in gen.docs]) for c in CODERS])
        pooled.append(v)
        assert row.n_units == v.shape[1] and row.n_coded == int(v.any(axis=0).sum())
        assert _close(row.percent, _pairs_agree(v))
        assert _close(row.alpha, _alpha(v)), row.code
        assert _close(row.kappa, _fleiss(v)), row.code
        for d in gen.docs:
            part = np.vstack([marks[row.code_id][d][c] for c in CODERS])
            cell = next(c for c in rep.by_document if c["document"] == d and c["code"] == row.code)
            assert cell["coded"] == int(part.any(axis=0).sum())
            assert _close(cell["percent"], _pairs_agree(part))
    allv = np.hstack(pooled)
    assert _close(rep.rows[-1].alpha, _alpha(allv)) and rep.rows[-1].n_units == allv.shape[1]


@pytest.mark.parametrize("min_share", [0.0, 0.5])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_turn_units_match_brute_force(store, seed, min_share):
    with store.session() as s:
        gen = _generate(s, seed)
    coders = ["ana", "ben"]
    with store.session() as s:
        p = get_project(s, "gen")
        rep = compute_agreement(s, p, coders, member=_lead(s, p), unit="turn", min_share=min_share,
                                documents=gen.docs, ci=False)
        marks, by_name = _marks(s, coders, gen.docs)
        turns = {d: [(t.speech_start, t.end) for t in s.scalars(
            select(SpeakerTurn).where(SpeakerTurn.document_id == by_name[d].id).order_by(SpeakerTurn.position))
            if t.speech_start < t.end] for d in gen.docs}

    def coded(m: np.ndarray, a: int, b: int) -> bool:
        share = m[a:b].mean()
        return bool(m[a:b].any()) if min_share == 0 else share >= min_share

    for row in rep.rows[:-1]:
        x = np.array([coded(marks[row.code_id][d]["ana"], a, b) for d in gen.docs for a, b in turns[d]], bool)
        y = np.array([coded(marks[row.code_id][d]["ben"], a, b) for d in gen.docs for a, b in turns[d]], bool)
        want = _two_coder(x, y)
        assert row.extra["table"] == want["table"], row.code
        assert _close(row.alpha, want["alpha"]) and _close(row.kappa, want["kappa"])


def test_the_cli_case_from_the_issue(demo_store):
    """One coding by ana on a document ben never opened: no crash, the figures of the
    double-coded documents unchanged, the document named as left out."""
    with demo_store.session() as s:
        p = get_project(s, "demo")
        before = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
        ana = Member.of(get_member(s, p, "ana"))
        doc = get_document(s, p, "P02_teacher_School-I_3")
        code = next(i for i in code_tree(s, p).infos if i.codable)
        apply_codes(s, p, ana, doc, [code.id], 10, 50)
    with demo_store.session() as s:
        p = get_project(s, "demo")
        after = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
        forced = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), documents=["P02_teacher_School-I_3"],
                                   ci=False)
    assert [r.extra["table"] for r in after.rows] == [r.extra["table"] for r in before.rows]
    assert after.options["partial"] == [{"document": "P02_teacher_School-I_3", "coded_by": ["ana"],
                                         "not_coded_by": ["ben"], "counted": False}]
    assert "Left out until every chosen coder" in report_text(after)
    assert r"P02\_teacher\_School-I\_3 (coded by ana, not by ben)" in report_markdown(after)  # Markdown-escaped
    first = next(r for r in forced.rows if r.code_id == code.id)
    assert first.extra["table"] == [0, 40, 0, 12070 - 40]
    assert forced.options["partial"][0]["counted"] is True


def test_unknown_document_and_empty_choice_are_refused(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        with pytest.raises(AgreementError, match="no document named 'P99'"):
            compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), documents=["P99"], ci=False)
        with pytest.raises(AgreementError, match="no documents to compare"):
            compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), documents=[], ci=False)


def test_zero_codings(store):
    """Nobody coded anything: a clear refusal by default; named documents give
    'nobody coded' rows, never a crash. Both coders marking a document done with
    nothing coded makes it count (all its characters agree as 'not coded')."""
    with store.session() as s:
        p = create_project(s, "gen", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, parse_codebook(CODEBOOK), member=lead)
        ana, ben = (Member.of(add_member(s, p, n, "coder", actor=lead)) for n in ("ana", "ben"))
        import_uploads(s, p, [("D0.txt", b"Teacher: nothing to code here.\n"), ("D1.txt", b"Teacher: nor here.\n")],
                       actor=lead)
    with store.session() as s:
        p = get_project(s, "gen")
        with pytest.raises(AgreementError, match="no document has codings by all of ana, ben"):
            compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
        for unit in ("character", "turn", "segment"):
            rep = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), unit=unit, documents=["D0", "D1"],
                                    ci=True, n_boot=20)
            assert all(r.n_coded == 0 for r in rep.rows) and rep.options["partial"] == []
            assert all(r.verdict in ("undefined", "") for r in rep.rows)
        rnd = open_round(s, p, lead, "R1")
        doc = get_document(s, p, "D0")
        assign(s, p, lead, rnd, [doc], [ana, ben])
        set_status(s, p, ana, doc, "done")
        with pytest.raises(AgreementError, match=r"coded by only some so far: D0 \(ana\)"):
            compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
        set_status(s, p, ben, doc, "done")
        rep = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
    assert rep.options["documents"] == ["D0"]
    assert rep.rows[-1].extra["table"] == [0, 0, 0, doc.length * (len(rep.rows) - 1)]

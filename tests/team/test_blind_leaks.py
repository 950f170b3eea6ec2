"""Issue 15, item 3: while a blind round is open a coder learns nothing of another coder's
work: not from the progress table, not from another coder's proposed codes (codebook,
codebook changes, event log, CLI, YAML/REFI exports, even "only my codings"), and not
from change summaries that count codings the reader may not see. The project is the
protected team project ``harbour`` (tests/conftest.py): maria leads, tom and li code."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import yaml

from coding.codebook import tree as codebook

from coding.codebook import edits as codebook_edit
from coding.codebook import history, restructure

from coding.work import rounds
from coding.codebook.tree import code_tree, parse_codebook
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.team.events import list_events
from coding.interchange import export_qdc, export_qdpx
from coding.codebook.proposals import accept_proposal, create_code_while_coding, reject_proposal
from coding.team.members import get_member
from coding.store.models import Code, Coding, Round

TOM_CODE = "Tally hook"          # tom's proposal: li must never see it while it is one
LI_CODE = "Pub closure"          # li's proposal: tom must never see it


@pytest.fixture
def blind(team):
    """A blind round 'R1' on Docker_01 and Docker_02 for tom and li; both code and propose a
    code; tom marks Docker_01 done. Job loss holds 4 codings: tom 2 and li 1 on Docker_01
    (blind), tom 1 on Clerk_01 (in no round, so everyone sees it)."""
    with team.store.session() as s:
        p = team.project(s)
        maria, tom, li = (team.member(s, n) for n in ("maria", "tom", "li"))
        d1, d2, clerk = (get_document(s, p, n) for n in ("Docker_01", "Docker_02", "Clerk_01"))
        rnd = rounds.open_round(s, p, maria, "R1", blind=True)
        rounds.assign(s, p, maria, rnd, [d1, d2], [get_member(s, p, n) for n in ("tom", "li")])
        tree = code_tree(s, p)
        job, cont = tree.resolve("Change/Job loss").id, tree.resolve("Change/Containerisation").id
        tom_code = create_code_while_coding(s, p, tom, TOM_CODE, parent_id=tree.resolve("Change").id,
                                            definition="A docker's own hook")
        li_code = create_code_while_coding(s, p, li, LI_CODE, definition="The pub closing")
        apply_codes(s, p, tom, d1, [tom_code.id], 50, 80)
        apply_codes(s, p, li, d1, [li_code.id], 90, 120)
        apply_codes(s, p, tom, d1, [job], 0, 10)
        apply_codes(s, p, tom, d1, [job], 20, 30)
        apply_codes(s, p, li, d1, [job], 40, 45)
        apply_codes(s, p, tom, clerk, [job], 0, 10)
        apply_codes(s, p, tom, d2, [cont], 0, 12)
        rounds.set_status(s, p, tom, d1, "done")
        ids = {"tom_code": tom_code.id, "li_code": li_code.id, "job": job, "cont": cont, "round": rnd.id}
    return team, ids


def _names(tree) -> set[str]:
    return {i.name for i in tree.infos}


def visible_code_tree(s, project, member):
    from coding.codebook.tree import visible_code_tree as tree_of

    return tree_of(s, project, member)


def test_progress_shows_a_coder_only_their_own_rows_on_blind_documents(blind):
    team, ids = blind
    with team.store.session() as s:
        p = team.project(s)
        li, maria = team.member(s, "li"), team.member(s, "maria")
        mine = rounds.progress(s, p, li)
        assert {r["coder"] for r in mine} == {"li"}
        assert {(r["document"], r["status"]) for r in mine} == {("Docker_01", "in progress"),
                                                                ("Docker_02", "not started")}
        lead = {(r["document"], r["coder"]): r["status"] for r in rounds.progress(s, p, maria)}
        assert lead[("Docker_01", "tom")] == "done" and len(lead) == 4
        rounds.reveal(s, p, maria, s.get(Round, ids["round"]))
    with team.store.session() as s:
        after = {(r["document"], r["coder"]): r["status"] for r in rounds.progress(s, team.project(s),
                                                                                   team.member(s, "li"))}
        assert after[("Docker_01", "tom")] == "done"


def test_a_proposed_code_is_seen_by_its_proposer_and_leads_only_until_accepted(blind):
    team, ids = blind
    with team.store.session() as s:
        p = team.project(s)
        tom, li, maria = (team.member(s, n) for n in ("tom", "li", "maria"))
        assert TOM_CODE not in _names(visible_code_tree(s, p, li)) and LI_CODE in _names(visible_code_tree(s, p, li))
        assert TOM_CODE in _names(visible_code_tree(s, p, tom)) and LI_CODE not in _names(visible_code_tree(s, p, tom))
        assert {TOM_CODE, LI_CODE} <= _names(visible_code_tree(s, p, maria))
        # li may not see tom's coding on his proposal even where she could see his work
        assert s.get(Code, ids["tom_code"]).status == "proposed"
        accept_proposal(s, p, maria, ids["tom_code"])
    with team.store.session() as s:
        assert TOM_CODE in _names(visible_code_tree(s, team.project(s), team.member(s, "li")))


def test_codebook_changes_and_the_event_log_keep_other_coders_proposals(blind):
    team, ids = blind
    with team.store.session() as s:
        p = team.project(s)
        li, maria = team.member(s, "li"), team.member(s, "maria")
        seen = json.dumps(history.codebook_changes(s, p, li), default=str)
        assert TOM_CODE not in seen and "code.propose" in seen and LI_CODE in seen
        assert TOM_CODE in json.dumps(history.codebook_changes(s, p, maria), default=str)
        # the lead renames tom's proposal, then rejects it: li learns of none of it
        codebook_edit.rename_code(s, p, maria, ids["tom_code"], TOM_CODE + " (docker's)")
        reject_proposal(s, p, maria, ids["tom_code"])
    with team.store.session() as s:
        p = team.project(s)
        li, maria = team.member(s, "li"), team.member(s, "maria")
        seen = history.codebook_changes(s, p, li)
        assert not [c for c in seen if TOM_CODE in c["what"] or c["who"] == "tom"], seen
        assert [c["action"] for c in history.codebook_changes(s, p, maria)][:3] == [
            "code.delete", "code.reject", "code.rename"]
        rnd = s.get(Round, ids["round"])
        rounds.reveal(s, p, maria, rnd)
    with team.store.session() as s:  # no blind round now: the event log still keeps tom's proposal
        events = list_events(s, team.project(s), team.member(s, "li"))
        assert events and not [e for e in events if TOM_CODE in json.dumps(e.payload or {})
                               or (e.action == "code.propose" and e.actor == "tom")]


def test_change_summaries_count_only_the_codings_the_reader_may_see(blind):
    team, ids = blind
    with team.store.session() as s:
        p = team.project(s)
        maria = team.member(s, "maria")
        assert restructure.merge_codes(s, p, maria, ids["job"], ids["cont"]) == 4
        community = code_tree(s, p).resolve("Community").id
        d1, clerk = get_document(s, p, "Docker_01"), get_document(s, p, "Clerk_01")
        apply_codes(s, p, team.member(s, "tom"), d1, [community], 60, 70)
        apply_codes(s, p, team.member(s, "li"), d1, [community], 60, 70)
        apply_codes(s, p, team.member(s, "tom"), clerk, [community], 20, 30)
        restructure.delete_code(s, p, maria, community, confirm_count=3)
    with team.store.session() as s:
        p = team.project(s)
        lead = {c["action"]: c["what"] for c in history.codebook_changes(s, p, team.member(s, "maria"))}
        li = {c["action"]: c["what"] for c in history.codebook_changes(s, p, team.member(s, "li"))}
        tom = {c["action"]: c["what"] for c in history.codebook_changes(s, p, team.member(s, "tom"))}
    assert "(4 codings moved" in lead["code.merge"] and "(2 codings moved" in li["code.merge"]
    assert "(3 codings moved" in tom["code.merge"]
    assert lead["code.delete"].endswith("(1 code, 3 codings)") and li["code.delete"].endswith("(1 code, 2 codings)")


def test_cli_codes_and_exports_leave_out_another_coders_proposal(blind, monkeypatch, capsys, tmp_path):
    from coding.cli.main import main

    team, ids = blind
    url = team.store.engine.url.render_as_string(hide_password=False)

    def cli(who: str, *args: str) -> str:
        monkeypatch.setenv("CODING_PASSWORD", team.passwords[who])
        capsys.readouterr()
        assert main(["--db", url, "--as", who, *args]) == 0
        return capsys.readouterr().out

    li_codes = json.loads(cli("li", "codes", "harbour", "--json"))
    assert LI_CODE in {c["name"] for c in li_codes} and TOM_CODE not in {c["name"] for c in li_codes}
    assert TOM_CODE in {c["name"] for c in json.loads(cli("maria", "codes", "harbour", "--json"))}

    out = tmp_path / "li.yaml"
    cli("li", "codebook", "export", "harbour", str(out))
    text = out.read_text(encoding="utf-8")
    assert TOM_CODE not in text
    mine = [n for n in _walk(yaml.safe_load(text)["codes"]) if n["name"] == LI_CODE]
    assert mine and mine[0]["status"] == "proposed"
    lead_yaml = tmp_path / "maria.yaml"
    cli("maria", "codebook", "export", "harbour", str(lead_yaml))
    statuses = {n["name"]: n.get("status", "active") for n in _walk(yaml.safe_load(lead_yaml.read_text())["codes"])}
    assert statuses[TOM_CODE] == statuses[LI_CODE] == "proposed" and statuses["Community"] == "active"
    # the file goes back in: the proposals keep their status and stay their proposers'
    book = parse_codebook(lead_yaml.read_text(), "maria.yaml")
    with team.store.session() as s:
        p = team.project(s)
        codebook.import_codebook(s, p, book, member=team.member(s, "maria"))
        assert {c.name: (c.status, c.proposed_by) for c in s.query(Code).filter(Code.project_id == p.id)
                if c.status == "proposed"} == {TOM_CODE: ("proposed", team.member(s, "tom").id),
                                               LI_CODE: ("proposed", team.member(s, "li").id)}

    qdc = tmp_path / "li.qdc"
    cli("li", "qdc", "export", "harbour", str(qdc))
    assert TOM_CODE.encode() not in qdc.read_bytes() and LI_CODE.encode() in qdc.read_bytes()
    for layer in ("project", "coder:li"):
        qdpx = tmp_path / f"li-{layer.replace(':', '_')}.qdpx"
        cli("li", "qdpx", "export", "harbour", str(qdpx), "--layer", layer)
        with zipfile.ZipFile(io.BytesIO(qdpx.read_bytes())) as z:
            xml = z.read("project.qde").decode()
        assert TOM_CODE not in xml and ids["tom_code"] not in xml and LI_CODE in xml


def test_exports_and_engine_reads_use_the_visible_codebook(blind):
    """The same through the engine: export_qdc/export_qdpx, the excerpts export's codebook
    appendix, and the codings of another coder's proposal."""
    from coding.exporting.excerpts import set_attribution_template
    from coding.exporting.exports import export

    team, ids = blind
    with team.store.session() as s:
        p = team.project(s)
        li, maria = team.member(s, "li"), team.member(s, "maria")
        assert TOM_CODE.encode() not in export_qdc(s, p, li)
        assert TOM_CODE.encode() in export_qdc(s, p, maria)
        set_attribution_template(s, p, maria, "({cohort} - {site})")  # harbour has no role/school
        with zipfile.ZipFile(io.BytesIO(export_qdpx(s, p, li, layer="coder:li"))) as z:
            assert TOM_CODE not in z.read("project.qde").decode()
        appendix = export(s, p, li, "codebook", "md").data.decode()
        assert TOM_CODE not in appendix and LI_CODE in appendix
        # once the round is revealed li sees tom's work, but still not his pending proposal's codings
        rounds.reveal(s, p, maria, s.get(Round, ids["round"]))
    with team.store.session() as s:
        from coding.team.visibility import visible_codings_query

        li = team.member(s, "li")
        seen = list(s.scalars(visible_codings_query(s, li)))
        assert any(c.coder_id == team.member(s, "tom").id for c in seen)
        assert not [c for c in seen if c.code_id == ids["tom_code"]]
        assert s.query(Coding).filter_by(code_id=ids["tom_code"]).count() == 1  # still stored


def _walk(nodes):
    for n in nodes:
        yield n
        yield from _walk(n.get("children") or [])


def test_agreement_a_coder_runs_has_no_row_for_another_coders_proposal(blind):
    """The agreement table a coder computes lists the codebook as that coder sees it: tom's
    pending proposal is no row of li's table (it is of tom's and the lead's)."""
    from coding.agreement.project import compute_agreement

    team, ids = blind
    with team.store.session() as s:
        p = team.project(s)
        rounds.reveal(s, p, team.member(s, "maria"), s.get(Round, ids["round"]))
    with team.store.session() as s:
        p = team.project(s)
        rows = {who: {r.code for r in compute_agreement(s, p, ["tom", "li"], member=team.member(s, who)).rows}
                for who in ("li", "tom", "maria")}
    assert not any(TOM_CODE in c for c in rows["li"]) and any(LI_CODE in c for c in rows["li"])
    assert any(TOM_CODE in c for c in rows["tom"]) and not any(LI_CODE in c for c in rows["tom"])
    assert any(TOM_CODE in c for c in rows["maria"]) and any(LI_CODE in c for c in rows["maria"])

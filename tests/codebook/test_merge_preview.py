"""The merge report of a YAML codebook import (issue 17, item 3), on harbour: what the
preview says of each code is what the import then does, counts included."""

from __future__ import annotations

import yaml

from coding.codebook.merge_preview import codebook_merge_preview
from coding.codebook.tree import code_tree, export_codebook, import_codebook, parse_codebook
from tests.conftest import TEAM_CODEBOOK


def test_the_preview_names_each_codes_fate_and_the_import_reports_the_same_counts(team):
    book = parse_codebook(TEAM_CODEBOOK.replace("Family, neighbourhood and the union.", "Family and union.")
                          + "  - name: Later life\n    children:\n      - name: Pensions\n", "v2.yaml")
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        version = p.codebook_version
        rows = {r.path: (r.action, r.changes) for r in codebook_merge_preview(s, p, maria, book)}
        assert p.codebook_version == version  # nothing written
        assert rows["Later life/Pensions"] == ("create", "") and rows["Later life"] == ("create", "")
        assert rows["Community"] == ("update", "definition")
        assert rows["Work/Gang labour"] == ("update", "")
        counts = import_codebook(s, p, book, member=maria)
    assert counts == {"created": sum(a == "create" for a, _ in rows.values()),
                      "updated": sum(a == "update" for a, _ in rows.values())} == {"created": 2, "updated": 7}


def test_a_code_matched_by_id_is_an_update_that_says_it_moves_and_what_is_kept(team):
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        raw = yaml.safe_load(export_codebook(s, p, maria))
        work = raw["codes"][0]
        gang = work["children"].pop(0)                     # Work/Gang labour ...
        gang["name"] = "Gangs"                             # ... renamed and moved to the top level
        raw["codes"] = [gang, work]                        # Change and Community left out of the file
        book = parse_codebook(yaml.safe_dump(raw), "moved.yaml")
        rows = {r.path: (r.action, r.changes) for r in codebook_merge_preview(s, p, maria, book)}
        assert rows["Gangs"] == ("update", "moved from Work/Gang labour, name")
        assert rows["Community"] == ("keep", "") and rows["Change/Job loss"] == ("keep", "")
        import_codebook(s, p, book, member=maria)
        tree = code_tree(s, p)
        assert tree.resolve("Gangs").id == gang["id"] and "Community" in tree.by_path

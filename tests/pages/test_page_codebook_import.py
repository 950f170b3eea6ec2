"""Issue 17, item 3: the Codebook page imports a YAML codebook (preview and merge report
first, then all or nothing) and the participant attributes CSV (preview of the documents
matched and not), on the protected project ``harbour`` (AppTest)."""

from __future__ import annotations

import pytest

from coding.codebook.tree import code_tree
from coding.work.documents import document_summary, list_documents
from coding.work.staged_import import staged_row_count
from tests.conftest import TEAM_CODEBOOK
from tests.pages.test_page_project import plain
from tests.pages.test_page_team_project import team_app  # noqa: F401  (the fixture)

PAGE = "app_pages/codebook_page.py"
# harbour's codebook with one code added (Change/Pensions) and one definition changed (Community)
NEW_BOOK = (TEAM_CODEBOOK.replace("Family, neighbourhood and the union.", "Family, street, pub and the union.")
            + "  - name: Later life\n    children:\n      - name: Pensions\n        definition: Money after the docks.\n")
NEW_ATTRIBUTES = "document,cohort,site,union\nDocker_01,1960s,North Quay,TGWU\nDocker_99,1970s,East Pier,none\n"


def _upload(at, key_start: str, name: str, data: bytes, mime: str):
    (box,) = [u for u in at.get("file_uploader") if u.key.startswith(key_start)]
    return box.set_value([(name, data, mime)]).run()


def _table(at, column: str):
    """The dataframe on the page with ``column`` (AppTest does not keep a dataframe's key)."""
    (df,) = [d.value for d in at.dataframe if column in d.value.columns]
    return df


def _button(at, label: str):
    return at.button[[b.label for b in at.button].index(label)]


def _state(team):
    with team.store.session() as s:
        p = team.project(s)
        tree = code_tree(s, p)
        return (p.codebook_version, {i.path: i.definition for i in tree.infos},
                {(d.name, k): v for d in list_documents(s, p) for k, v in document_summary(d)["attributes"].items()})


def test_a_lead_previews_the_merge_then_imports_the_yaml_codebook(team_app, team):
    before = _state(team)
    at = team_app(PAGE, "maria")
    at.run()
    _upload(at, "codebook_yaml_file", "harbour-v2.yaml", NEW_BOOK.encode(), "application/x-yaml")
    assert not at.exception and not at.error
    preview = _table(at, "import").set_index("code")
    assert preview.loc["Later life/Pensions", "import"] == "create"
    assert preview.loc["Later life", "import"] == "create"
    assert (preview.loc["Community", "import"], preview.loc["Community", "changes"]) == ("update", "definition")
    assert preview.loc["Work/Gang labour", "changes"] == "no change"
    assert "2 codes to create, 7 codes to update, 0 codes kept as they are" in at.text[0].value
    assert _state(team) == before  # a preview stores nothing
    _button(at, "Import this codebook").click().run()
    assert not at.exception
    assert [plain(s.value) for s in at.success] == ["Codebook imported from harbour-v2.yaml: 2 created, 7 updated."]
    version, codes, _ = _state(team)
    assert version == before[0] + 1
    assert codes["Later life/Pensions"] == "Money after the docks."
    assert codes["Community"] == "Family, street, pub and the union."
    assert codes["Work/Gang labour"] == before[1]["Work/Gang labour"]


@pytest.mark.parametrize("name,text,expected", [
    ("bad-colour.yaml", TEAM_CODEBOOK.replace("  - name: Community\n", "  - name: Community\n    colour: red\n"),
     "bad-colour.yaml: code 'Community': field 'colour' is 'red'"),
    ("no-name.yaml", TEAM_CODEBOOK + "  - definition: a code without a name\n",
     "no-name.yaml: code #4 under the top level: field 'name' is missing or empty"),
    ("latin1.yaml", None, "latin1.yaml: is not UTF-8 text"),
])
def test_a_bad_codebook_file_is_refused_naming_file_and_field_and_nothing_is_stored(team_app, team, name, text,
                                                                                   expected):
    before = _state(team)
    at = team_app(PAGE, "maria")
    at.run()
    data = text.encode() if text is not None else "codes:\n  - name: Caf\u00e9\n".encode("latin-1")
    _upload(at, "codebook_yaml_file", name, data, "application/x-yaml")
    assert not at.exception
    assert any(expected in plain(e.value) for e in at.error), [e.value for e in at.error]
    assert not [b for b in at.button if b.label == "Import this codebook"]
    assert _state(team) == before
    with team.store.session() as s:
        assert staged_row_count(s) == 0


def test_attributes_are_previewed_matched_and_unmatched_then_stored(team_app, team):
    before = _state(team)
    at = team_app(PAGE, "maria")
    at.run()
    _upload(at, "codebook_csv_file", "cohorts.csv", NEW_ATTRIBUTES.encode(), "text/csv")
    assert not at.exception and not at.error
    rows = dict(_table(at, "in this project").values.tolist())
    assert rows == {"Docker_01": "matched: gets these values",
                    "Docker_99": "no such document (line 3): skipped",
                    "Clerk_01": "not in the file: keeps its values",
                    "Docker_02": "not in the file: keeps its values"}
    assert _state(team) == before
    _button(at, "Store these attributes").click().run()
    assert not at.exception
    assert [plain(s.value) for s in at.success] == [
        "Attributes stored from cohorts.csv: 3 values for 1 document; skipped Docker_99."]
    attrs = _state(team)[2]
    assert attrs[("Docker_01", "cohort")] == "1960s" and attrs[("Docker_01", "union")] == "TGWU"
    assert attrs[("Docker_02", "cohort")] == "1970s" and ("Docker_02", "union") not in attrs


def test_a_bad_attributes_file_names_the_file_and_the_line_and_stores_nothing(team_app, team):
    before = _state(team)
    at = team_app(PAGE, "maria")
    at.run()
    _upload(at, "codebook_csv_file", "short.csv", b"document,cohort,site\nDocker_01,1960s\n", "text/csv")
    assert not at.exception
    assert any("short.csv" in plain(e.value) and "line 2: has 2 cells" in plain(e.value) for e in at.error)
    assert not [b for b in at.button if b.label == "Store these attributes"]
    assert _state(team) == before


def test_a_coder_gets_no_codebook_import_and_the_engine_refuses_it(team_app, team):
    from coding.codebook.merge_preview import codebook_merge_preview
    from coding.codebook.tree import parse_codebook
    from coding.errors import PermissionDeniedError

    before = _state(team)
    at = team_app(PAGE, "tom")
    at.run()
    assert not at.exception
    assert not [u for u in at.get("file_uploader") if u.key.startswith("codebook_yaml_file")]
    with team.store.session() as s, pytest.raises(PermissionDeniedError):
        codebook_merge_preview(s, team.project(s), team.member(s, "tom"), parse_codebook(NEW_BOOK, "x.yaml"))
    assert _state(team) == before

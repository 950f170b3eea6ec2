"""AppTest: the Project page on the demo study."""

from streamlit.testing.v1 import AppTest


def test_project_page_lists_documents_with_attributes_and_the_codebook(app_for):
    at = app_for("app_pages/project.py", "lead")
    at.run()
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == 8
    row = df[df["document"] == "P07_directora_Escuela-II_5"].iloc[0]
    assert row["role"] == "Principal" and row["school"] == "School II_5" and row["language"] == "es"
    labels = [e.label for e in at.expander]
    assert any("Collaboration between teachers" in label for label in labels)
    assert any("(folder)" in label for label in labels)
    assert at.metric[0].value == "8"


def test_empty_database_offers_the_demo(db_url, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("CODING_DB_URL", db_url)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    at.button(key="project_build_demo").click().run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 8


def test_lead_opens_a_round_assigns_and_reveals(app_for, demo_store):
    from coding.projects import get_project
    from coding.rounds import list_rounds, progress

    at = app_for("app_pages/project.py", "lead")
    at.run()
    at.text_input(key="project_round_name").input("Round 2")
    at.button[[b.label for b in at.button].index("Open round")].click().run()
    assert not at.exception
    at.multiselect(key="project_assign_docs").select("P02_teacher_School-I_3")
    at.button[[b.label for b in at.button].index("Assign")].click().run()
    assert "2 assignments added." in [s.value for s in at.success]
    with demo_store.session() as s:
        p = get_project(s, "demo")
        assert {(r["round"], r["document"], r["coder"]) for r in progress(s, p) if r["round"] == "Round 2"} == {
            ("Round 2", "P02_teacher_School-I_3", "ana"), ("Round 2", "P02_teacher_School-I_3", "ben")}
    at.button[[b.label for b in at.button].index("Reveal this round")].click().run()
    with demo_store.session() as s:
        assert {r.name: r.status for r in list_rounds(s, get_project(s, "demo"))}["Round 2"] == "revealed"


def test_coder_sees_no_lead_forms(app_for):
    at = app_for("app_pages/project.py", "ana")
    at.run()
    labels = [b.label for b in at.button]
    assert "Open round" not in labels and "Import" not in labels

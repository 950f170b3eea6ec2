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

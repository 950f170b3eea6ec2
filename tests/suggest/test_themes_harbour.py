"""Themes a researcher would use, on the harbour project (issue 18): named by a phrase, with
why; nothing named by a word said everywhere; Spanish with nothing coded says how the nearest
code was judged; 'create code from this' codes only the quotes the lead ticks; closing
pleasantries are left out. Real spaCy, SQLite or PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from coding.store.models import Coding, Event
from coding.suggest.processing import process_documents
from coding.suggest.themes import code_from_theme, emergent_themes
from coding.suggest.units import _closing, _units
from coding.work.documents import import_uploads
from tests.processed_demo import processed, processed_rows  # noqa: F401  (fixtures)

OTHER = ["My sister married a sailor from Hull and moved away.", "The school had a brass band every summer fair.",
         "Our street flooded twice when the river rose.", "Football on Saturday, chapel on Sunday morning.",
         "My mother kept chickens behind the terrace house.", "The cinema showed westerns that nobody missed.",
         "Coal smoke hung over the valley every winter evening.", "Grandfather repaired bicycles in the shed.",
         "The bakery gave away stale bread after closing.", "Trams ran until the council bought green buses."]
OTRO = ["Mi hermana estudió enfermería en la capital.", "La escuela tenía una banda de bronces muy antigua.",
        "El río se desbordó dos inviernos seguidos.", "Los domingos íbamos a misa con la abuela.",
        "Mi madre vendía empanadas en la feria libre.", "El cine mostraba películas mexicanas los sábados."]


SHIFT = [
    "Docker: Basically the night shift on the container crane was the hardest thing, the night shift broke people.",
    "Docker: Basically I drove the container crane for ten years and the night shift never got easier.",
    "Docker: The container crane cab shook in the wind and on the night shift you were alone up there.",
    "Docker: Basically we asked the union for two drivers per container crane on the night shift.",
    "Docker: Basically the pay was better, but the pension was poor and the foreman never listened.",
    "Docker: The canteen served tea at four, the canteen was basically where we talked about the pension.",
]
ES = ("Entrevistador: ¿Cómo era el trabajo?\n\n"
      "Estibador: Harto trabajo, harto frío, y la grúa de contenedores de noche era lo peor del turno de noche.\n\n"
      "Estibador: En el turno de noche la grúa de contenedores se movía con el viento, harto miedo.\n\n"
      "Estibador: Pedimos al sindicato dos operadores por grúa de contenedores en el turno de noche.\n\n"
      "Estibador: Harto se habla del sindicato, pero el sindicato consiguió harto para las familias del puerto.\n\n"
      "Estibador: " + " ".join(OTRO) + "\n\n"
      "Estibador: La grúa de contenedores y el turno de noche, eso recuerdo, la grúa de contenedores.\n\n"
      "Entrevistador: Gracias por su tiempo.\n\n"
      "Estibador: A usted, que le vaya bien con la transcripción del trabajo.\n")


def _add_texts(team):
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        texts = [(f"Shift_{i:02d}.txt", ("Interviewer: Tell me about the cranes.\n\n" + "\n\n".join(
            SHIFT[(i + k) % len(SHIFT)] for k in range(5)) + "\n\nDocker: " + " ".join(OTHER[i:] + OTHER[:i])
            + "\n\nInterviewer: Thank you very much.\n\n"
            "Docker: Thank you, and good luck with the transcription.\n").encode()) for i in range(4)]
        import_uploads(s, p, texts + [("Muelle_01.txt", ES.encode())], actor=maria)
    with team.store.session() as s:
        from coding.work.documents import get_document

        get_document(s, team.project(s), "Muelle_01").language = "es"
    with team.store.session(write=False) as s:
        maria = team.member(s, "maria")
    process_documents(team.store, team.name, maria)


def test_themes_are_named_by_phrases_with_why_and_spanish_says_how_the_nearest_code_is_judged(team):
    _add_texts(team)
    with team.store.session(write=False) as s:
        themes = emergent_themes(s, team.project(s), team.member(s, "maria"))
    names = [t.name for t in themes]
    assert "grúa de contenedor" in names, names  # a phrase of the Spanish text, found without a parser
    assert not any(n in ("basically", "harto", "thank") for n in names), names
    t = next(t for t in themes if t.language == "en" and " " in t.name)  # a verb-object pair or noun chunk
    assert t.why and 3 <= len(t.quotes) <= 6 and t.documents >= 2
    es = [t for t in themes if t.language == "es"]
    assert es and all("nothing is coded in this language (es) in this layer" in t.nearest_note for t in es)
    assert not any("transcription" in q.text or "transcripción" in q.text for t in themes for q in t.quotes)


def test_create_code_from_a_theme_codes_only_the_ticked_quotes(team):
    _add_texts(team)
    with team.store.session(write=False) as s:
        t = next(t for t in emergent_themes(s, team.project(s), team.member(s, "maria")) if t.language == "en")
    ticked = [(q.document_id, q.start, q.end) for q in t.quotes[:2]]
    with team.store.session() as s:
        code, made = code_from_theme(s, team.project(s), team.member(s, "maria"), t.name, ticked,
                                     definition=t.draft_definition(), suggestion=t.title)
        code_id = code.id
    with team.store.session(write=False) as s:
        rows = s.execute(select(Coding.document_id, Coding.start, Coding.end).where(Coding.code_id == code_id)).all()
        assert sorted(tuple(r) for r in rows) == sorted(ticked)
        assert s.scalar(select(Event.id).where(Event.action == "suggestion.accept")) is not None


def test_closing_pleasantries_are_found_after_the_last_interviewer_turn(team):
    _add_texts(team)
    with team.store.session(write=False) as s:
        docs, units = _units(s, team.project(s), "sentence")
        closing = _closing(units, docs)
        texts = {d.id: d.text for d in docs}
        said = [texts[units[i][0].document_id][units[i][0].start:units[i][0].end] for i in closing]
    assert said and all("transcri" in x or "Thank you" in x or "le vaya bien" in x for x in said), said
    assert sum("good luck with the transcription" in x for x in said) == 4


def test_more_like_feedback_never_offers_the_closing_pleasantries_on_the_demo(processed):
    """Issue 18 measured this on the demo: 'And good luck with the transcription' came first for
    Feedback. Every uncoded sentence is asked for (top=500), so none can hide below the cut."""
    from coding.codebook.tree import code_tree
    from coding.suggest.passages import more_like_code
    from tests.processed_demo import who

    with processed.session(write=False) as s:
        p, ana = who(s, "ana")
        code = code_tree(s, p).resolve("CIC Project/Collaboration between teachers/Feedback").id
        found = more_like_code(s, p, ana, code, top=500)
    said = [x.quote.text for x in found]
    assert len(said) > 50
    assert not any("good luck with the transcription" in t or "Que le vaya bien" in t for t in said)


def test_themes_page_codes_only_the_quote_the_member_ticks(processed, app_for):
    """Issue 18 measured this on the demo: Apply preselected every quote. Now nothing is ticked
    until the member ticks it, and 'Propose code' codes exactly the ticked quote."""
    from sqlalchemy import func

    from coding.store.models import Code

    at = app_for("app_pages/suggestions_page.py", "ana")
    at.run()
    at.button(key="sugg_find").click().run()
    assert not at.exception
    assert not any(c.value for c in at.checkbox)  # nothing preselected
    theme = at.session_state["sugg_themes"][0]
    at.checkbox(key="sugg_1_q1").check().run()
    submit = next(b for b in at.button if b.label.startswith("Propose code and code 1 ticked quote"))
    submit.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    q = theme.quotes[1]
    with processed.session(write=False) as s:
        code = s.scalar(select(Code).where(Code.name == theme.name))  # the theme's name is the default
        rows = s.execute(select(Coding.document_id, Coding.start, Coding.end).where(Coding.code_id == code.id)).all()
        assert [tuple(r) for r in rows] == [(q.document_id, q.start, q.end)]
        assert s.scalar(select(func.count()).select_from(Event).where(Event.action == "suggestion.accept")) == 1

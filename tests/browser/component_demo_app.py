"""A tiny Streamlit app that mounts the transcript component for the browser tests.

It prints what the component reports as ``st.code`` lines the tests parse:
``SELECTION {json}`` (the shared selection), ``APPLY {json}``, ``CLICKED {json}``,
``SHORTCUT {json}`` (ASCII-escaped JSON), and ``RUNS n``: how many times the script ran
(a selection must cost none).
"""

from __future__ import annotations

import json

import streamlit as st

from app_pages.transcript_component import clear_selection, transcript_view
from coding.text.offsets import Utf16Map

BLOCKS = [
    ("t1", "Teacher", "Teacher: We started the project in March with two schools."),
    ("t2", "Interviewer", "Interviewer: ¿Qué opinó la señora Núñez?"),
    ("t3", "Teacher", "Teacher: It was a great class 👏 indeed, the children loved it."),
    ("t4", "Student",
     'Student: <b>bold</b><script>window.__x=1</script><img src=x onerror="window.__y=1">'),
]
FULL_TEXT = "\n\n".join(text for _, _, text in BLOCKS)
PICKER = [
    {"id": "folder", "name": "Outcomes", "path": "Outcomes", "colour": "#888888", "depth": 0, "codable": False},
    {"id": "code-a", "name": "Results <b>in</b> students", "path": "Outcomes/Results <b>in</b> students",
     "colour": "#aa00aa", "depth": 1, "definition": "What changed for students"},
    {"id": "code-b", "name": "Support", "path": "Outcomes/Support", "colour": "#00aaaa", "depth": 1},
]


def _blocks(umap: Utf16Map) -> list[dict]:
    out, cp = [], 0
    for block_id, speaker, text in BLOCKS:
        out.append({"id": block_id, "speaker": speaker, "text": text, "base": umap.to_utf16(cp)})
        cp += len(text) + 2
    return out


def _highlight(umap: Utf16Map, hid: str, phrase: str, colour: str, label: str) -> dict:
    cp = FULL_TEXT.index(phrase)
    start, end = umap.span_to_utf16(cp, cp + len(phrase))
    return {"id": hid, "start": start, "end": end, "colour": colour, "label": label,
            "title": f"{label}: {phrase}"}


def main() -> None:
    umap = Utf16Map(FULL_TEXT)
    highlights = [
        _highlight(umap, "h-schools", "two schools", "#ff0000", "Collaboration between schools"),
        _highlight(umap, "h-great", "great class 👏 indeed", "#00aa00", "Results in students"),
        _highlight(umap, "h-class", "class 👏 indeed, the children", "#0000ff", "Support"),
    ]
    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    st.title("Transcript component demo")
    left, mid, right = st.columns(3)
    left.button("Clear selection", on_click=clear_selection, args=("demo",))
    mid.button("Focus schools", on_click=lambda: st.session_state.update(focus="h-schools"))
    right.button("Rerun")
    result = transcript_view(key="demo", blocks=_blocks(umap), highlights=highlights,
                             focus=st.session_state.get("focus"), shortcuts=["code-a", "code-b"],
                             picker=PICKER, doc="demo-doc", sha="demo-sha",
                             undo={"id": "event-1", "label": "applying Support to “two schools”"}, height=420)
    if result.apply:
        st.session_state["last_apply"] = result.apply
    if result.clicked:
        st.session_state["last_clicked"] = result.clicked
    if result.shortcut:
        st.session_state["last_shortcut"] = result.shortcut
    st.code("SELECTION " + json.dumps(result.selection))
    st.code("APPLY " + json.dumps(st.session_state.get("last_apply")))
    st.code("CLICKED " + json.dumps(st.session_state.get("last_clicked")))
    st.code("SHORTCUT " + json.dumps(st.session_state.get("last_shortcut")))
    st.code(f"RUNS {st.session_state['runs']}")


if __name__ == "__main__":  # `streamlit run` runs the file as __main__
    main()

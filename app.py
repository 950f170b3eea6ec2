"""Streamlit entry point: `streamlit run app.py` (see README for the one-command start)."""

import streamlit as st

st.set_page_config(page_title="Interview coding workbench", page_icon=":material/format_quote:", layout="wide")

pages = [
    st.Page("app_pages/project.py", title="Project", icon=":material/folder_open:", default=True),
    st.Page("app_pages/coding_page.py", title="Code transcripts", icon=":material/edit_note:"),
    st.Page("app_pages/codebook_page.py", title="Codebook", icon=":material/account_tree:"),
    st.Page("app_pages/agreement_page.py", title="Agreement", icon=":material/compare_arrows:"),
    st.Page("app_pages/memos_page.py", title="Memos", icon=":material/sticky_note_2:"),
]
st.navigation(pages).run()

import streamlit as st

st.title("memos_page")

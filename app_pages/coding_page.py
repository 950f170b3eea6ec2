import streamlit as st

st.title("coding_page")

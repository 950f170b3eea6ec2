import streamlit as st

st.title("codebook_page")

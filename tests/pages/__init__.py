"""Tests of every page through Streamlit's AppTest."""

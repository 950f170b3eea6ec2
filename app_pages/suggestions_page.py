"""Suggestions: emergent themes from the text the signed-in coder has not coded yet."""

from __future__ import annotations

import streamlit as st

from app_pages.common import require_member

ctx = require_member()
if ctx is None:
    st.stop()
st.title("Suggestions")

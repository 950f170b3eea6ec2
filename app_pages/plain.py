"""User text as plain text inside Streamlit's Markdown.

Streamlit renders Markdown in st.markdown, st.caption, st.success/error/...,
st.subheader, expander, tab and widget labels, button labels and radio
options, with its own extensions (``:red[...]``, ``:material/icon:``, emoji
shortcodes, ``$math$``). A code, member, file or memo name typed by a user or
read from an imported file must show as the characters it holds: pass it
through ``md_escape`` before putting it into any of those. Multi-line text
belongs in st.text or st.dataframe, which render no Markdown at all.
"""

from __future__ import annotations

import re
import string

# CommonMark lets a backslash escape every ASCII punctuation character and then
# shows that character literally. Escaping all of them (not a hand-picked few)
# also defeats the extensions: a directive or shortcode needs a bare ``:``,
# math a bare ``$``, a GFM autolink a bare ``:``/``.``, HTML a bare ``<``.
_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAK = re.compile(r"\r\n|\r|\n")
# Indentation would start a code block; a no-break space looks the same.
_LEADING = re.compile(r"^[ \t]+")
# Some rewrites run on the parsed text, after escapes are gone: ":streamlit:" becomes a
# logo image, " -> " an arrow, " -- " a dash, " >= " a sign. An invisible WORD JOINER
# (U+2060) inside each such sequence keeps it from matching. (GFM still turns a bare
# "http://x", "www.x" or "a@b.c" into a link showing those same characters.)
WORD_JOINER = "\u2060"
_TEXT_REWRITES = re.compile(
    r"(?<=:)(?=streamlit:)"             # the Streamlit logo shortcode
    r"|(?<=[-<>~])(?=[->=])"            # arrows, dashes, >= <= ~= typography
)


def md_escape(s: str) -> str:
    """``s`` escaped so that Streamlit's Markdown shows it as its literal characters.

    Line breaks become spaces: the result is for one-line places (labels,
    names, messages); show multi-line text with st.text. The text shown may hold
    invisible word joiners (see ``_TEXT_REWRITES``) but no other change.
    """
    s = _BREAK.sub(" ", str(s))
    s = _LEADING.sub(lambda m: "\u00a0" * len(m.group(0).expandtabs(4)), s)
    s = _TEXT_REWRITES.sub(WORD_JOINER, s)
    return _SPECIAL.sub(r"\\\1", s)

"""Text a caller, agent or supervisor can influence, made safe for Streamlit's Markdown.

Streamlit renders Markdown in `st.markdown`, captions, alerts, toasts, titles
and button labels, including images (a fetch of an outside URL from every
viewer's browser), links, colour directives (`:red[…]`) and icons. Every
value that did not come from Earpiece's own code goes through `literal`
first: each ASCII punctuation character is backslash-escaped (CommonMark
allows that for all of them), so it is shown as itself and never becomes
markup, and line breaks fold to spaces, so a value cannot start a block of
its own.
"""

from __future__ import annotations

import string

_ESCAPE = str.maketrans({c: "\\" + c for c in string.punctuation})


def literal(value: object) -> str:
    """`value` as Markdown that renders exactly its text."""
    return " ".join(str(value).split()).translate(_ESCAPE)

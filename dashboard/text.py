"""Text a caller, agent or supervisor can influence, made safe for Streamlit's Markdown.

Streamlit renders Markdown in `st.markdown`, captions, alerts, toasts, titles
and button labels: images (a fetch of an outside URL from every viewer's
browser), links, bare URLs (GitHub-flavoured autolinks, which backslash
escapes do not stop), colour directives (`:red[…]`), icons and emoji
shortcodes. Every value that did not come from Earpiece's own code goes
through `literal` first: each ASCII punctuation character becomes a numeric
character reference (`&#58;` for `:`), which Markdown shows as that very
character but never reads as syntax (no `http:`, no `www.`, no `![`, no
`:red[` is left for a parser to find), and line breaks fold to spaces, so a
value cannot start a block of its own. What a person sees is exactly the
text. Free text (a card) is not put in Markdown at all: `st.text` shows it.
"""

from __future__ import annotations

import string

# Streamlit also turns bare domains and URLs into links after the Markdown is parsed
# (GFM's autolink literals: `www.`, `http:`, `a@b`), whatever the escapes: a WORD JOINER
# (U+2060, invisible, zero width) before each dot, colon and at sign leaves none to find.
_JOINED = ".:@"
_ESCAPE = str.maketrans(
    {c: ("\u2060" if c in _JOINED else "") + f"&#{ord(c)};" for c in string.punctuation}
)


def literal(value: object) -> str:
    """`value` as Markdown that renders exactly its text."""
    return " ".join(str(value).split()).translate(_ESCAPE)

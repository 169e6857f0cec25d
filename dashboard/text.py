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


def highlighted(value: object, words: list[str]) -> str:
    """`value` as `literal` Markdown with each of `words` (any case; Japanese as well, which
    has no spaces to find words by) marked: the search words found in a transcript line
    (issue 28). The marks are Streamlit's own directive around escaped text, so nothing in
    `value` can close or open one."""
    text = " ".join(str(value).split())
    wanted = [w.lower() for w in words if w.strip()]
    folded = text.lower()
    if not wanted or len(folded) != len(text):  # a rare letter whose lower case is longer
        return text.translate(_ESCAPE)
    out: list[str] = []
    at = 0
    while at < len(text):
        hits = [(folded.find(w, at), w) for w in wanted]
        hits = [(i, w) for i, w in hits if i >= 0]
        if not hits:
            break
        start, word = min(hits, key=lambda h: (h[0], -len(h[1])))
        out.append(text[at:start].translate(_ESCAPE))
        out.append(":orange-background[" + text[start : start + len(word)].translate(_ESCAPE) + "]")
        at = start + len(word)
    out.append(text[at:].translate(_ESCAPE))
    return "".join(out)

"""Payload text made safe for a message: plain-text slots, inline markdown, and our own links.

Payload text (instance names, policy names, metric names, values) comes from a cloud account that
may be careless or hostile, so every piece of it goes through :func:`escape_markdown` before it
lands in markdown: it must not add links, mentions (``<@all>``, ``<at id=all>``), HTML-ish tags or
formatting that breaks the layout.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# One payload field in a message; a longer one is cut with an ellipsis (4096-byte robots).
MAX_FIELD_CHARS = 200

# Look-alike replacements rather than backslashes: WeCom's, DingTalk's and Feishu's renderers do
# not all honour backslash escapes, and a shown "\[" would be worse than a full-width "［".
_LOOKALIKES = str.maketrans(
    {
        "\\": "＼",
        "`": "ˋ",
        "*": "＊",
        "[": "［",
        "]": "］",
        # Opens <@all> (WeCom), <at id=all> (Feishu), <font ...> tags and <http://...> links.
        # A lone ">" is harmless inline ("CPU > 80%" stays readable); a leading one is defused.
        "<": "＜",
        "&": "＆",  # so "&lt;@all&gt;" cannot be decoded back into a mention
        "|": "｜",  # tables
        "~": "～",  # strikethrough
    }
)
# Bidi overrides and isolates can make a name read backwards ("spoofing"); they are dropped.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Bare URLs and "www." are auto-linked by some renderers; a zero-width space defeats that.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|file|mailto|tel|www)(:|\.)")
# Characters that start a block (heading, quote, list, setext underline) at the start of a line.
_BLOCK_STARTERS = frozenset("#>-+=")
_ZWSP = "\u200b"
_WHITESPACE_RUN = re.compile(r"\s+")


def plain_text(value: object, *, max_chars: int | None = MAX_FIELD_CHARS) -> str:
    """Payload text made safe for a plain-text slot: one line, no control characters, bounded.

    Line breaks and tabs become spaces, other control characters and bidi overrides are dropped,
    lone surrogates become U+FFFD (so the text always encodes as UTF-8).
    """
    kept: list[str] = []
    for char in "" if value is None else str(value):
        category = unicodedata.category(char)
        if char in "\r\n\t\v\f":
            kept.append(" ")
        elif char in _BIDI_CONTROLS or category == "Cc":
            continue
        elif category == "Cs":
            kept.append("\ufffd")
        else:
            kept.append(char)
    text = _WHITESPACE_RUN.sub(" ", "".join(kept)).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def escape_markdown(value: object, *, max_chars: int | None = MAX_FIELD_CHARS) -> str:
    """Payload text made inert for markdown: it can add no link, mention, tag or formatting.

    Meant for inline use (after a label). On top of :func:`plain_text`: the characters that
    build links, images, mentions, HTML-ish tags, emphasis, code, tables and strikethrough are
    replaced by full-width look-alikes (``[`` → ``［``, ``<`` → ``＜``, ``*`` → ``＊``...), bare
    URLs get a zero-width space so they are not auto-linked, and a leading block marker (``#``,
    ``>``, ``-``...) is defused. ``_`` is left alone: it is common inside instance names and
    cannot form a link or a mention.
    """
    text = plain_text(value, max_chars=max_chars).translate(_LOOKALIKES)
    text = _AUTOLINK.sub(lambda match: f"{match[1]}{_ZWSP}{match[2]}", text)
    if text[:1] in _BLOCK_STARTERS or re.match(r"\d+[.)]\s", text):
        text = _ZWSP + text
    return text


def safe_url(url: str) -> str:
    """Our own link, percent-encoded where markdown would end it early (spaces, brackets)."""
    return quote(url, safe=":/?#@!$&*+,;=%-._~")

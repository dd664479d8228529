"""Markdown escaping and plain-text cleaning of payload text: pure, no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alarms.notify.escaping import escape_markdown, plain_text, safe_url
from tests.unit.notify.factories import HOSTILE

# Markup that would be live in WeCom, DingTalk or Feishu markdown.
LIVE_MARKUP = ("<", "[", "]", "](", "**", "`", "~~", "|", "&lt;", "\\", "\n", "\r", "\u202e")


def test_escape_markdown_neutralises_links_mentions_tags_and_formatting() -> None:
    escaped = escape_markdown(HOSTILE, max_chars=None)

    for markup in LIVE_MARKUP:
        assert markup not in escaped, markup
    assert "http://" not in escaped  # bare URLs are not auto-linked either
    assert "www." not in escaped
    # Still readable: the look-alikes keep the words.
    assert "＜@all>" in escaped
    assert "［x］" in escaped
    assert "SPOOF" in escaped


@pytest.mark.parametrize(
    "value",
    ["# heading", "> quote", "- item", "+ item", "=== underline", "1. first", "2) second"],
)
def test_escape_markdown_defuses_a_leading_block_marker(value: str) -> None:
    escaped = escape_markdown(value)

    assert escaped.startswith("\u200b")
    assert escaped[1:] == value


def test_escape_markdown_keeps_ordinary_names_as_they_are() -> None:
    for name in ("web_server_01", "ins-8x2k", "生产 CPU (广州)", "CPU > 80%", "a.b:c/d@e"):
        assert escape_markdown(name) == name


def test_escape_markdown_bounds_the_length() -> None:
    escaped = escape_markdown("长" * 500, max_chars=200)

    assert len(escaped) == 200
    assert escaped.endswith("…")


def test_plain_text_is_one_line_without_controls_or_lone_surrogates() -> None:
    text = plain_text("a\nb\tc\x00d\u202ee \ud800 f")

    assert text == "a b cde \ufffd f"
    text.encode("utf-8")  # never raises


@given(st.text())
def test_escaped_text_never_carries_live_markup(value: str) -> None:
    escaped = escape_markdown(value, max_chars=None)

    for markup in LIVE_MARKUP:
        assert markup not in escaped
    escaped.encode("utf-8")


def test_safe_url_keeps_a_link_from_ending_early() -> None:
    url = safe_url("https://hub.example.com/alarms/7/?q=a b)(<x>")

    assert url == "https://hub.example.com/alarms/7/?q=a%20b%29%28%3Cx%3E"

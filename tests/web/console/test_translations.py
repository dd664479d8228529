"""zh-Hans is complete for the console: every string its templates translate has a Chinese
translation in the catalogue, the compiled catalogue is current, and the pages rendered for
``Accept-Language: zh-hans`` show no English string of theirs (filter errors included)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.html import escape
from django.utils.translation.template import templatize

from alarms.services.endpoints import NewEndpoint
from alarms.services.operator import acknowledge_alarm
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
TEMPLATES = sorted((ROOT / "templates" / "alarms").glob("*.html"))
ZH = {"Accept-Language": "zh-hans"}

# A Python string literal as templatize writes it (u'...' or "...").
_LITERAL = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_CALL = re.compile(
    rf"\b(gettext|ngettext|pgettext|npgettext|_)\(\s*({_LITERAL}(?:\s*,\s*{_LITERAL})*)"
)


def template_msgids() -> dict[str, set[str]]:
    """msgid → the console templates that translate it (singular and plural forms)."""
    found: dict[str, set[str]] = {}
    for path in TEMPLATES:
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for call in _CALL.finditer(code):
            literals = [ast.literal_eval(s) for s in re.findall(_LITERAL, call.group(2))]
            if call.group(1).startswith(("pgettext", "npgettext")):
                literals = literals[1:]  # the first is the context
            for msgid in literals[:2] if call.group(1).endswith("ngettext") else literals[:1]:
                found.setdefault(msgid, set()).add(path.name)
    return found


def _unquote(line: str) -> str:
    return str(ast.literal_eval(line))


def catalogue() -> dict[str, tuple[str, bool]]:
    """msgid (and msgid_plural) → (first msgstr, fuzzy) from the zh-Hans .po file."""
    entries: dict[str, tuple[str, bool]] = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith(("msgid ", "msgid_plural ", "msgstr ", "msgstr[0] ")):
                key, _sep, rest = line.partition(" ")
                fields[key] = _unquote(rest)
            elif line.startswith('"') and key:
                fields[key] += _unquote(line)
            elif line.startswith("msgstr["):
                key = ""  # further plural forms: zh has one
        msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
        for name in ("msgid", "msgid_plural"):
            if fields.get(name):
                entries[fields[name]] = (msgstr, fuzzy)
    return entries


def test_every_console_template_string_has_a_chinese_translation() -> None:
    used = template_msgids()
    assert len(used) > 100  # the extraction works (the console has well over 100 strings)
    known = catalogue()
    missing = sorted(
        f"{msgid!r} ({', '.join(sorted(files))})"
        for msgid, files in used.items()
        if msgid not in known or not known[msgid][0] or known[msgid][1]
    )
    assert not missing, (
        "untranslated (run makemessages, translate, compilemessages):\n" + "\n".join(missing)
    )


def filter_labels() -> set[str]:
    """The board form's labels as English speakers see them (they come from Python, not HTML)."""
    from alarms.console.filters import ConsoleAlarmFilterSet

    with translation.override("en"):
        return {str(field.label) for field in ConsoleAlarmFilterSet().form.fields.values()}


def english_shown(page: str) -> list[str]:
    """Console strings that a zh-Hans page shows in English, as text or an attribute value."""
    known = catalogue()
    shown = []
    for msgid in set(template_msgids()) | filter_labels():
        if "%(" in msgid or known.get(msgid, ("", False))[0] == msgid or len(msgid) < 3:
            continue
        text = escape(msgid)
        as_text = re.search(rf">\s*{re.escape(text)}\s*<", page)
        as_attribute = re.search(rf'(?:placeholder|title|aria-label|alt)="{re.escape(text)}"', page)
        if as_text or as_attribute:
            shown.append(msgid)
    return shown


@pytest.fixture
def busy_alarm(endpoint: NewEndpoint, operator: User) -> int:
    alarm = apply_alarm(endpoint.endpoint, metric_display_name="CPU利用率")
    acknowledge_alarm(alarm=alarm, actor=operator, note="正在处理")
    apply_alarm(endpoint.endpoint, namespace="qce/cdb")
    return alarm.pk


def test_the_board_and_the_alarm_page_render_in_chinese(busy_alarm: int, operator: User) -> None:
    client = client_for(operator)
    board = client.get("/", headers=ZH).content.decode()
    assert 'lang="zh-hans"' in board
    assert "看板" in board and "确认所选" in board  # the compiled catalogue is current
    assert english_shown(board) == []
    detail = client.get(f"/alarms/{busy_alarm}/", headers=ZH).content.decode()
    assert english_shown(detail) == []


def test_filter_errors_are_translated_and_name_the_field_by_its_label(
    busy_alarm: int, viewer: User
) -> None:
    response = client_for(viewer).get(
        "/", {"first_occurred_after": "yesterday", "region": "x" * 400}, headers=ZH
    )
    page = response.content.decode()
    assert "请输入日期和时间，例如 2026-12-03 15:00。" in page
    assert "每个值最多 300 个字符。" in page
    assert "Each value may have" not in page and "first_occurred_after:" not in page
    assert english_shown(page) == []


def test_api_filter_errors_follow_the_language_too(busy_alarm: int, viewer: User) -> None:
    body = client_for(viewer).get("/api/v1/alarms/", {"region": "x" * 400}, headers=ZH).json()
    assert body == {"region": ["每个值最多 300 个字符。"]}

"""The admin in Simplified Chinese: Accept-Language, the language switcher, a complete catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.utils import translation

from alarms.models import CallbackEndpoint
from alarms.selectors.endpoints import ENDPOINT_CACHE_SECONDS
from tests.support.admin import ALARMS, alarm_url
from tests.support.factories import apply_alarm

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_alarm_page_speaks_chinese_with_accept_language(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    html = operator_client.get(alarm_url(alarm), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()

    for text in ("时间线", "确认", "添加备注", "告警中", "命名空间", "首次发生"):
        assert text in html, text
    assert 'lang="zh-hans"' in html


def test_language_switcher_posts_to_set_language_and_sticks(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint)
    page = operator_client.get(ALARMS).content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in page

    response = operator_client.post("/i18n/setlang/", {"language": "zh-hans", "next": ALARMS})

    assert response.status_code == 302
    assert response["Location"] == ALARMS
    html = operator_client.get(ALARMS).content.decode()
    assert "确认所选告警" in html
    assert "命名空间" in html


def test_login_page_offers_the_language_switcher(db: None) -> None:
    html = Client().get("/admin/login/").content.decode()

    assert 'name="language"' in html


def test_messages_are_translated(operator_client: Client, admin_endpoint: CallbackEndpoint) -> None:
    alarm = apply_alarm(admin_endpoint)
    operator_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})

    response = operator_client.post(alarm_url(alarm, "acknowledge"), follow=True)

    assert "告警已确认。" in response.content.decode()


def test_duration_is_translated() -> None:
    from alarms.display import humanize_duration

    with translation.override("zh-hans"):
        assert humanize_duration(5400) == "1 小时 30 分钟"
    with translation.override("en"):
        assert humanize_duration(90061) == "1 d 1 h"
        assert humanize_duration(59) == "59 s"
        assert humanize_duration(0) == "0 s"
        assert humanize_duration(None) == "-"


def _entries(po: str) -> list[tuple[str, str, bool]]:
    """(msgid, joined msgstr, fuzzy) for each entry of a .po file."""
    result = []
    for block in po.split("\n\n"):
        ids = re.findall(r'^msgid "(.*)"', block, flags=re.M)
        strs = re.findall(r'^msgstr(?:\[\d\])? "(.*)"(?:\n"(.*)")*', block, flags=re.M)
        if ids and ids[0]:
            result.append((ids[0], "".join("".join(s) for s in strs), "#, fuzzy" in block))
    return result


def test_catalogue_translates_every_message_and_is_compiled() -> None:
    po = (CATALOGUE / "django.po").read_text(encoding="utf-8")
    entries = _entries(po)

    assert len(entries) > 100
    assert [msgid for msgid, text, fuzzy in entries if not text or fuzzy] == []
    assert (CATALOGUE / "django.mo").stat().st_size > 1000
    with translation.override("zh-hans"):
        assert translation.gettext("Timeline") == "时间线"
        assert translation.gettext("Firing") == "告警中"


def test_model_and_choice_labels_are_translated() -> None:
    from alarms.choices import AlarmStatus
    from alarms.models import Alarm

    with translation.override("zh-hans"):
        assert str(Alarm._meta.verbose_name_plural) == "告警"
        assert str(AlarmStatus.RECOVERED.label) == "已恢复"


def test_header_dashboard_link_and_endpoint_help_are_translated(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    html = superuser_client.get(
        f"/admin/alarms/callbackendpoint/{admin_endpoint.pk}/change/",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    ).content.decode()

    assert '<a href="/" id="alarmhub-dashboard-link">仪表盘</a>' in html
    assert f"所有服务器会在 {ENDPOINT_CACHE_SECONDS} 秒内生效" in html

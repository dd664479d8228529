"""The board's rows, written in Python (alarms.console.rows, issue 16): what a row shows, its
escaping, its times, and a full page of rows with every marker at the queries of a short one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.timesince import timesince

from alarms.console.board import PAGE_SIZE
from alarms.console.rows import board_row, render_rows
from alarms.display import TimeWriter, time_html
from alarms.models import Alarm, Policy
from alarms.services.endpoints import NewEndpoint
from alarms.services.operator import acknowledge_alarm
from alarms.services.silences import create_silence
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm

ROW = re.compile(r'<tr class="[^"]*" id="alarm-row-\d+"')


def _mark_every_way(alarms: list[Alarm], operator: User) -> None:
    """Acknowledged, flapping, stale and recently recovered rows among ``alarms``."""
    for alarm in alarms[::3]:
        acknowledge_alarm(alarm=alarm, actor=operator, note="")
    long_ago = timezone.now() - timedelta(days=30)
    Alarm.objects.filter(pk__in=[a.pk for a in alarms[1::4]]).update(
        flapping=True, last_notified_at=long_ago
    )
    Alarm.objects.filter(pk__in=[a.pk for a in alarms[2::5]]).update(
        status="recovered", recovered_at=timezone.now() - timedelta(minutes=1)
    )


def test_a_full_board_with_every_marker_reads_as_few_queries_as_a_short_one(
    endpoint: NewEndpoint, operator: User
) -> None:
    client = client_for(operator)
    create_silence(
        actor=None,
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
        filter={"namespace": ["qce/cdb"]},
    )
    few = [apply_alarm(endpoint.endpoint, namespace="qce/cdb") for _ in range(3)]
    _mark_every_way(few, operator)
    with CaptureQueriesContext(connection) as short:
        small_page = client.get("/").content.decode()
    many = [
        apply_alarm(endpoint.endpoint, namespace=("qce/cdb", "qce/cvm")[n % 2])
        for n in range(PAGE_SIZE + 20)
    ]
    _mark_every_way(many, operator)
    with CaptureQueriesContext(connection) as full:
        page = client.get("/").content.decode()

    assert len(ROW.findall(small_page)) == 3
    assert len(ROW.findall(page)) == PAGE_SIZE
    for marker in ("badge-silenced", "badge-flapping", "badge-stale", "badge-recent"):
        assert marker in page
    assert 'name="undo"' in page and 'class="ack-note"' in page
    # Nothing is looked up per row (no relation or deferred column read lazily): a full page
    # runs the statements of a short one, less the rank queries it no longer needs (at most 4,
    # issue 10). 15: test_board's 14 and the default saved view the board looks for.
    assert len(short) == 15
    assert len(full) <= len(short)
    assert set(_shapes(full)) <= set(_shapes(short))


def _shapes(queries: CaptureQueriesContext) -> list[str]:
    """Each statement without its values (times differ between the two requests)."""
    return [re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"]) for q in queries.captured_queries]


def test_a_row_shows_its_alarm_escaped_and_links_to_it(endpoint: NewEndpoint) -> None:
    alarm = apply_alarm(
        endpoint.endpoint,
        policy_name='<b>"CPU"</b> & co',
        instance_name="web <1>",
        dimensions={"unInstanceId": "ins-x", "objDetail": {"deviceLanIp": "10.0.0.7"}},
        level="Serious",
    )
    alarm.ips = ["10.0.0.7"]  # type: ignore[attr-defined]  # decorate_rows' addresses

    html = render_rows([alarm], can_acknowledge=True, next_url="/?q=a&b", csrf_input="<csrf>")

    assert "&lt;b&gt;&quot;CPU&quot;&lt;/b&gt; &amp; co" in html
    assert "<small>web &lt;1&gt;</small>" in html
    assert ' <code class="ip">10.0.0.7</code>' in html
    assert f'<a href="{reverse("alarms:alarm", args=[alarm.pk])}">' in html
    assert f'action="{reverse("alarms:acknowledge", args=[alarm.pk])}"' in html
    assert 'name="next" value="/?q=a&amp;b"' in html
    assert 'hx-swap="outerHTML"><csrf>' in html
    assert f'aria-label="Select alarm {alarm.pk}"' in html


def test_a_viewer_row_has_no_controls(endpoint: NewEndpoint) -> None:
    html = render_rows([apply_alarm(endpoint.endpoint)], can_acknowledge=False)
    assert "<form" not in html and 'type="checkbox"' not in html


def test_row_values_fall_back_like_the_template_did(endpoint: NewEndpoint) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    Policy.objects.filter(alarms__pk=alarm.pk).update(name="")
    Alarm.objects.filter(pk=alarm.pk).update(acknowledged_at=timezone.now())  # user deleted
    alarm = Alarm.objects.select_related("policy", "instance", "acknowledged_by").get(pk=alarm.pk)

    row = board_row(alarm, silenced=True)

    assert row.policy == alarm.policy.policy_id  # no name: the id
    assert row.acknowledged and row.acknowledged_by == "✓"
    assert row.silenced and not row.stale and not row.recent and row.ips == ()
    assert row.css == "status-firing"
    assert row.status_label == "Firing"
    alarm.policy, alarm.instance = None, None
    assert "(no policy)" in render_rows([alarm])
    assert (board_row(alarm).policy, board_row(alarm).instance_id) == ("", "")


def test_markers_become_classes(endpoint: NewEndpoint) -> None:
    alarm: Any = apply_alarm(endpoint.endpoint)
    alarm.is_stale, alarm.recently_recovered = True, True
    assert board_row(alarm).css == "status-firing is-stale is-recent"


def test_row_labels_follow_the_language(endpoint: NewEndpoint) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    with translation.override("zh-hans"):
        html = render_rows([alarm], can_acknowledge=True)
    assert f'aria-label="选择告警 {alarm.pk}"' in html
    assert "Acknowledge</button>" not in html


def _reference(value: datetime, age: bool) -> str:
    """What the ``when`` filter wrote before TimeWriter (format_html, localtime, timesince)."""
    local = timezone.localtime(value)
    utc = value.astimezone(UTC)
    label = local.tzname() or ""
    if label[:1] in "+-":
        label = f"{local:%z}"[:3] + ":" + f"{local:%z}"[3:]
    shown = f"{local:%Y-%m-%d %H:%M} {label}"
    title = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    if age:
        title = f"{shown} · {title}"
        shown = translation.gettext("%(age)s ago") % {"age": timesince(value, depth=1)}
    return format_html('<time datetime="{}" title="{}">{}</time>', utc.isoformat(), title, shown)


def test_one_time_writer_writes_every_time_as_the_filter_did() -> None:
    now = timezone.now()
    values = [now - timedelta(seconds=s) for s in (0, 59, 61, 3600 * 5, 86400 * 3, 86400 * 400)]
    values.append(datetime(2024, 3, 1, 2, 0, tzinfo=UTC))
    for zone, language in (("Asia/Shanghai", "en"), ("Asia/Kolkata", "zh-hans"), ("UTC", "en")):
        with timezone.override(zone), translation.override(language):
            write = TimeWriter()  # one per page: the memoised words serve every row
            for value in values + values:
                for age in (False, True):
                    assert write(value, age=age) == _reference(value, age)
                    assert time_html(value, age=age) == _reference(value, age)


def test_a_time_with_no_abbreviation_is_labelled_by_its_offset() -> None:
    with timezone.override("Asia/Dubai"):
        assert "2024-03-01 06:00 +04:00</time>" in time_html(datetime(2024, 3, 1, 2, tzinfo=UTC))


def test_naive_or_missing_times_write_nothing() -> None:
    assert time_html(None) == "" and time_html(datetime(2024, 3, 1)) == ""
    assert TimeWriter()(datetime(2024, 3, 1), age=True) == ""


def test_instance_without_name_shows_only_its_id(endpoint: NewEndpoint) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    instance = alarm.instance
    assert instance is not None
    instance.name = ""
    html = render_rows([alarm])
    assert f'<td class="col-instance">{instance.instance_id}</td>' in html

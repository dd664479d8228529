"""The operator workflow in a real browser: Chromium driven by Playwright against a live server.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); Playwright's own
browser downloads are never used. Screenshots land in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from alarms.choices import EventType
from alarms.models import Alarm, Note
from alarms.permissions import OPERATOR
from tests.conftest import make_staff_user
from tests.support.browser import ARTIFACTS, PASSWORD, chromium
from tests.support.factories import apply_alarm, make_endpoint

pytestmark = pytest.mark.browser


@pytest.fixture
def page(live_server: Any) -> Iterator[Any]:
    with chromium() as browser:
        context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
        browser_page = context.new_page()
        browser_page.set_default_timeout(15_000)
        try:
            yield browser_page
        finally:
            context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def test_operator_filters_acknowledges_and_annotates_then_reads_it_in_chinese(
    page: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    operator = make_staff_user("browser-operator", OPERATOR, password=PASSWORD)
    endpoint = make_endpoint(name="browser").endpoint
    apply_alarm(endpoint, namespace="qce/cvm")
    apply_alarm(endpoint, namespace="qce/cvm")
    target = apply_alarm(
        endpoint,
        namespace="qce/cdb",
        policy_name="MySQL CPU high",
        metric_name="cpu_use_rate",
        metric_display_name="",
        current_value="93.5",
        threshold="80",
    )

    # Log in and see the firing alarms per namespace on the index.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    glance = page.locator("#alarmhub-at-a-glance")
    expect(glance).to_contain_text("qce/cvm")
    expect(glance).to_contain_text("qce/cdb")
    shot(page, "1-index")

    # Filter the alarm list by namespace.
    page.goto(f"{live_server.url}/admin/alarms/alarm/")
    page.locator("#changelist-filter").get_by_role("link", name="qce/cdb", exact=True).click()
    expect(page).to_have_url(re.compile(r"namespace=qce%2Fcdb"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("cpu_use_rate 93.5 > 80%")
    shot(page, "2-filtered")

    # Open it, acknowledge it, add a note.
    rows.first.get_by_role("link", name=str(target.pk), exact=True).click()
    expect(page.locator("h1")).to_contain_text("View alarm")
    page.click("#alarmhub-acknowledge")
    expect(page.locator(".messagelist")).to_contain_text("Alarm acknowledged.")
    page.fill("#alarmhub-note-form textarea", "Restarted the replication agent.")
    page.locator("#alarmhub-note-form input[type=submit]").click()
    expect(page.locator(".messagelist")).to_contain_text("Note added.")

    timeline = page.locator("#alarmhub-timeline tbody")
    expect(timeline.locator("tr")).to_have_count(3)
    expect(timeline.locator("tr").nth(1)).to_contain_text("Acknowledged")
    expect(timeline.locator("tr").nth(1)).to_contain_text(operator.username)
    expect(timeline.locator("tr").nth(2)).to_contain_text("Note added")
    expect(timeline.locator("tr").nth(2)).to_contain_text("Restarted the replication agent.")
    expect(page.locator("#alarmhub-unacknowledge")).to_be_visible()
    shot(page, "3-acknowledged-and-annotated")

    target.refresh_from_db()
    assert target.acknowledged_by == operator
    assert Note.objects.get(alarm=target).author == operator
    assert list(target.events.values_list("type", flat=True)) == [
        EventType.TRIGGERED,
        EventType.ACKNOWLEDGED,
        EventType.ANNOTATED,
    ]

    # The same page in Simplified Chinese, through the language switcher.
    page.select_option("#alarmhub-language", "zh-hans")
    page.locator(".alarmhub-language button").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#alarmhub-timeline h2")).to_have_text("时间线")
    expect(timeline.locator("tr").nth(1)).to_contain_text("已确认")
    expect(timeline.locator("tr").nth(2)).to_contain_text("已添加备注")
    expect(page.locator("#alarmhub-unacknowledge")).to_have_text("取消确认")
    shot(page, "4-zh-hans")
    assert Alarm.objects.filter(pk=target.pk, acknowledged_at__isnull=False).exists()


def test_viewer_sees_no_operator_controls_in_the_browser(page: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    from alarms.permissions import VIEWER

    viewer = make_staff_user("browser-viewer", VIEWER, password=PASSWORD)
    alarm = apply_alarm(make_endpoint(name="browser-viewer").endpoint)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/alarms/alarm/{alarm.pk}/change/")
    page.fill("#id_username", viewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    expect(page.locator("#alarmhub-timeline")).to_be_visible()
    expect(page.locator("#alarmhub-acknowledge")).to_have_count(0)
    expect(page.locator("#alarmhub-note-form")).to_have_count(0)
    shot(page, "5-viewer")

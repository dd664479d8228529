"""Console workflows in Chromium: two namespaces, a time filter typed in Beijing time, an earlier
episode opened from the alarm page, a live refresh, the board in zh-Hans (issue 10).
Debian's /usr/bin/chromium only; screenshots in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from alarms.models import Alarm, CallbackEndpoint
from alarms.permissions import OPERATOR
from alarms.services.lifecycle import apply_notification
from tests.support.accounts import console_user
from tests.support.browser import ARTIFACTS, PASSWORD, chromium
from tests.support.factories import apply_alarm, make_endpoint, notification

pytestmark = pytest.mark.browser

# 15:52:15 in Beijing, as Tencent sends it (firstOccurTime "2026-12-03 15:52:15").
BEIJING_1552 = datetime(2026, 12, 3, 7, 52, 15, tzinfo=UTC)


@pytest.fixture
def browser(live_server: Any) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def operator(db: None) -> User:
    user = console_user("otto", OPERATOR)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def source(db: None) -> CallbackEndpoint:
    return make_endpoint(name="browser").endpoint


def logged_in(browser: Any, live_server: Any, user: User, zone: str = "UTC", **context: Any) -> Any:
    """A page on the board; the zone cookie is set up front, so timezone.js never reloads."""
    context.setdefault("viewport", {"width": 1440, "height": 900})
    context.setdefault("locale", "en-US")
    browser_context = browser.new_context(timezone_id=zone, **context)
    browser_context.add_cookies([{"name": "alarmhub_tz", "value": zone, "url": live_server.url}])
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#alarm-table")
    return page


def open_filters(page: Any) -> None:
    panel = page.locator("details.filters-panel")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()


def test_filter_by_two_namespaces_typed_and_kept_on_the_next_submit(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    cvm = apply_alarm(source, namespace="qce/cvm")
    cdb = apply_alarm(source, namespace="qce/cdb")
    lb = apply_alarm(source, namespace="qce/lb")
    page = logged_in(browser, live_server, operator)
    open_filters(page)
    page.fill("#alarm-filters input[name=namespace]", "qce/cvm, qce/cdb")
    page.click("#alarm-filters button[type=submit]")
    for alarm, count in ((cvm, 1), (cdb, 1), (lb, 0)):
        expect(page.locator(f"#alarm-row-{alarm.pk}")).to_have_count(count)
    # Repeated parameters (a shared link) survive the next submit of the form.
    page.goto(f"{live_server.url}/?namespace=qce/cvm&namespace=qce/cdb")
    page.click("#alarm-filters button[type=submit]")
    expect(page.locator(f"#alarm-row-{cdb.pk}")).to_have_count(1)
    expect(page.locator(f"#alarm-row-{cvm.pk}")).to_have_count(1)
    expect(page.locator(f"#alarm-row-{lb.pk}")).to_have_count(0)


def test_time_filter_typed_in_beijing_time_finds_the_alarm(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    alarm = apply_alarm(source, policy_name="Disk full", first_occurred_at=BEIJING_1552)
    later = apply_alarm(source, first_occurred_at=BEIJING_1552 + timedelta(minutes=40))
    page = logged_in(browser, live_server, operator, zone="Asia/Shanghai")
    open_filters(page)
    page.fill("#id_first_occurred_after", "2026-12-03 15:00")
    page.fill("#id_first_occurred_before", "2026-12-03 16:00")
    page.click("#alarm-filters button[type=submit]")
    row = page.locator(f"#alarm-row-{alarm.pk}")
    expect(row).to_contain_text("2026-12-03 15:52 CST")
    expect(page.locator(f"#alarm-row-{later.pk}")).to_have_count(0)


def test_an_earlier_episode_opens_from_the_alarm_page(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    episodes: list[Alarm] = []
    for hours in (0, 2):
        for status in ("firing", "recovered"):
            result = apply_notification(
                endpoint=source,
                notification=notification(
                    status=status,
                    first_occurred_at=BEIJING_1552 + timedelta(hours=hours),
                    duration_seconds=600 if status == "recovered" else 0,
                    instance_id="ins-flap",
                    dimensions={"unInstanceId": "ins-flap"},
                ),
            )
        episodes.append(result.alarm)
    earlier, latest = episodes
    page = logged_in(browser, live_server, operator)
    page.goto(f"{live_server.url}/alarms/{latest.pk}/")
    page.locator("ol.episodes").get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/alarms/{earlier.pk}/")
    expect(page.locator("ol.episodes li[aria-current]")).to_contain_text("this one")
    expect(page.locator("ol.episodes")).to_contain_text("later")


def test_live_refresh_picks_up_a_new_alarm_without_a_reload_and_keeps_typed_filters(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    apply_alarm(source)
    page = logged_in(browser, live_server, operator)
    page.evaluate("window.__same_document = true")
    open_filters(page)
    page.fill("#id_q", "typed, not submitted")  # focus in the filters: the refresh still runs
    arrived = apply_alarm(source, policy_name="Arrived later")
    # dashboard.js refreshes every 10 s while the tab is visible (no shorter interval exists).
    expect(page.locator(f"#alarm-row-{arrived.pk}")).to_have_count(1, timeout=13_000)
    assert page.evaluate("window.__same_document") is True
    assert page.input_value("#id_q") == "typed, not submitted"


def test_board_in_chinese(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    apply_alarm(
        source,
        policy_name="机器重启",
        instance_name="数据库-7",
        dimensions={"unInstanceId": "ins-zh", "objDetail": {"deviceLanIp": "10.0.0.7"}},
        instance_id="ins-zh",
    )
    page = logged_in(
        browser,
        live_server,
        operator,
        zone="Asia/Shanghai",
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-hans"},
    )
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#alarm-table thead")).to_contain_text("状态")
    expect(page.locator("#alarm-table tbody")).to_contain_text("10.0.0.7")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "console-board-zh-hans.png"), full_page=True)

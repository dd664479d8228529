"""The console in Chromium: the browser sets the zone, acknowledging swaps the row in place, the
board fits 1440 px and 390 px. Debian's /usr/bin/chromium only; screenshots in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User

from alarms.models import Alarm
from alarms.permissions import OPERATOR
from tests.support.browser import ARTIFACTS, PASSWORD, chromium
from tests.support.factories import apply_alarm, make_endpoint

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(live_server: Any) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def logged_in_page(browser: Any, live_server: Any, user: User, **context: Any) -> Any:
    page = browser.new_context(locale="en-US", **context).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    return page


def operator_with_alarm() -> tuple[User, Alarm]:
    from tests.support.accounts import console_user

    user = console_user("otto", OPERATOR)
    user.set_password(PASSWORD)
    user.save()
    endpoint = make_endpoint(name="browser").endpoint
    alarm = apply_alarm(
        endpoint,
        policy_name="Disk full",
        instance_name="db-7",
        first_occurred_at=datetime(2026, 12, 3, 7, 52, 15, tzinfo=UTC),
    )
    return user, alarm


def test_beijing_browser_sees_beijing_time_and_acknowledges_in_place(
    browser: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    user, alarm = operator_with_alarm()
    page = logged_in_page(
        browser,
        live_server,
        user,
        timezone_id="Asia/Shanghai",
        viewport={"width": 1440, "height": 900},
    )
    row = page.locator(f"#alarm-row-{alarm.pk}")
    expect(row).to_contain_text("2026-12-03 15:52 CST")  # timezone.js set the cookie, reloaded
    page.evaluate("window.__same_document = true")
    row.get_by_role("button", name="Acknowledge").click()
    expect(row.get_by_role("button", name="Unacknowledge")).to_be_visible()
    expect(page.locator("#console-messages")).to_contain_text("Acknowledged: Disk full · db-7.")
    assert page.evaluate("window.__same_document") is True  # no reload
    no_sideways = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_sideways)
    page.screenshot(path=str(ARTIFACTS / "console-board-1440.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate(no_sideways)
    page.screenshot(path=str(ARTIFACTS / "console-board-390.png"), full_page=True)


def test_note_is_added_on_the_alarm_page_without_a_reload(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    user, alarm = operator_with_alarm()
    page = logged_in_page(browser, live_server, user, timezone_id="UTC")
    page.goto(f"{live_server.url}/alarms/{alarm.pk}/")
    page.evaluate("window.__same_document = true")
    page.fill("#note-text", "Restarted the agent.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes .notes")).to_contain_text("Restarted the agent.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#note-errors")).to_contain_text("A note cannot be empty.")
    page.locator("#alarm-actions").get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#alarm-actions")).to_contain_text("Acknowledged by otto")
    assert page.evaluate("window.__same_document") is True
    page.screenshot(path=str(ARTIFACTS / "console-alarm-page.png"), full_page=True)

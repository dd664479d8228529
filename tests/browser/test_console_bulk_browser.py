"""The board in Chromium: bulk acknowledge with a note without a reload, keyboard shortcuts,
a live refresh that keeps a selection, dark mode, and a login header that is not clipped.
Debian's /usr/bin/chromium only; screenshots in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from alarms.models import Alarm, CallbackEndpoint, Note
from alarms.permissions import OPERATOR
from tests.support.accounts import console_user
from tests.support.browser import ARTIFACTS, PASSWORD, chromium
from tests.support.factories import apply_alarm, make_endpoint

pytestmark = pytest.mark.browser


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


def logged_in(browser: Any, live_server: Any, user: User, **context: Any) -> Any:
    context.setdefault("viewport", {"width": 1440, "height": 900})
    page = browser.new_context(locale="en-US", timezone_id="UTC", **context).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#alarm-table")
    page.evaluate("window.__same_document = true")
    return page


def test_bulk_acknowledge_with_a_note_without_a_reload(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    one, two, other = (apply_alarm(source) for _ in range(3))
    page = logged_in(browser, live_server, operator)
    page.check(f"#alarm-row-{one.pk} input.row-select")
    page.check(f"#alarm-row-{two.pk} input.row-select")
    expect(page.locator("#bulk-form .bulk-count")).to_have_text("2 selected")
    page.fill("#bulk-form .bulk-note", "failover in progress")
    page.click("#bulk-form button[value=acknowledge]")
    expect(page.locator("#console-messages")).to_contain_text("2 alarms acknowledged.")
    for alarm in (one, two):
        expect(page.locator(f"#alarm-row-{alarm.pk}").get_by_role("button", name="Unacknowledge"))
    expect(page.locator(f"#alarm-row-{other.pk}").get_by_role("button", name="Acknowledge"))
    assert page.evaluate("window.__same_document") is True
    assert page.input_value("#bulk-form .bulk-note") == ""
    assert set(Note.objects.values_list("alarm_id", flat=True)) == {one.pk, two.pk}
    page.screenshot(path=str(ARTIFACTS / "console-bulk-acknowledged.png"), full_page=True)


def test_keyboard_moves_acknowledges_searches_and_helps(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    apply_alarm(source)
    older = apply_alarm(source)  # newest first: the second row
    newest = apply_alarm(source)
    page = logged_in(browser, live_server, operator)
    page.keyboard.press("j")
    expect(page.locator("tr.is-current")).to_have_attribute("data-alarm-id", str(newest.pk))
    page.keyboard.press("j")
    expect(page.locator("tr.is-current")).to_have_attribute("data-alarm-id", str(older.pk))
    page.keyboard.press("a")
    expect(
        page.locator(f"#alarm-row-{older.pk}").get_by_role("button", name="Unacknowledge")
    ).to_be_visible()
    expect(page.locator("tr.is-current")).to_have_attribute("data-alarm-id", str(older.pk))
    assert Alarm.objects.get(pk=older.pk).acknowledged_at is not None
    assert Alarm.objects.get(pk=newest.pk).acknowledged_at is None
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#keys-help")).to_be_hidden()
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    assert page.evaluate("window.__same_document") is True


def test_live_refresh_waits_while_rows_are_selected(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    from playwright.sync_api import expect

    first = apply_alarm(source)
    page = logged_in(browser, live_server, operator)
    page.check(f"#alarm-row-{first.pk} input.row-select")
    arrived = apply_alarm(source)
    page.wait_for_timeout(11_500)  # longer than one refresh period
    expect(page.locator(f"#alarm-row-{arrived.pk}")).to_have_count(0)
    expect(page.locator(f"#alarm-row-{first.pk} input.row-select")).to_be_checked()
    page.uncheck(f"#alarm-row-{first.pk} input.row-select")
    page.locator("body").click(position={"x": 5, "y": 5})  # focus out of the table
    expect(page.locator(f"#alarm-row-{arrived.pk}")).to_have_count(1, timeout=15_000)


def test_dark_mode_follows_the_system(
    browser: Any, live_server: Any, operator: User, source: CallbackEndpoint
) -> None:
    apply_alarm(source)
    page = logged_in(browser, live_server, operator, color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 23, 28)"
    page.screenshot(path=str(ARTIFACTS / "console-board-dark.png"), full_page=True)


@pytest.mark.parametrize("width", [1440, 390])
@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
def test_login_header_is_not_clipped(
    browser: Any, live_server: Any, db: None, width: int, language: str
) -> None:
    page = browser.new_context(locale=language, viewport={"width": width, "height": 800}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    inside = page.evaluate(
        """() => {
        const box = document.querySelector('#container').getBoundingClientRect();
        return [...document.querySelectorAll('#branding *')].every((el) => {
            const r = el.getBoundingClientRect();
            return r.width === 0 || (r.left >= box.left - 0.5 && r.right <= box.right + 0.5);
        });
    }"""
    )
    assert inside
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / f"login-{language}-{width}.png"))

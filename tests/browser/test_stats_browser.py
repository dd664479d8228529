"""The statistics page in Chromium: the server-rendered SVG chart draws, with its tooltips, for a
Viewer who is not staff. Debian's /usr/bin/chromium only; a screenshot in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alarms.permissions import VIEWER
from tests.support.accounts import console_user
from tests.support.browser import ARTIFACTS, PASSWORD, chromium
from tests.support.factories import apply_alarm, make_endpoint

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(live_server: Any) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_stats_page_draws_the_chart_for_a_viewer(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    user = console_user("vera", VIEWER)
    user.set_password(PASSWORD)
    user.save()
    endpoint = make_endpoint(name="browser-stats").endpoint
    now = timezone.now()
    for hours in (2, 3, 3, 30, 50):
        apply_alarm(endpoint, first_occurred_at=now - timedelta(hours=hours))
    apply_alarm(endpoint, status="recovered", first_occurred_at=now - timedelta(hours=3))

    context = browser.new_context(
        locale="en-US", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 1000}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/?next=/stats/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    chart = page.locator("svg.stats-chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 100
    bars = page.locator("svg.stats-chart rect.bar-triggered")
    assert bars.count() >= 2
    bar_box = bars.first.bounding_box()
    assert bar_box is not None and bar_box["height"] > 0  # drawn, not collapsed
    assert "triggered" in (bars.first.locator("title").text_content() or "")
    expect(page.locator('[data-stat="alarms"]')).to_have_text("6")
    # The 24 h preset redraws hourly, labelled in the browser's zone (set by timezone.js).
    page.check('input[name="window"][value="24h"]')
    page.click("#stats-filters button[type=submit]")
    expect(page.locator('[data-stat="alarms"]')).to_have_text("4")
    expect(page.locator("#chart-desc")).to_contain_text("per hour, times in Asia/Shanghai")
    page.screenshot(path=str(ARTIFACTS / "stats-1440.png"), full_page=True)
    context.close()

"""The pipeline warning where people look: the console's frame and the admin index, CSP-clean."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from alarms.choices import DeliveryStatus
from alarms.models import Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import make_delivery
from tests.web.test_security_headers import inline_problems

WARNING = "callback waiting for over"


@pytest.fixture
def stalled(endpoint: NewEndpoint) -> None:
    """A callback received an hour ago that no worker has finished."""
    row = make_delivery(endpoint.endpoint)
    Delivery.objects.filter(pk=row.pk).update(
        status=DeliveryStatus.PENDING, received_at=timezone.now() - timedelta(hours=1)
    )


def warning_of(page: str) -> str:
    start = page.index('class="alarmhub-pipeline-warning"')
    return page[start : page.index("</div>", start)]


def test_console_pages_warn_of_stalled_callbacks_without_inline_styles(
    stalled: None, viewer: User
) -> None:
    client = client_for(viewer)
    for url in ("/", "/stats/", "/views/"):
        page = client.get(url).content.decode()
        warning = warning_of(page)
        assert WARNING in warning, url
        assert 'role="alert"' in page
        assert "<a " not in warning  # not staff: no link into the admin
        assert inline_problems(page) == [], url


def test_console_shows_no_warning_when_the_pipeline_keeps_up(
    endpoint: NewEndpoint, viewer: User
) -> None:
    make_delivery(endpoint.endpoint)  # received just now: a worker may be on it
    assert "alarmhub-pipeline-warning" not in client_for(viewer).get("/").content.decode()


def test_admin_index_warns_and_links_staff_to_the_waiting_callbacks(
    stalled: None, operator_user: Any
) -> None:
    page = client_for(operator_user).get("/admin/").content.decode()
    warning = warning_of(page)
    assert WARNING in warning
    assert '<a href="/admin/alarms/delivery/?status__exact=pending">' in warning
    # Inside the content block, above the "at a glance" table.
    assert page.index("alarmhub-pipeline-warning") < page.index('id="alarmhub-at-a-glance"')
    assert "style=" not in warning

"""The alarm page shows an Alertmanager alert's annotations and rule link, escaped."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from alarms.services.endpoints import create_callback_endpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm

pytestmark = pytest.mark.django_db


def _page(viewer: User, **extras: object) -> str:
    endpoint = create_callback_endpoint(name="prom", source="alertmanager").endpoint
    alarm = apply_alarm(endpoint, source="alertmanager", extras=extras)
    response = client_for(viewer).get(f"/alarms/{alarm.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_annotations_and_generator_url_are_shown_with_links(viewer: User) -> None:
    page = _page(
        viewer,
        generator_url="http://prometheus.example.com:9090/graph?g0.expr=up&g0.tab=1",
        annotations={
            "summary": "Host down",
            "description": "No scrape for 5 minutes",
            "runbook_url": "https://runbooks.example.com/host-down",
        },
    )

    assert "Alert details" in page
    assert "Host down" in page
    assert "No scrape for 5 minutes" in page
    assert '<a href="https://runbooks.example.com/host-down"' in page
    assert '<a href="http://prometheus.example.com:9090/graph?g0.expr=up&amp;g0.tab=1"' in page
    assert "(alertmanager)" in page


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>", " http://x"]
)
def test_a_url_that_is_not_http_is_shown_as_text_only(viewer: User, url: str) -> None:
    page = _page(viewer, generator_url=url, annotations={"runbook_url": url})

    assert f'href="{url}' not in page
    assert "<code>" in page


def test_annotation_markup_is_escaped(viewer: User) -> None:
    page = _page(
        viewer, annotations={"summary": "<script>alert(1)</script>", "description": "<b>x</b>"}
    )

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_an_alarm_without_them_has_no_alert_details(viewer: User) -> None:
    endpoint = create_callback_endpoint(name="tencent").endpoint
    alarm = apply_alarm(endpoint)

    page = client_for(viewer).get(f"/alarms/{alarm.pk}/").content.decode()

    assert "Alert details" not in page

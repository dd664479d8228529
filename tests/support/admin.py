"""Small helpers shared by the admin tests."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

ALARMS = reverse("admin:alarms_alarm_changelist")
DELIVERIES = reverse("admin:alarms_delivery_changelist")
ENDPOINTS = reverse("admin:alarms_callbackendpoint_changelist")


def alarm_url(alarm: Any, action: str = "change") -> str:
    return reverse(f"admin:alarms_alarm_{action}", args=[alarm.pk])


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def listed_ids(response: Any) -> list[int]:
    """Primary keys of the rows on a changelist page, in order."""
    assert response.status_code == 200, response.status_code
    return [obj.pk for obj in response.context["cl"].result_list]


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


def captured_sql(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return [query["sql"] for query in ctx.captured_queries]

"""The admin index "at a glance": firing alarms per namespace, linking to the filtered list."""

from __future__ import annotations

from typing import Any

from django.test import Client

from alarms.models import CallbackEndpoint
from tests.support.admin import listed_ids
from tests.support.factories import apply_alarm


def test_index_shows_firing_alarms_per_namespace_with_filtered_links(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    cvm = [apply_alarm(admin_endpoint, namespace="qce/cvm") for _ in range(2)]
    apply_alarm(admin_endpoint, namespace="qce/cdb")
    apply_alarm(admin_endpoint, namespace="qce/cvm", status="recovered", duration_seconds=60)

    response = viewer_client.get("/admin/")
    html = response.content.decode()

    glance = html[html.index('id="alarmhub-at-a-glance"') :]
    link = "/admin/alarms/alarm/?namespace=qce%2Fcvm&amp;status=firing"
    assert f'<a href="{link}">2</a>' in glance
    assert '<a href="/admin/alarms/alarm/?namespace=qce%2Fcdb&amp;status=firing">1</a>' in glance
    assert "Total" in glance
    followed = viewer_client.get(link.replace("&amp;", "&"))
    assert sorted(listed_ids(followed)) == sorted(a.pk for a in cvm)


def test_index_says_when_nothing_is_firing(viewer_client: Client, db: None) -> None:
    assert "No alarm is firing." in viewer_client.get("/admin/").content.decode()


def test_app_index_keeps_the_plain_model_list(viewer_client: Client, db: None) -> None:
    assert "alarmhub-at-a-glance" not in viewer_client.get("/admin/alarms/").content.decode()


def test_index_costs_the_same_queries_for_one_or_many_namespaces(
    viewer_client: Client, admin_endpoint: CallbackEndpoint, django_assert_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    apply_alarm(admin_endpoint, namespace="qce/cvm")
    with CaptureQueriesContext(connection) as one:
        viewer_client.get("/admin/")
    for i in range(10):
        apply_alarm(admin_endpoint, namespace=f"qce/product{i}")

    with django_assert_num_queries(len(one.captured_queries)):
        viewer_client.get("/admin/")

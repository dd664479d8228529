"""Pinned query counts: a list page and a detail cost the same however many rows they show.

Token authentication as a Viewer costs 3 queries before the view runs: the token (joined to its
user), then the user's own permissions and their groups' permissions (``has_perm``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from alarms import permissions
from alarms.models import Alarm
from alarms.services.operator import acknowledge_alarm, add_note
from tests.web.api.conftest import Account, at, make_account

AUTH_QUERIES = 3
LIST_QUERIES = AUTH_QUERIES + 1  # one SELECT joins policy, instance, acknowledger, endpoint
DETAIL_QUERIES = AUTH_QUERIES + 3  # alarm, events (+ actors), notes (+ authors)


def _count(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


def _alarms(
    alarm_factory: Callable[..., Alarm], accounts: dict[str, Account], n: int
) -> list[Alarm]:
    """`n` alarms, every other one acknowledged by a user (so the join is exercised)."""
    built = [alarm_factory(instance_id=f"ins-{i}", first_occurred_at=at(1, 0, i)) for i in range(n)]
    for alarm in built[::2]:
        acknowledge_alarm(alarm=alarm, actor=accounts["operator"].user)
    return built


@pytest.mark.parametrize("n", [5, 50])
def test_alarm_list_query_count_is_flat(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm], n: int
) -> None:
    _alarms(alarm_factory, accounts, n)

    assert _count(accounts["viewer"].client(), "/api/v1/alarms/?page_size=50") == LIST_QUERIES


def test_filtered_alarm_list_costs_no_extra_query(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm]
) -> None:
    _alarms(alarm_factory, accounts, 5)
    url = "/api/v1/alarms/?namespace=qce/cvm&status=firing&acknowledged=true&q=cpu"

    assert _count(accounts["viewer"].client(), url) == LIST_QUERIES


@pytest.mark.parametrize("notes", [1, 20])
def test_alarm_detail_query_count_is_flat(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm], notes: int
) -> None:
    alarm = alarm_factory()
    operator = accounts["operator"].user
    acknowledge_alarm(alarm=alarm, actor=operator)
    for i in range(notes):
        add_note(alarm=alarm, author=operator, text=f"note {i}")

    url = f"/api/v1/alarms/{alarm.pk}/"
    assert _count(accounts["viewer"].client(), url) == DETAIL_QUERIES


@pytest.mark.parametrize("n", [5, 50])
def test_catalogue_lists_query_count_is_flat(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm], n: int
) -> None:
    for i in range(n):
        alarm_factory(instance_id=f"ins-{i}", policy_id=f"policy-{i}")
    viewer = accounts["viewer"].client()

    assert _count(viewer, "/api/v1/policies/?page_size=50") == LIST_QUERIES
    assert _count(viewer, "/api/v1/instances/?page_size=50") == LIST_QUERIES
    assert _count(viewer, "/api/v1/endpoints/") == LIST_QUERIES
    # Staff with view_delivery: the same token and permission queries as a Viewer.
    staff = make_account("staff-viewer", groups=(permissions.VIEWER,), staff=True).client()
    assert _count(staff, "/api/v1/deliveries/") == LIST_QUERIES

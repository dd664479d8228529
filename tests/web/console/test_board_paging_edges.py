"""Keyset positions from the query string are user input: one the database cannot hold is
ignored, never a 500 (issue 14, finding 9)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


@pytest.mark.parametrize(
    "query",
    [
        # 9999-12-31 at UTC-14 is year 10000 in UTC: the SQLite adapter overflowed (500).
        "before=9999-12-31T23:59:59-14:00&before_id=1",
        "after=9999-12-31T23:59:59-14:00&after_id=1",
        # 0001-01-01 at UTC+14 is year 0 in UTC.
        "before=0001-01-01T00:00:00%2B14:00&before_id=1",
        # Larger than a 64-bit integer column.
        "before=2024-05-01T10:00:00%2B00:00&before_id=99999999999999999999",
        "after=2024-05-01T10:00:00%2B00:00&after_id=99999999999999999999",
        "before=2024-05-01T10:00:00%2B00:00&before_id=%00",
        # Well formed but not a date: parse_datetime raises instead of returning None.
        "before=2024-13-01T10:00:00%2B00:00&before_id=1",
    ],
)
def test_board_ignores_a_position_the_database_cannot_hold(
    endpoint: NewEndpoint, viewer: User, query: str
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    for partial in (False, True):
        headers: dict[str, Any] = {"HTTP_HX_REQUEST": "true"} if partial else {}
        response = client_for(viewer).get(f"/?{query}", **headers)
        assert response.status_code == 200, (partial, response.status_code)
        # Ignored means the first page: the newest alarm is on it.
        assert f"/alarms/{alarm.pk}/" in response.content.decode()


def test_board_still_pages_from_a_position_at_the_edge_of_the_range(
    endpoint: NewEndpoint, viewer: User
) -> None:
    # The latest instant that fits, in UTC: a valid position, older than every alarm.
    alarm = apply_alarm(endpoint.endpoint)
    response = client_for(viewer).get(
        "/?before=9999-12-31T23:59:59%2B00:00&before_id=9223372036854775807"
    )
    assert response.status_code == 200
    assert f"/alarms/{alarm.pk}/" in response.content.decode()

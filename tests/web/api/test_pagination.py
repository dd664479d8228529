"""Cursor pagination: stable while alarms keep arriving, walkable both ways, bounded page size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from alarms.api.pagination import KeysetCursorPagination
from alarms.models import Alarm
from tests.web.api.conftest import at


def _walk(client: APIClient, url: str, *, between_pages: Callable[[int], None]) -> list[int]:
    """Follow `next` links to the end, calling `between_pages(page_number)` after each page."""
    seen: list[int] = []
    page = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [row["id"] for row in body["results"]]
        page += 1
        between_pages(page)
        url = body["next"]
    return seen


@pytest.fixture
def original(alarm_factory: Callable[..., Alarm]) -> list[Alarm]:
    """12 alarms in 4 groups that share a first occurrence time (Tencent stamps to the second)."""
    return [
        alarm_factory(instance_id=f"orig-{day}-{n}", first_occurred_at=at(day, 10))
        for day in (1, 2, 3, 4)
        for n in range(3)
    ]


def test_pages_have_no_duplicates_or_gaps_while_new_alarms_arrive(
    viewer: APIClient, original: list[Alarm], alarm_factory: Callable[..., Alarm]
) -> None:
    def arrive(page: int) -> None:
        # Newer alarms, and alarms tied with existing ones (same second, higher id).
        alarm_factory(instance_id=f"newer-{page}", first_occurred_at=at(20, page))
        for day in (1, 2, 3, 4):
            alarm_factory(instance_id=f"tie-{page}-{day}", first_occurred_at=at(day, 10))

    seen = _walk(viewer, "/api/v1/alarms/?page_size=5", between_pages=arrive)

    original_ids = {alarm.pk for alarm in original}
    from_original = [pk for pk in seen if pk in original_ids]
    assert len(from_original) == len(set(from_original)), "an alarm was listed twice"
    assert set(from_original) == original_ids, "an alarm was skipped"
    assert len(seen) == len(set(seen))
    expected_order = sorted(original, key=lambda a: (a.first_occurred_at, a.pk), reverse=True)
    assert from_original == [alarm.pk for alarm in expected_order]


def test_previous_links_walk_back_over_the_same_pages(
    viewer: APIClient, original: list[Alarm]
) -> None:
    pages: list[list[int]] = []
    url = "/api/v1/alarms/?page_size=5"
    body: dict[str, Any] = {}
    while url:
        body = viewer.get(url).json()
        pages.append([row["id"] for row in body["results"]])
        url = body["next"]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert body["previous"] is not None

    back: list[list[int]] = []
    url = body["previous"]
    while url:
        body = viewer.get(url).json()
        back.append([row["id"] for row in body["results"]])
        url = body["previous"]

    assert back == pages[-2::-1]
    assert body["next"] is not None  # from the first page, forward again


def test_first_page_has_no_previous_and_last_page_no_next(
    viewer: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    for n in range(3):
        alarm_factory(instance_id=f"ins-{n}", first_occurred_at=at(1 + n))

    body = viewer.get("/api/v1/alarms/?page_size=3").json()

    assert (body["next"], body["previous"]) == (None, None)
    assert len(body["results"]) == 3


def test_filters_are_kept_in_page_links(
    viewer: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    for n in range(4):
        alarm_factory(instance_id=f"ins-{n}", first_occurred_at=at(1 + n), region="gz")
    alarm_factory(instance_id="elsewhere", region="sh")

    first = viewer.get("/api/v1/alarms/", {"region": "gz", "page_size": "2"}).json()
    second = viewer.get(first["next"]).json()

    assert "region=gz" in first["next"]
    assert len(first["results"]) == len(second["results"]) == 2
    assert second["next"] is None


@pytest.mark.parametrize(
    ("page_size", "expected"),
    [("2", 2), ("0", 50), ("-3", 50), ("abc", 50), ("100000", 500)],
)
def test_page_size_defaults_to_50_and_is_capped_at_500(
    page_size: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    request = Request(APIRequestFactory().get("/", {"page_size": page_size}))
    assert KeysetCursorPagination().get_page_size(request) == expected


def test_default_page_is_50_alarms(viewer: APIClient, alarm_factory: Callable[..., Alarm]) -> None:
    for n in range(51):
        alarm_factory(instance_id=f"ins-{n}")

    body = viewer.get("/api/v1/alarms/").json()

    assert len(body["results"]) == 50
    assert body["next"] is not None


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "eyJyIjowfQ",  # {"r":0} without a position
        "eyJyIjowLCJwIjpbMSwyXX0",  # {"r":0,"p":[1,2]}: not a date-time
        "eyJyIjowLCJwIjpbIjIwMjQtMDMtMDFUMDA6MDA6MDBaIiwgOTk5OTk5OTk5OTk5OTk5OTk5OTk5XX0",
        "x" * 2000,
    ],
    ids=["not-base64", "no-position", "wrong-type", "id-out-of-range", "too-long"],
)
def test_tampered_cursor_is_400_naming_cursor(
    viewer: APIClient, original: list[Alarm], cursor: str
) -> None:
    response = viewer.get("/api/v1/alarms/", {"cursor": cursor})

    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]

"""The board's Export links: the current filter, re-encoded so the API applies the same one."""

from __future__ import annotations

import csv
import io
import re

from django.contrib.auth.models import User

from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


def export_links(page: str) -> list[str]:
    return [
        h.replace("&amp;", "&") for h in re.findall(r'href="(/api/v1/alarms/export/[^"]*)"', page)
    ]


def test_export_links_carry_the_board_filter_as_the_api_reads_it(
    endpoint: NewEndpoint, viewer: User
) -> None:
    for namespace in ("qce/cvm", "qce/cdb", "qce/lb"):
        apply_alarm(endpoint.endpoint, namespace=namespace)
    client = client_for(viewer, alarmhub_tz="Asia/Shanghai")
    # Commas and a zone-local time: neither is what the API would read on its own.
    board = client.get("/", {"namespace": "qce/cvm, qce/cdb", "first_occurred_after": "2000-01-01"})
    csv_link, xlsx_link = export_links(board.content.decode())
    assert "namespace=qce%2Fcvm&namespace=qce%2Fcdb" in csv_link
    # 2000-01-01 00:00 in Shanghai is 1999-12-31 16:00 UTC, with its offset.
    assert "first_occurred_after=1999-12-31T16%3A00%3A00%2B00%3A00" in csv_link
    assert csv_link.endswith("&format=csv") and xlsx_link.endswith("&format=xlsx")

    exported = client.get(csv_link)
    assert exported.status_code == 200
    body = b"".join(exported.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["namespace"] for r in rows) == ["qce/cdb", "qce/cvm"]
    assert len(rows) == board.context["matching_count"]


def test_without_a_filter_the_export_is_everything(endpoint: NewEndpoint, viewer: User) -> None:
    page = client_for(viewer).get("/?all=1").content.decode()
    assert export_links(page) == [
        "/api/v1/alarms/export/?format=csv",
        "/api/v1/alarms/export/?format=xlsx",
    ]

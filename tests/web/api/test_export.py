"""`GET /api/v1/alarms/export/` (DESIGN §6 "Export"): CSV with BOM and XLSX of the filtered list."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from rest_framework.test import APIClient

from alarms.api import export
from alarms.api.export import _PATHS, CONTRACT_FIELDS, EXPORT_FIELDS, cell_text
from alarms.models import Alarm
from alarms.services.endpoints import create_callback_endpoint
from alarms.services.operator import acknowledge_alarm
from tests.web.api.conftest import ROLES, Account, at, metric_alarm

URL = "/api/v1/alarms/export/"
LIST_URL = "/api/v1/alarms/"
AUTH_QUERIES = 3
EXPORT_QUERIES = AUTH_QUERIES + 2  # the "cut?" look-up, then the rows (joins, one cursor)


def _body(response: Any) -> bytes:
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response.streaming
    return b"".join(response.streaming_content)


def _csv(response: Any) -> list[dict[str, str]]:
    body = _body(response)
    assert body.startswith(b"\xef\xbb\xbf")
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    header, *rows = list(reader)
    assert tuple(header) == EXPORT_FIELDS
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def alarms(alarm_factory: Callable[..., Alarm], accounts: dict[str, Account]) -> list[Alarm]:
    built = [
        alarm_factory(
            instance_id="ins-web",
            instance_name="网站-1",
            policy_id="policy-zh",
            policy_name="CPU 使用率过高",
            first_occurred_at=at(1, 2),
        ),
        alarm_factory(instance_id="ins-db", namespace="qce/cdb", first_occurred_at=at(2)),
        alarm_factory(
            instance_id="ins-db2",
            namespace="qce/cdb",
            status="recovered",
            duration_seconds=600,
            first_occurred_at=at(3),
        ),
        alarm_factory(instance_id="ins-old", first_occurred_at=at(1)),
    ]
    acknowledge_alarm(alarm=built[0], actor=accounts["operator"].user)
    return built


def _list_ids(client: APIClient, query: str) -> list[int]:
    response = client.get(f"{LIST_URL}?page_size=100&{query}")
    assert response.status_code == 200
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    "query", ["", "namespace=qce/cdb", "status=firing", "acknowledged=true", "q=网站"]
)
def test_export_rows_are_the_list_rows_for_the_same_filter(
    alarms: list[Alarm], viewer: APIClient, query: str
) -> None:
    rows = _csv(viewer.get(f"{URL}?format=csv&{query}"))

    assert [int(row["id"]) for row in rows] == _list_ids(viewer, query)  # newest first


def test_csv_header_starts_with_the_contract_fields(alarms: list[Alarm], viewer: APIClient) -> None:
    response = viewer.get(f"{URL}?format=csv")
    header = _body(response).decode("utf-8-sig").splitlines()[0].split(",")

    assert header[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)
    assert "first_acknowledged_at" in header


def test_csv_has_a_bom_and_chinese_round_trips(alarms: list[Alarm], viewer: APIClient) -> None:
    rows = {row["instance_id"]: row for row in _csv(viewer.get(URL))}  # csv is the default

    web = rows["ins-web"]
    assert web["instance_name"] == "网站-1"
    assert web["policy_name"] == "CPU 使用率过高"
    assert json.loads(web["dimensions"]) == {"unInstanceId": "ins-web"}
    assert web["first_occurred_at"] == "2024-03-01T02:00:00Z"
    assert (web["acknowledged"], web["acknowledged_by"]) == ("true", "operator")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", web["acknowledged_at"])
    recovered = rows["ins-db2"]
    assert (recovered["status"], recovered["recovered_at"]) == ("recovered", "2024-03-03T00:10:00Z")
    assert (rows["ins-db"]["recovered_at"], rows["ins-db"]["acknowledged"]) == ("", "false")


def test_csv_response_is_a_dated_attachment(alarms: list[Alarm], viewer: APIClient) -> None:
    response = viewer.get(URL)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="alarms-\d{8}-\d{6}Z\.csv"', response["Content-Disposition"]
    )
    assert response["X-AlarmHub-Export-Truncated"] == "false"
    assert "X-AlarmHub-Export-Rows" not in response


def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted(
    alarm_factory: Callable[..., Alarm], viewer: APIClient
) -> None:
    alarm_factory(policy_name='=HYPERLINK("http://evil","x")', current_value="-5")

    (row,) = _csv(viewer.get(URL))
    assert row["policy_name"] == '\'=HYPERLINK("http://evil","x")'
    assert row["current_value"] == "-5"  # numbers stay numbers


def test_xlsx_opens_with_the_header_and_the_rows(alarms: list[Alarm], viewer: APIClient) -> None:
    response = viewer.get(f"{URL}?format=xlsx&namespace=qce/cvm")

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(_body(response)), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header == EXPORT_FIELDS
    by_field = [dict(zip(header, row, strict=True)) for row in rows]
    assert [int(row["id"]) for row in by_field] == _list_ids(viewer, "namespace=qce/cvm")
    assert by_field[0]["instance_name"] == "网站-1"


def test_export_is_cut_at_the_row_limit_and_says_so(
    alarms: list[Alarm], viewer: APIClient, settings: Any
) -> None:
    settings.ALARMHUB_EXPORT_MAX_ROWS = 2
    for fmt in ("csv", "xlsx"):
        response = viewer.get(f"{URL}?format={fmt}")
        assert response["X-AlarmHub-Export-Truncated"] == "true"
        assert response["X-AlarmHub-Export-Rows"] == "2"
        assert response["X-AlarmHub-Export-Limit"] == "2"

    rows = _csv(viewer.get(URL))
    assert [int(row["id"]) for row in rows] == _list_ids(viewer, "")[:2]


def test_export_exactly_at_the_limit_is_not_cut(
    alarms: list[Alarm], viewer: APIClient, settings: Any
) -> None:
    settings.ALARMHUB_EXPORT_MAX_ROWS = len(alarms)
    response = viewer.get(URL)

    assert response["X-AlarmHub-Export-Truncated"] == "false"
    assert len(_csv(response)) == len(alarms)


@pytest.mark.parametrize(
    "query, field",
    [
        ("format=pdf", "format"),
        ("status=bogus", "status"),
        ("first_occurred_before=soon", "first_occurred_before"),
    ],
)
def test_bad_format_or_filter_is_400(db: None, viewer: APIClient, query: str, field: str) -> None:
    response = viewer.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_that_may_view_alarms_may_export(
    accounts: dict[str, Account], role: str
) -> None:
    expected = {"anonymous": 401, "norole": 403, "staff": 403}.get(role, 200)

    assert accounts[role].client().get(URL).status_code == expected


def test_a_logged_in_viewer_may_export_with_the_session(
    accounts: dict[str, Account], alarms: list[Alarm]
) -> None:
    user = accounts["viewer"].user
    assert user is not None
    browser = Client()
    browser.force_login(user)

    assert len(_csv(browser.get(URL))) == len(alarms)


def test_export_route_is_not_read_as_an_alarm_id(alarms: list[Alarm], viewer: APIClient) -> None:
    assert viewer.get(f"{LIST_URL}{alarms[0].pk}/").status_code == 200
    assert viewer.get(URL).streaming


@pytest.mark.parametrize("n", [5, 50])
def test_export_query_count_does_not_grow_with_the_rows(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm], n: int
) -> None:
    for i in range(n):
        alarm = alarm_factory(instance_id=f"ins-{i}", first_occurred_at=at(1, 0, i))
        if i % 2:
            acknowledge_alarm(alarm=alarm, actor=accounts["operator"].user)
    client = accounts["viewer"].client()

    with CaptureQueriesContext(connection) as queries:
        rows = _csv(client.get(f"{URL}?q=cpu"))

    assert len(rows) == n
    assert len(queries) == EXPORT_QUERIES


def test_schema_documents_the_export_formats_and_filters(viewer: APIClient) -> None:
    schema = viewer.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"][URL]["get"]
    params = {p["name"]: p for p in operation["parameters"]}

    assert params["format"]["schema"]["enum"] == ["csv", "xlsx"]
    assert {"namespace", "status", "q", "first_occurred_after"} <= set(params)
    assert "text/csv" in operation["responses"]["200"]["content"]


def test_each_row_says_its_source_after_the_contract_fields(
    alarms: list[Alarm], viewer: APIClient
) -> None:
    prometheus = create_callback_endpoint(name="prom", source="alertmanager").endpoint
    am = metric_alarm(
        prometheus,
        instance_id="10.0.0.1:9100",
        source="alertmanager",
        namespace="prometheus/node",
        first_occurred_at=at(4),
    )

    rows = _csv(viewer.get(URL))

    assert EXPORT_FIELDS.index("source") > len(CONTRACT_FIELDS)  # §4's columns keep their place
    assert {row["id"]: row["source"] for row in rows} == {
        **{str(alarm.pk): "tencent" for alarm in alarms},
        str(am.pk): "alertmanager",
    }


def _reference_cells(alarm: Alarm) -> dict[str, str]:
    """Every export column of ``alarm`` by the general rules (``cell_text`` of the ORM value)."""
    paths = {name: _PATHS.get(name, name) for name in EXPORT_FIELDS if name != "acknowledged"}
    values = Alarm.objects.filter(pk=alarm.pk).values(*paths.values()).get()
    cells = {name: cell_text(values[path]) for name, path in paths.items()}
    cells["acknowledged"] = cell_text(values["acknowledged_at"] is not None)
    return cells


def test_every_cell_is_the_general_rule_for_its_value(
    alarms: list[Alarm], alarm_factory: Callable[..., Alarm], viewer: APIClient
) -> None:
    # Times in SQL, JSON as text, per-column formatters: the bytes must not change.
    edge = alarm_factory(
        instance_id="ins-edge",
        policy_name="@SUM(A1)",
        current_value="-1.5",
        first_occurred_at=at(5),
    )
    Alarm.objects.filter(pk=edge.pk).update(
        recovered_at=datetime(2024, 3, 5, 1, 0, 0, 120000, tzinfo=UTC),  # trailing zeros kept
        last_notified_at=datetime(2024, 3, 5, 4, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),
        dimensions={"zone": "广州-3", "app": ["=cmd", 2.5, None, True], "b": {"y": 1, "x": 0}},
        period_seconds=None,
        superseded=True,
    )

    by_id = {row["id"]: row for row in _csv(viewer.get(URL))}

    for alarm in [*alarms, edge]:
        assert by_id[str(alarm.pk)] == _reference_cells(alarm)
    row = by_id[str(edge.pk)]
    assert row["recovered_at"] == "2024-03-05T01:00:00.120000Z"
    assert row["last_notified_at"] == "2024-03-05T02:00:00.000001Z"
    assert row["dimensions"] == (
        '{"app": ["=cmd", 2.5, null, true], "b": {"x": 0, "y": 1}, "zone": "广州-3"}'
    )
    assert (row["policy_name"], row["current_value"]) == ("'@SUM(A1)", "-1.5")
    assert (row["period_seconds"], row["superseded"], row["flapping"]) == ("", "true", "false")


def test_json_that_is_not_an_object_follows_the_text_rules(
    alarm_factory: Callable[..., Alarm], viewer: APIClient
) -> None:
    alarm = alarm_factory()
    Alarm.objects.filter(pk=alarm.pk).update(dimensions="=1+1")

    (row,) = _csv(viewer.get(URL))
    assert row["dimensions"] == "'=1+1"


def test_dimensions_stay_right_past_the_per_export_cache(
    alarm_factory: Callable[..., Alarm], viewer: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "JSON_CACHE_SIZE", 2)
    for i in range(5):
        alarm_factory(instance_id=f"ins-{i % 3}", first_occurred_at=at(1, i))

    rows = _csv(viewer.get(URL))

    assert [json.loads(row["dimensions"]) for row in rows] == [
        {"unInstanceId": f"ins-{i % 3}"} for i in reversed(range(5))
    ]


def test_xlsx_cells_match_the_csv_cells(alarms: list[Alarm], viewer: APIClient) -> None:
    csv_rows = _csv(viewer.get(URL))
    sheet = load_workbook(io.BytesIO(_body(viewer.get(f"{URL}?format=xlsx"))), read_only=True)
    header, *rows = list(sheet.active.iter_rows(values_only=True))

    assert [{k: v or "" for k, v in zip(header, row, strict=True)} for row in rows] == csv_rows

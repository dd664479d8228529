"""``GET /api/v1/alarms/export/`` (DESIGN §6 "Export"): the filtered alarm list as CSV or XLSX.

Flat memory whatever the row count: one ``values_list`` query read through a server-side cursor
(``iterator``), written out in batches by a generator. CSV goes straight to the client; XLSX is
written by openpyxl's write-only workbook (rows spill to a temporary file) and then streamed.

At most ``ALARMHUB_EXPORT_MAX_ROWS`` rows, newest first. Headers precede the body, so whether the
export was cut is decided up front by one indexed look-up of row ``max + 1`` and said in
``X-AlarmHub-Export-Truncated: true|false`` (with ``X-AlarmHub-Export-Limit``, and
``X-AlarmHub-Export-Rows`` when cut). The body holds data rows only, so a spreadsheet opens clean.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    JSONField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Func
from django.db.models.functions import Cast
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from ..filters.filtersets import AlarmFilterSet
from ..models import Alarm
from ..permissions import VIEW_ALARM
from ..selectors.alarms import alarm_list_queryset
from .permissions import HasActionPermissions
from .serializers import CONTRACT_FIELDS
from .views import AUTHENTICATION_CLASSES, ERROR_RESPONSES

EXTRA_FIELDS: tuple[str, ...] = (
    "first_acknowledged_at",
    "period_seconds",
    "duration_seconds",
    "trigger_seen",
    "superseded",
    "flapping",
    "endpoint_name",
    "source",  # tencent or alertmanager: both sources export alike (DESIGN §6 "Sources")
)
EXPORT_FIELDS = CONTRACT_FIELDS + EXTRA_FIELDS

# Column → ORM path read by values_list (one query; the joins replace select_related).
_PATHS = {
    "policy_id": "policy__policy_id",
    "policy_name": "policy__name",
    "policy_type": "policy__policy_type",
    "instance_id": "instance__instance_id",
    "instance_name": "instance__name",
    "acknowledged_by": f"acknowledged_by__{get_user_model().USERNAME_FIELD}",
    "endpoint_name": "endpoint__name",
    "source": "endpoint__source",
}
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Rows per write and per cursor fetch. Bigger did not go faster, only bigger: 2,000-row writes
# and 5,000-row fetches doubled the worker's RSS growth (bench: +47 MiB against a 50 MiB cap).
BATCH_ROWS = 500
CHUNK_SIZE = 2000
# Distinct ``dimensions`` texts remembered per export (instances repeat): bounded memory.
JSON_CACHE_SIZE = 10_000
XLSX_MAX_DATA_ROWS = 1_048_575  # Excel's sheet limit minus the header row
FILE_CHUNK_BYTES = 64 * 1024
# Text that a spreadsheet would run as a formula ("CSV injection"): prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell_text(value: Any) -> str:
    """One value as export text: times ISO 8601 UTC, JSON as JSON, booleans true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _datetime_cell(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is UTC:  # what both backends return with USE_TZ: skip astimezone
        return value.isoformat()[:-6] + "Z"
    return cell_text(value)


def _json_cell() -> Callable[[str | None], str]:
    """JSON read as text (no decode in the ORM), formatted once per distinct text."""
    seen: dict[str, str] = {}

    def cell(raw: str | None) -> str:
        if raw is None:
            return ""
        text = seen.get(raw)
        if text is None:
            # Decoded and re-encoded, as cell_text does: the database's own JSON text differs
            # (jsonb orders keys by length, SQLite keeps \u escapes).
            text = cell_text(json.loads(raw))
            if len(seen) >= JSON_CACHE_SIZE:
                seen.clear()
            seen[raw] = text
        return text

    return cell


class IsoUtcText(Func):
    """A timestamp as ``cell_text`` writes it (``2024-03-01T02:00:00Z``, microseconds only when
    not zero), formatted by the database: decoding then re-formatting 500,000 datetimes in Python
    was a third of a 100,000-row export."""

    output_field = TextField()
    # Backends whose SQL below matches cell_text byte for byte.
    VENDORS = ("postgresql", "sqlite")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        # AT TIME ZONE 'UTC' and to_char: independent of the session's TimeZone and DateStyle.
        template = (
            "REPLACE(TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        # Django stores UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]", isoformat's shape with a space.
        template = "(REPLACE(%(expressions)s, ' ', 'T') || 'Z')"
        return self.as_sql(compiler, connection, template=template, **extra)


def _bool_text(true: Q, false: Q) -> Case:
    """true/false in SQL; NULL (an empty cell) when neither holds (a NULL boolean)."""
    return Case(
        When(true, then=Value("true")),
        When(false, then=Value("false")),
        output_field=TextField(),
    )


def _field(path: str) -> Field[Any, Any] | None:
    """The model field at the end of an ORM path such as ``policy__name``."""
    model: Any = Alarm
    found: Any = None
    for part in path.split("__"):
        if model is None:
            return None
        try:
            found = model._meta.get_field(part)
        except FieldDoesNotExist:  # an annotation, not a field
            return None
        model = found.related_model
    if found is not None and found.is_relation:
        return found.target_field
    return found


class _Plan:
    """How each column is read and finished, decided once per export by its field type (not by
    type checks on 3.7 million values): numbers, booleans and (PostgreSQL, SQLite) times become
    text in SQL; free text gets the formula guard; JSON is re-encoded once per distinct text."""

    def __init__(self, vendor: str) -> None:
        self.columns: list[str] = []
        self.annotations: dict[str, Any] = {}
        guarded: list[int] = []
        finish: list[tuple[int, Callable[[Any], str]]] = []
        for i, name in enumerate(EXPORT_FIELDS):
            path = _PATHS.get(name, name)
            field = _field(path)
            expression: Any = None
            if name == "acknowledged":
                expression = _bool_text(
                    Q(acknowledged_at__isnull=False), Q(acknowledged_at__isnull=True)
                )
            elif isinstance(field, BooleanField):
                expression = _bool_text(Q(**{path: True}), Q(**{path: False}))
            elif isinstance(field, IntegerField):  # AutoField, PositiveIntegerField too
                expression = Cast(path, TextField())  # str(int): never a formula
            elif isinstance(field, DateTimeField) and vendor in IsoUtcText.VENDORS:
                expression = IsoUtcText(path)
            elif isinstance(field, DateTimeField):
                finish.append((i, _datetime_cell))
            elif isinstance(field, JSONField):
                expression = Cast(path, TextField())  # the ORM would decode it for nothing
                finish.append((i, _json_cell()))
            elif isinstance(field, CharField | TextField):
                guarded.append(i)
            else:
                finish.append((i, cell_text))  # any other type: the general rules
            if expression is not None:
                path = f"_export_{name}"
                self.annotations[path] = expression
            self.columns.append(path)
        self.guarded = tuple(guarded)
        self.finish = tuple(finish)

    def cells(self, row: tuple[Any, ...]) -> list[str | None]:
        cells = list(row)
        for i in self.guarded:
            text = cells[i]
            if text and text.startswith(_FORMULA_START) and not _is_number(text):
                cells[i] = "'" + text
        for i, finish in self.finish:
            cells[i] = finish(cells[i])
        return cells


def export_rows(queryset: QuerySet[Alarm], limit: int) -> Iterator[list[str | None]]:
    """The rows of ``queryset`` (first ``limit``) as text, None for an empty cell (csv writes
    it as ""), through a server-side cursor."""
    plan = _Plan(connections[queryset.db].vendor)
    rows = (
        queryset.annotate(**plan.annotations)
        .values_list(*plan.columns)[:limit]
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for row in rows:
        yield plan.cells(row)


def _batched(rows: Iterable[list[str | None]]) -> Iterator[list[list[str | None]]]:
    batch: list[list[str | None]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def csv_stream(rows: Iterable[list[str | None]]) -> Iterator[str]:
    """UTF-8 with BOM (Excel then reads Chinese correctly), header, then rows in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    yield "\ufeff" + buffer.getvalue()
    for batch in _batched(rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(batch)
        yield buffer.getvalue()


def xlsx_stream(rows: Iterable[list[str | None]]) -> Iterator[bytes]:
    """A one-sheet workbook built write-only (rows spill to disk), then streamed from disk."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("alarms")
    sheet.append(list(EXPORT_FIELDS))
    for row in rows:
        cells: list[Any] = []
        for value in row:
            text = ILLEGAL_CHARACTERS_RE.sub("", value or "")
            if text.startswith("="):
                # openpyxl would store it as a formula; keep it a string.
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(text)
        sheet.append(cells)
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while chunk := file.read(FILE_CHUNK_BYTES):
            yield chunk


class IgnoreFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names the export format here, not a DRF renderer: errors are always JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type


FORMAT_PARAMETER = OpenApiParameter(
    "format",
    {"type": "string", "enum": list(FORMATS), "default": "csv"},
    OpenApiParameter.QUERY,
    description="csv (UTF-8 with BOM) or xlsx.",
)


class AlarmExportView(GenericAPIView):
    """The alarms matching the list filters, newest first, as a file: every role that may view
    alarms."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated, HasActionPermissions]
    action_permissions = {"*": [VIEW_ALARM]}
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlarmFilterSet
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatNegotiation
    pagination_class = None

    def get_queryset(self) -> QuerySet[Alarm]:
        return alarm_list_queryset()

    @extend_schema(
        operation_id="alarms_export",
        summary="Export alarms as CSV or XLSX",
        description="Every alarm matching the list filters, newest first, up to "
        "`ALARMHUB_EXPORT_MAX_ROWS` (default 100000). Header row: the alarm field names; times "
        "ISO 8601 UTC; `dimensions` as JSON. `X-AlarmHub-Export-Truncated: true` (and "
        "`X-AlarmHub-Export-Rows`) when the limit cut it.",
        filters=True,
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV file."),
            (200, CONTENT_TYPES["xlsx"]): OpenApiResponse(
                OpenApiTypes.BINARY, description="XLSX file."
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        fmt = request.query_params.get("format") or "csv"
        if fmt not in FORMATS:
            raise ValidationError({"format": [f"Choose one of: {', '.join(FORMATS)}."]})
        filterset = DjangoFilterBackend().get_filterset(request, self.get_queryset(), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        queryset = filterset.qs

        limit = settings.ALARMHUB_EXPORT_MAX_ROWS
        if fmt == "xlsx":
            limit = min(limit, XLSX_MAX_DATA_ROWS)
        # One row past the limit (an index range scan, no count): is the export cut?
        truncated = queryset.values_list("pk", flat=True)[limit : limit + 1].exists()

        rows = export_rows(queryset, limit)
        body = csv_stream(rows) if fmt == "csv" else xlsx_stream(rows)
        response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[fmt])
        stamp = timezone.now().astimezone(UTC).strftime("%Y%m%d-%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="alarms-{stamp}.{fmt}"'
        response["Cache-Control"] = "private, no-store"
        response["X-AlarmHub-Export-Truncated"] = "true" if truncated else "false"
        response["X-AlarmHub-Export-Limit"] = str(limit)
        if truncated:
            response["X-AlarmHub-Export-Rows"] = str(limit)
        return response

"""Keyset ("seek") cursor pagination for every API list.

DRF's CursorPagination keeps only the first ordering field in its cursor and steps over ties with
an offset. Tencent stamps ``firstOccurTime`` to the second, so a region-wide incident gives many
alarms the same time, and a new one arriving in that second would shift the offset: a client would
see a row twice or miss one. This cursor holds the full sort key of the boundary row (e.g.
``first_occurred_at`` *and* ``id``), so each page is "strictly after that row" and rows inserted
meanwhile never duplicate or hide others. It also costs one indexed query per page at any depth.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, _positive_int
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..selectors.paging import flip, rows_after

MAX_CURSOR_LENGTH = 1000


@dataclass(frozen=True)
class Cursor:
    reverse: bool  # True: the page *before* `position` (a "previous" link)
    position: tuple[Any, ...]


class KeysetCursorPagination(BasePagination):
    """``{"next", "previous", "results"}`` pages ordered by a unique key.

    The ordering comes from the view's ``cursor_ordering`` (or this class's ``ordering``); its
    last field must be unique (the primary key) and none may be NULL.
    """

    cursor_query_param = "cursor"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: Sequence[str] = ("-id",)

    invalid_cursor_message = "Invalid cursor: use the next/previous links as given."

    # --- paging ------------------------------------------------------------------------------

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.fields = self.get_ordering(view)
        self.model = queryset.model
        cursor = self.decode_cursor(request)
        self.cursor = cursor

        reverse = cursor is not None and cursor.reverse
        order = [flip(f) for f in self.fields] if reverse else list(self.fields)
        queryset = queryset.order_by(*order)
        if cursor is not None:
            queryset = queryset.filter(rows_after(order, cursor.position))
        # One row more than a page tells whether another page follows, without a COUNT.
        rows = list(queryset[: self.page_size + 1])
        has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
            self.has_next, self.has_previous = cursor is not None, has_more
        else:
            self.has_next, self.has_previous = has_more, cursor is not None
        self.page = rows
        return rows

    def get_page_size(self, request: Request) -> int:
        try:
            return _positive_int(
                request.query_params[self.page_size_query_param],
                strict=True,
                cutoff=self.max_page_size,
            )
        except (KeyError, ValueError):
            return self.page_size

    def get_ordering(self, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", None) or self.ordering)

    # --- links -------------------------------------------------------------------------------

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:
            # An empty "previous" page: nothing lies before the cursor, so start from the top.
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(Cursor(reverse=False, position=self._position(self.page[-1])))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(Cursor(reverse=True, position=self._position(self.page[0])))

    def _position(self, row: Model) -> tuple[Any, ...]:
        return tuple(getattr(row, f.lstrip("-")) for f in self.fields)

    def _link(self, cursor: Cursor) -> str:
        return replace_query_param(
            self.base_url, self.cursor_query_param, self.encode_cursor(cursor)
        )

    # --- cursor encoding ---------------------------------------------------------------------

    def encode_cursor(self, cursor: Cursor) -> str:
        values = [v.isoformat() if isinstance(v, datetime) else v for v in cursor.position]
        raw = json.dumps({"r": int(cursor.reverse), "p": values}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            if len(encoded) > MAX_CURSOR_LENGTH:
                raise ValueError("cursor too long")
            padded = encoded + "=" * (-len(encoded) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            if not isinstance(data, dict) or data.get("r") not in (0, 1):
                raise ValueError("bad cursor shape")
            values = data.get("p")
            if not isinstance(values, list) or len(values) != len(self.fields):
                raise ValueError("bad cursor position")
            position = tuple(
                self._to_python(field, value)
                for field, value in zip(self.fields, values, strict=True)
            )
        except (
            ValueError,
            TypeError,
            UnicodeError,
            binascii.Error,
            DjangoValidationError,
            FieldDoesNotExist,
        ) as exc:
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from exc
        return Cursor(reverse=bool(data["r"]), position=position)

    def _to_python(self, field: str, value: Any) -> Any:
        if not isinstance(value, str | int) or isinstance(value, bool) or value is None:
            raise ValueError("bad cursor value")
        model_field = self.model._meta.get_field(field.lstrip("-"))
        python = model_field.to_python(value)
        if python is None:
            raise ValueError("bad cursor value")
        # Range validators keep an out-of-range id from reaching the database (SQLite raises).
        model_field.run_validators(python)
        return python

    # --- response and schema -----------------------------------------------------------------

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        example = "https://alarmhub.example.com/api/v1/alarms/?" + urlencode(
            {self.cursor_query_param: "eyJyIjowLCJwIjpbXX0"}
        )
        link = {"type": "string", "nullable": True, "format": "uri", "example": example}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque page cursor from a `next` or `previous` link; an invalid "
                "one is answered 400.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}, at most "
                f"{self.max_page_size}; larger values are capped).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

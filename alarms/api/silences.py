"""Silences over REST (DESIGN §6): read by every role, written by Operators.

Thin: the serializers only parse and render; ``alarms.services.silences`` validates the window,
the filter and the recurrence and checks who may write.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from ..models import Silence
from ..permissions import VIEW_ALARM
from ..services.silences import create_silence, delete_silence, in_force, update_silence
from .serializers import ReadSerializer, UsernameField, UTCDateTimeField
from .views import (
    ERROR_RESPONSES,
    ID_PARAMETER,
    NOT_FOUND,
    THROTTLED,
    WRITE_THROTTLE_SCOPE,
    AlarmWriteThrottle,
    ApiViewSetMixin,
)

MAX_COMMENT_LENGTH = 2000

FILTER_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "description": "Alarm list filter names (as on GET /api/v1/alarms/) → list of values.",
}
RECURRENCE_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6}},
        "start_time": {"type": "string", "example": "22:00"},
        "end_time": {"type": "string", "example": "06:00"},
        "timezone": {"type": "string", "example": "Asia/Shanghai"},
    },
    "description": "null: the whole window; else only these weekdays (Monday=0) between the "
    "times, in the zone (a window past midnight counts for the day it starts).",
}


@extend_schema_field(FILTER_SCHEMA)
class FilterField(serializers.JSONField):
    pass


@extend_schema_field(RECURRENCE_SCHEMA)
class RecurrenceField(serializers.JSONField):
    pass


class SilenceSerializer(ReadSerializer):
    created_by = UsernameField()
    filter = FilterField(read_only=True)
    recurrence = RecurrenceField(read_only=True)
    active_now = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = [
            "id",
            "comment",
            "filter",
            "starts_at",
            "ends_at",
            "recurrence",
            "created_by",
            "active_now",
        ]
        read_only_fields = fields

    def get_active_now(self, silence: Silence) -> bool:
        return in_force(silence, self.context.get("now") or timezone.now())


class SilenceWriteSerializer(serializers.Serializer):
    """Request body of POST (all of starts_at and ends_at required) and PATCH (any subset)."""

    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_COMMENT_LENGTH, trim_whitespace=False
    )
    filter = FilterField(required=False)
    starts_at = UTCDateTimeField()
    ends_at = UTCDateTimeField()
    recurrence = RecurrenceField(required=False, allow_null=True)


WRITE_ACTIONS = frozenset({"create", "partial_update", "destroy"})


@extend_schema_view(
    list=extend_schema(
        summary="List silences",
        description="Newest first, cursor-paginated.",
        responses={200: SilenceSerializer(many=True), **ERROR_RESPONSES},
    ),
    retrieve=extend_schema(
        summary="One silence",
        parameters=[ID_PARAMETER],
        responses={200: SilenceSerializer, **ERROR_RESPONSES, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Create a silence (Operators)",
        request=SilenceWriteSerializer,
        responses={201: SilenceSerializer, **ERROR_RESPONSES, **THROTTLED},
    ),
    partial_update=extend_schema(
        summary="Change a silence (Operators)",
        parameters=[ID_PARAMETER],
        request=SilenceWriteSerializer(partial=True),
        responses={200: SilenceSerializer, **ERROR_RESPONSES, **NOT_FOUND, **THROTTLED},
    ),
    destroy=extend_schema(
        summary="Delete a silence (Operators)",
        parameters=[ID_PARAMETER],
        responses={
            204: OpenApiResponse(description="Deleted."),
            **ERROR_RESPONSES,
            **NOT_FOUND,
            **THROTTLED,
        },
    ),
)
class SilenceViewSet(ApiViewSetMixin, viewsets.ModelViewSet):
    """Silences: every role reads them; the service decides who writes (403 otherwise)."""

    serializer_class = SilenceSerializer
    cursor_ordering = ("-id",)
    # No PUT: a partial PATCH is the one way to change a silence.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Writes also need add/change/delete_silence (or manage_channel): checked by
    # alarms.services.silences, whose PermissionDenied the exception handler turns into 403.
    action_permissions = {"*": [VIEW_ALARM]}
    throttle_scope = WRITE_THROTTLE_SCOPE

    def get_queryset(self) -> QuerySet[Silence]:
        return Silence.objects.select_related("created_by").order_by("-id")

    def get_throttles(self) -> list[BaseThrottle]:
        return [AlarmWriteThrottle()] if self.action in WRITE_ACTIONS else []

    def get_serializer_context(self) -> dict[str, Any]:
        # One `now` per response, so every row's active_now is decided at the same instant.
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _respond(self, silence: Silence, code: int = status.HTTP_200_OK) -> Response:
        silence = self.get_queryset().get(pk=silence.pk)
        return Response(
            SilenceSerializer(silence, context=self.get_serializer_context()).data, code
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = SilenceWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        silence = create_silence(actor=request.user, **body.validated_data)
        return self._respond(silence, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        silence = self.get_object()
        body = SilenceWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        updated = update_silence(silence=silence, actor=request.user, **body.validated_data)
        return self._respond(updated)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delete_silence(silence=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

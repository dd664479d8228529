"""Outbound channels over REST (DESIGN §6 "Channels"): staff or ``manage_channel`` only.

``GET/POST /api/v1/channels/``, ``GET/PATCH/DELETE /api/v1/channels/<id>/`` and
``POST /api/v1/channels/<id>/test/``. The serializer checks shapes; the meaning (kinds, events,
the filter vocabulary, URLs) is checked by ``alarms.services.channels``, which does every write.
The secret is write-only: no response ever carries it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..choices import CHANNEL_EVENTS, ChannelKind, OutboundStatus
from ..models import Channel
from ..permissions import can_manage_channels
from ..services.channels import create_channel, delete_channel, send_test_message, update_channel
from .views import ERROR_RESPONSES, ID_PARAMETER, NOT_FOUND, ApiViewSetMixin


class CanManageChannels(BasePermission):
    """Staff, or users with the ``alarms.manage_channel`` permission."""

    message = "Only staff or users who may manage channels can see or change them."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated) and can_manage_channels(
            request.user
        )


class ChannelSerializer(serializers.ModelSerializer):
    """A channel; ``secret`` is accepted on writes and never returned."""

    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    url = serializers.CharField(
        max_length=2000,
        help_text="http(s) URL of the robot or webhook; for email, comma-separated addresses.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Signing secret (webhook, DingTalk, Feishu). Write-only; omit to keep it.",
    )
    filter = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(allow_blank=True)),
        required=False,
        help_text="Alarm list filters (DESIGN §4): parameter name → list of values.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=CHANNEL_EVENTS),
        required=False,
        help_text="Lifecycle events this channel wants.",
    )
    language = serializers.ChoiceField(choices=["zh-hans", "en"], required=False)
    escalate_after_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=60,
        help_text="With the `escalated` event: seconds a firing alarm may stay unacknowledged.",
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "secret",
            "filter",
            "events",
            "is_active",
            "last_error",
            "language",
            "escalate_after_seconds",
        ]
        read_only_fields = ["id", "last_error"]
        # Uniqueness is the service's to check (one message, in the same words everywhere).
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}


class TestMessageSerializer(serializers.Serializer):
    message_id = serializers.IntegerField(help_text="The outbox message of this test.")
    status = serializers.ChoiceField(choices=OutboundStatus.choices)
    last_error = serializers.CharField(help_text="Why it failed, when it did.")


@extend_schema_view(
    list=extend_schema(
        summary="List outbound channels",
        responses={200: ChannelSerializer(many=True), **ERROR_RESPONSES},
    ),
    retrieve=extend_schema(
        summary="One outbound channel",
        parameters=[ID_PARAMETER],
        responses={200: ChannelSerializer, **ERROR_RESPONSES, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Create an outbound channel",
        responses={201: ChannelSerializer, **ERROR_RESPONSES},
    ),
    partial_update=extend_schema(
        summary="Change an outbound channel",
        parameters=[ID_PARAMETER],
        responses={200: ChannelSerializer, **ERROR_RESPONSES, **NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete an outbound channel and its message history",
        parameters=[ID_PARAMETER],
        responses={204: None, **ERROR_RESPONSES, **NOT_FOUND},
    ),
)
class ChannelViewSet(ApiViewSetMixin, viewsets.ModelViewSet):
    """Where lifecycle messages go: webhooks, WeCom, DingTalk, Feishu robots, email."""

    serializer_class = ChannelSerializer
    permission_classes = [IsAuthenticated, CanManageChannels]
    cursor_ordering = ("id",)
    # PATCH changes what it names; a whole-object PUT would silently blank the secret.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Channel]:
        return Channel.objects.all()

    def perform_create(self, serializer: serializers.BaseSerializer[Channel]) -> None:
        serializer.instance = create_channel(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer[Channel]) -> None:
        assert serializer.instance is not None
        serializer.instance = update_channel(
            channel=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Channel) -> None:
        delete_channel(channel=instance, actor=self.request.user)

    @extend_schema(
        summary="Send a test message to a channel",
        description="Queued through the outbox like any message; with no broker configured it is "
        "sent before the response, which then tells how it went.",
        request=None,
        parameters=[ID_PARAMETER],
        responses={
            202: TestMessageSerializer,
            **ERROR_RESPONSES,
            **NOT_FOUND,
            400: OpenApiResponse(description="Invalid input."),
        },
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        channel = self.get_object()
        message = send_test_message(channel=channel, actor=request.user)
        message.refresh_from_db(fields=["status", "last_error"])
        return Response(
            {"message_id": message.pk, "status": message.status, "last_error": message.last_error},
            status=status.HTTP_202_ACCEPTED,
        )

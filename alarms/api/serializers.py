"""API representations (DESIGN §4). Output only, plus the small request bodies of the actions.

No business logic here: the views hand validated input to ``alarms.services``.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Alarm, AlarmEvent, CallbackEndpoint, Delivery, Instance, Note, Policy
from ..services.operator import MAX_NOTE_LENGTH

MAX_BULK_IDS = 500
MAX_ID = 2**63 - 1


class UTCDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC ("...Z") whatever ``TIME_ZONE`` the server runs with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "string", "nullable": True, "description": "Username, or null."})
class UsernameField(serializers.RelatedField):
    """A user as their username (null when there is none, e.g. a system event)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return value.get_username()


class ReadSerializer(serializers.ModelSerializer):
    """Base for the output serializers: every model date-time is rendered in UTC."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


def _related_str(source: str, help_text: str) -> serializers.CharField:
    # `default` covers a NULL foreign key: DRF returns it when the path hits None.
    return serializers.CharField(source=source, read_only=True, default="", help_text=help_text)


# Every alarm representation has at least these (DESIGN §4), in this order: API and export.
CONTRACT_FIELDS: tuple[str, ...] = (
    "id",
    "status",
    "kind",
    "fingerprint",
    "namespace",
    "region",
    "level",
    "policy_id",
    "policy_name",
    "policy_type",
    "instance_id",
    "instance_name",
    "dimensions",
    "metric_name",
    "metric_display_name",
    "operator",
    "threshold",
    "unit",
    "current_value",
    "event_name",
    "event_display_name",
    "first_occurred_at",
    "recovered_at",
    "last_notified_at",
    "notification_count",
    "acknowledged",
    "acknowledged_by",
    "acknowledged_at",
    "note_count",
)


class AlarmSerializer(ReadSerializer):
    """One alarm as in the list (DESIGN §4)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:alarm-detail")
    policy_id = _related_str("policy.policy_id", "Tencent policy id, or empty.")
    policy_name = _related_str("policy.name", "Policy name, or empty.")
    policy_type = _related_str("policy.policy_type", "Policy type (e.g. cvm_device), or empty.")
    instance_id = _related_str("instance.instance_id", "Monitored instance id, or empty.")
    instance_name = _related_str("instance.name", "Instance display name, or empty.")
    endpoint_name = serializers.CharField(source="endpoint.name", read_only=True)
    # The field's name shadows Field.source in the stubs only; DRF reads declared fields apart.
    source = serializers.CharField(  # type: ignore[assignment]
        source="endpoint.source",
        read_only=True,
        help_text="Where the alarm came from: tencent or alertmanager.",
    )
    acknowledged = serializers.BooleanField(read_only=True)
    acknowledged_by = UsernameField()

    class Meta:
        model = Alarm
        # The §4 fields (in §4's order, `url` after `id`), then the extra ones.
        fields = [
            CONTRACT_FIELDS[0],
            "url",
            *CONTRACT_FIELDS[1:],
            "period_seconds",
            "duration_seconds",
            "trigger_seen",
            "superseded",
            "flapping",
            "first_acknowledged_at",
            "endpoint_name",
            "source",
            "updated_at",
        ]
        read_only_fields = fields


class AlarmEventSerializer(ReadSerializer):
    actor = UsernameField(help_text="The user who acted, or null for Tencent / AlarmHub.")
    delivery_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The delivery that caused this event, if any."
    )

    class Meta:
        model = AlarmEvent
        fields = ["id", "type", "occurred_at", "actor", "delivery_id", "details"]
        read_only_fields = fields


class NoteSerializer(ReadSerializer):
    author = UsernameField()

    class Meta:
        model = Note
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = fields


class AlarmDetailSerializer(AlarmSerializer):
    """An alarm with its timeline and notes (oldest first)."""

    events = AlarmEventSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)

    class Meta(AlarmSerializer.Meta):
        fields = [*AlarmSerializer.Meta.fields, "extras", "events", "notes"]
        read_only_fields = fields


# --- request bodies --------------------------------------------------------------------------


class AcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_NOTE_LENGTH,
        help_text="Optional note to add with the acknowledgement.",
    )


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_NOTE_LENGTH)


class BulkIdsSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        max_length=MAX_BULK_IDS,
        help_text=f"Alarm ids (at most {MAX_BULK_IDS}).",
    )


class BulkAcknowledgeResponseSerializer(serializers.Serializer):
    acknowledged = serializers.IntegerField(
        help_text="How many alarms this request acknowledged (already acknowledged ones don't "
        "count)."
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The requested alarms that exist; all of them are now acknowledged.",
    )
    not_found = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Requested ids with no alarm: ignored.",
    )


class BulkUnacknowledgeResponseSerializer(serializers.Serializer):
    unacknowledged = serializers.IntegerField(
        help_text="How many alarms this request unacknowledged."
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The requested alarms that exist; none of them is acknowledged now.",
    )
    not_found = serializers.ListField(
        child=serializers.IntegerField(), help_text="Requested ids with no alarm: ignored."
    )


# --- read-only catalogues --------------------------------------------------------------------


class PolicySerializer(ReadSerializer):
    class Meta:
        model = Policy
        fields = [
            "id",
            "endpoint",
            "policy_id",
            "name",
            "policy_type",
            "type_cname",
            "type_ename",
            "first_seen_at",
            "last_seen_at",
        ]
        read_only_fields = fields


class InstanceSerializer(ReadSerializer):
    class Meta:
        model = Instance
        fields = [
            "id",
            "endpoint",
            "namespace",
            "region",
            "instance_id",
            "name",
            "dimensions",
            "first_seen_at",
            "last_seen_at",
        ]
        read_only_fields = fields


class CallbackEndpointSerializer(ReadSerializer):
    """An endpoint without its secrets: never the token, its hash or the Basic auth hash."""

    basic_auth_enabled = serializers.SerializerMethodField()

    class Meta:
        model = CallbackEndpoint
        fields = [
            "id",
            "name",
            "timezone",
            "is_active",
            "token_hint",
            "basic_auth_enabled",
            "created_at",
        ]
        read_only_fields = fields

    def get_basic_auth_enabled(self, obj: CallbackEndpoint) -> bool:
        return bool(obj.basic_auth_username)


class DeliverySerializer(ReadSerializer):
    alarm = serializers.SerializerMethodField(
        help_text="The first alarm this delivery was applied to (see `alarms`), or null."
    )
    alarms = serializers.SerializerMethodField(
        help_text="Every alarm this delivery was applied to: a body may carry several."
    )
    body = serializers.SerializerMethodField(
        help_text="The raw body as text (invalid UTF-8 replaced); null once pruned by retention."
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "received_at",
            "status",
            "session_id",
            "error",
            "attempts",
            "processed_at",
            "alarm",
            "alarms",
            "duplicate_of",
            "remote_addr",
            "content_type",
            "user_agent",
            "body_sha256",
            "body",
        ]
        read_only_fields = fields

    def get_alarm(self, obj: Delivery) -> int | None:
        return next(iter(obj.alarm_ids), None)

    def get_alarms(self, obj: Delivery) -> list[int]:
        return obj.alarm_ids

    def get_body(self, obj: Delivery) -> str | None:
        return None if obj.body is None else obj.body_text

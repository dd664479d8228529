"""``GET /api/v1/stats/`` (DESIGN §6 "Statistics"): a thin view over ``selectors.stats``.

The alarm list's FilterSet selects the alarms, so every list filter works here and an invalid
one is the same 400. Without ``first_occurred_after`` the window starts seven days ago.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..filters.filtersets import AlarmFilterSet
from ..models import Alarm
from ..permissions import VIEW_ALARM
from ..selectors.stats import Window, alarm_stats
from .permissions import HasActionPermissions
from .serializers import UTCDateTimeField
from .views import AUTHENTICATION_CLASSES, ERROR_RESPONSES

DEFAULT_WINDOW = timedelta(days=7)


class StatsFilterBackend(DjangoFilterBackend):
    """The alarm list filters, with ``first_occurred_after`` defaulting to seven days ago."""

    def get_filterset_kwargs(
        self, request: Request, queryset: QuerySet[Alarm], view: Any
    ) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        data = kwargs["data"].copy()
        if not data.get("first_occurred_after"):
            data["first_occurred_after"] = (view.now - DEFAULT_WINDOW).isoformat()
        kwargs["data"] = data
        return kwargs


# --- response shape (documentation and rendering) --------------------------------------------


def _seconds(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class WindowSerializer(serializers.Serializer):
    after = UTCDateTimeField(help_text="Start: first_occurred_after, or seven days ago.")
    before = UTCDateTimeField(help_text="End: first_occurred_before, or now.")


class PercentilesSerializer(serializers.Serializer):
    median = _seconds("Median in seconds, or null when there is no data.")
    p90 = _seconds("90th percentile in seconds, or null when there is no data.")


class NamespaceStatsSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    alarms = serializers.IntegerField()
    firing = serializers.IntegerField()
    mtta_seconds = _seconds("Mean time to first acknowledgement, or null.")
    mttr_seconds = _seconds("Mean time to recovery, or null.")


class PolicyStatsSerializer(serializers.Serializer):
    policy_id = serializers.CharField(help_text="Tencent policy id; empty for alarms without one.")
    policy_name = serializers.CharField()
    alarms = serializers.IntegerField()
    firing = serializers.IntegerField()
    mtta_seconds = _seconds("Mean time to first acknowledgement, or null.")
    mttr_seconds = _seconds("Mean time to recovery, or null.")


class InstanceStatsSerializer(serializers.Serializer):
    instance_id = serializers.CharField()
    instance_name = serializers.CharField()
    alarms = serializers.IntegerField()
    notifications = serializers.IntegerField(help_text="Notifications received for them.")


class FlappingSerializer(serializers.Serializer):
    fingerprint = serializers.CharField()
    alarms = serializers.IntegerField(help_text="Matching alarms of this identity.")
    flapping_alarms = serializers.IntegerField(help_text="Of which flagged flapping.")
    latest_alarm_id = serializers.IntegerField()
    namespace = serializers.CharField()
    policy_id = serializers.CharField()
    policy_name = serializers.CharField()
    instance_id = serializers.CharField()
    instance_name = serializers.CharField()


class BucketSerializer(serializers.Serializer):
    start = UTCDateTimeField(help_text="Bucket start (UTC).")
    triggered = serializers.IntegerField(help_text="Alarms that started in the bucket.")
    recovered = serializers.IntegerField(help_text="Alarms that recovered in the bucket.")


class SampleSerializer(serializers.Serializer):
    alarms = serializers.IntegerField(help_text="Alarms in the sample.")
    of = serializers.IntegerField(help_text="Alarms in the window.")


class StatsSerializer(serializers.Serializer):
    window = WindowSerializer()
    alarms = serializers.IntegerField()
    firing = serializers.IntegerField()
    acknowledged = serializers.IntegerField(help_text="Acknowledged now.")
    mtta_seconds = _seconds("Mean time to first acknowledgement, or null.")
    mttr_seconds = _seconds("Mean time to recovery (recovered alarms with a time), or null.")
    mtta_percentiles = PercentilesSerializer()
    mttr_percentiles = PercentilesSerializer()
    bucket = serializers.ChoiceField(choices=["hour", "day"], help_text="over_time bucket size.")
    by_namespace = NamespaceStatsSerializer(many=True)
    by_policy = PolicyStatsSerializer(many=True)
    noisiest_instances = InstanceStatsSerializer(many=True)
    flapping = FlappingSerializer(many=True)
    over_time = BucketSerializer(many=True)
    sample = SampleSerializer(
        allow_null=True,
        help_text="null: every figure is exact. Else the window's alarms exceed "
        "ALARMHUB_STATS_EXACT_UP_TO and the percentiles and the policy, instance and flapping "
        "lists are estimated from a uniform sample of `alarms` of them (counts scaled to the "
        "window; a row the sample saw fewer than three times is left out); the totals, means, "
        "by_namespace and over_time stay exact.",
    )


STATS_DESCRIPTION = """\
Statistics of the alarms matching the alarm list filters (DESIGN §6). Without
`first_occurred_after` the window starts seven days ago; `window.before` is
`first_occurred_before` or now.

MTTA: mean of first acknowledgement − first occurrence over alarms acknowledged at least once.
MTTR: mean of recovery − first occurrence over alarms with a recovery time (firing and superseded
ones have none). Medians and p90s beside them. Lists are sorted by `alarms` descending, at most 20
rows. `flapping`: identities (fingerprints) with an alarm flagged flapping, or with at least two
matching alarms. `over_time`: UTC buckets, hourly for windows up to two days, daily beyond.
A window of more than ALARMHUB_STATS_EXACT_UP_TO alarms (PostgreSQL, filtered by time,
namespace and status only) estimates the percentiles and those three lists from a sample:
see `sample`.
"""


class StatsView(GenericAPIView):
    """Alarm statistics: every role that may view alarms."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated, HasActionPermissions]
    action_permissions = {"*": [VIEW_ALARM]}
    filter_backends = [StatsFilterBackend]
    filterset_class = AlarmFilterSet
    serializer_class = StatsSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Alarm]:
        return Alarm.objects.all()

    @extend_schema(
        operation_id="stats_retrieve",
        summary="Alarm statistics",
        description=STATS_DESCRIPTION,
        filters=True,
        responses={200: StatsSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        self.now = timezone.now()
        backend = StatsFilterBackend()
        filterset = backend.get_filterset(request, self.get_queryset(), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        cleaned = filterset.form.cleaned_data
        window = Window(
            after=cleaned["first_occurred_after"],
            before=cleaned.get("first_occurred_before") or self.now,
        )
        stats = alarm_stats(filterset.qs, window=window, filters=cleaned)
        return Response(StatsSerializer(stats).data)

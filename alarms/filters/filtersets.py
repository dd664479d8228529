"""The FilterSets: alarm list filters (DESIGN §4) and the catalogue lists'."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from ..choices import AlarmKind, AlarmStatus, DeliveryStatus
from ..models import Alarm, CallbackEndpoint, Delivery, Instance, Policy
from ..selectors.alarms import search_alarms, stale_q
from ..sources import registry
from .fields import (
    MAX_SEARCH_LENGTH,
    ChoiceFilter,
    IdFilter,
    MultiValueCharFilter,
    StrictBooleanFilter,
    UTCIsoDateTimeFilter,
)

# Free-text search (`q`): case-insensitive substring of any of these (OR); the query itself is
# selectors.search_alarms, which the admin's search box uses too.
SEARCH_FIELDS = (
    "policy__name",
    "policy__policy_id",
    "instance__instance_id",
    "instance__name",
    "metric_name",
    "event_name",
)


class AlarmFilterSet(django_filters.FilterSet):
    """Alarm list filters (DESIGN §4): repeatable parameters mean "any of" (OR)."""

    namespace = MultiValueCharFilter(
        help_text="Namespace, e.g. qce/cvm. Repeat for any of several."
    )
    # Case-insensitive: operators type AP-GUANGZHOU; the stored value is kept as the source sent it.
    region = MultiValueCharFilter(
        case_insensitive=True,
        help_text="Region, e.g. ap-guangzhou (any letter case). Repeatable.",
    )
    status = ChoiceFilter(
        choices=AlarmStatus.choices, distinct=False, help_text="firing or recovered. Repeatable."
    )
    policy_id = MultiValueCharFilter(
        field_name="policy__policy_id", help_text="Tencent policy id. Repeatable."
    )
    instance_id = MultiValueCharFilter(
        field_name="instance__instance_id", help_text="Monitored instance id. Repeatable."
    )
    acknowledged = StrictBooleanFilter(
        method="filter_acknowledged",
        help_text="true: acknowledged alarms only; false: unacknowledged only.",
    )
    stale = StrictBooleanFilter(
        method="filter_stale",
        # Labels for the console's form; the values (and the API) stay true/false.
        label=gettext_lazy("Stale"),
        choices=(("true", gettext_lazy("Yes")), ("false", gettext_lazy("No"))),
        help_text="true: firing alarms with no push for longer than "
        "ALARMHUB_STALE_AFTER_SECONDS; false: all others.",
    )
    kind = ChoiceFilter(choices=AlarmKind.choices, distinct=False, help_text="metric or event.")
    source = ChoiceFilter(
        field_name="endpoint__source",
        choices=registry.source_choices(),
        distinct=False,
        help_text="Where the alarm came from: tencent or alertmanager. Repeatable.",
    )
    level = MultiValueCharFilter(
        help_text="Tencent alarm level as sent (Remind, Warn, Serious). Repeatable."
    )
    first_occurred_after = UTCIsoDateTimeFilter(
        field_name="first_occurred_at",
        lookup_expr="gte",
        help_text="Alarms that started at or after this time (ISO 8601; no offset means UTC).",
    )
    first_occurred_before = UTCIsoDateTimeFilter(
        field_name="first_occurred_at",
        lookup_expr="lte",
        help_text="Alarms that started at or before this time (ISO 8601; no offset means UTC).",
    )
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=MAX_SEARCH_LENGTH,
        help_text="Free text: part of a policy name or id, instance id or name, metric or "
        "event name or display name, namespace, region or any dimension value such as an IP "
        "(case-insensitive).",
    )

    class Meta:
        model = Alarm
        fields: list[str] = []

    def filter_acknowledged(self, queryset: QuerySet[Alarm], name: str, value: str) -> Any:
        return queryset.filter(acknowledged_at__isnull=value != "true")

    def filter_stale(self, queryset: QuerySet[Alarm], name: str, value: str) -> Any:
        return queryset.filter(stale_q()) if value == "true" else queryset.exclude(stale_q())

    def filter_q(self, queryset: QuerySet[Alarm], name: str, value: str) -> Any:
        text = value.strip()
        if not text:
            return queryset
        return search_alarms(queryset, text)


class DeliveryFilterSet(django_filters.FilterSet):
    """Delivery list filters (API and admin)."""

    status = ChoiceFilter(
        choices=DeliveryStatus.choices, distinct=False, help_text="Delivery status. Repeatable."
    )
    endpoint = IdFilter(field_name="endpoint_id", help_text="Callback endpoint id.")
    session_id = MultiValueCharFilter(help_text="Tencent sessionId. Repeatable.")

    class Meta:
        model = Delivery
        fields: list[str] = []


class PolicyFilterSet(django_filters.FilterSet):
    policy_id = MultiValueCharFilter(help_text="Tencent policy id. Repeatable.")
    endpoint = IdFilter(field_name="endpoint_id", help_text="Callback endpoint id.")

    class Meta:
        model = Policy
        fields: list[str] = []


class InstanceFilterSet(django_filters.FilterSet):
    namespace = MultiValueCharFilter(help_text="Namespace, e.g. qce/cvm. Repeatable.")
    region = MultiValueCharFilter(help_text="Region. Repeatable.")
    instance_id = MultiValueCharFilter(help_text="Instance id. Repeatable.")
    endpoint = IdFilter(field_name="endpoint_id", help_text="Callback endpoint id.")

    class Meta:
        model = Instance
        fields: list[str] = []


class CallbackEndpointFilterSet(django_filters.FilterSet):
    is_active = StrictBooleanFilter(help_text="true or false.")

    class Meta:
        model = CallbackEndpoint
        fields: list[str] = []

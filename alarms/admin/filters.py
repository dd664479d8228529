"""The alarm changelist's filters: the API's FilterSet, with sidebar links in its vocabulary.

The list is filtered by ``alarms.filters.filtersets.AlarmFilterSet`` itself, so the admin, the
console and the API read ``?namespace=qce/cvm&namespace=qce/cdb&acknowledged=false`` alike:
repeated values mean "any of", and a bad value is an error (here the admin's usual redirect to
``?e=1``, with the reason as a message), never a database error. The sidebar filters only draw
links with those parameter names; their ``queryset()`` changes nothing.

Django's own lookups (``endpoint__id__exact``, ``flapping__exact``, the date drill-down, links
such as ``policy__id__exact``) keep working for everything the FilterSet does not cover.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.cache import cache
from django.db.models import Field, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext, gettext_lazy

from ..choices import AlarmKind, AlarmLevel, AlarmStatus
from ..filters.fields import MultiValueCharFilter
from ..filters.filtersets import AlarmFilterSet
from ..models import Alarm

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices  # a stub-only TypedDict

# A sentinel for "the column is empty" in filter links ("" means "no filter", as in the API).
EMPTY_VALUE = "__empty__"


class EmptyAwareValuesFilter(MultiValueCharFilter):
    """``field IN (values)`` where ``__empty__`` stands for the empty string."""

    def filter(self, qs: QuerySet[Any], value: Iterable[str]) -> QuerySet[Any]:
        values = sorted({"" if v == EMPTY_VALUE else v for v in value or ()})
        if not values:
            return qs
        return qs.filter(**{f"{self.field_name}__in": values})


class AdminAlarmFilterSet(AlarmFilterSet):
    """The API's alarm filters; namespace, region and level also accept ``__empty__``.

    The API cannot ask for "no namespace" (an empty value means "any"); the admin's "(empty)"
    and "(none)" links need to.
    """

    namespace = EmptyAwareValuesFilter()
    region = EmptyAwareValuesFilter()
    level = EmptyAwareValuesFilter()


# The admin's search box already is ``q`` (the same search_alarms), so the FilterSet skips it.
FILTERSET_PARAMS = frozenset(AdminAlarmFilterSet.base_filters) - {SEARCH_VAR}


class FilterSetListFilter(admin.SimpleListFilter):
    """A sidebar filter named after a FilterSet parameter: it draws links, never filters.

    Every value of a repeated parameter shows as selected; a click selects that value alone.
    """

    parameter_name: str  # every subclass names its FilterSet parameter

    def __init__(
        self,
        request: HttpRequest,
        params: dict[str, list[str]],
        model: type[Alarm],
        model_admin: admin.ModelAdmin,
    ) -> None:
        self.values = list(params.get(self.parameter_name or "", []))  # super() pops them
        # django-stubs still types params as dict[str, str]; since Django 5.0 values are lists.
        super().__init__(request, params, model, model_admin)  # type: ignore[arg-type]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset  # AlarmChangeList has applied the FilterSet, repeated values and all

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        name = self.parameter_name
        yield {
            "selected": not self.values,
            "query_string": changelist.get_query_string(remove=[name]),
            "display": gettext("All"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": str(lookup) in self.values,
                "query_string": changelist.get_query_string({name: lookup}),
                "display": title,
            }


def _field_title(name: str) -> Any:
    field = Alarm._meta.get_field(name)
    assert isinstance(field, Field), name  # a column, not a reverse relation: it has a title
    return field.verbose_name


class CachedValuesListFilter(FilterSetListFilter):
    """Links for the distinct values of a text column, from a short-lived cache.

    Django's field filter runs ``SELECT DISTINCT column`` over the whole table on every
    changelist render. Namespaces and regions change rarely, so the choices are computed at
    most every ``cache_seconds`` (a brand-new value shows up after that; selected values are
    always listed, so links from the dashboard work immediately).
    """

    cache_seconds = 300

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        name = self.parameter_name
        key = f"alarmhub:admin:choices:{model_admin.opts.label_lower}:{name}"
        values: list[str] | None = cache.get(key)
        if values is None:
            values = list(
                model_admin.model._default_manager.order_by(name)
                .values_list(name, flat=True)
                .distinct()
            )
            cache.set(key, values, self.cache_seconds)
        missing = {v for v in self.values if v and v != EMPTY_VALUE} - set(values)
        if missing:
            values = sorted([*values, *missing])
        return [(value or EMPTY_VALUE, value or gettext("(empty)")) for value in values]


class NamespaceFilter(CachedValuesListFilter):
    title = gettext_lazy("namespace")
    parameter_name = "namespace"


class RegionFilter(CachedValuesListFilter):
    title = gettext_lazy("region")
    parameter_name = "region"


class StatusFilter(FilterSetListFilter):
    title = _field_title("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return list(AlarmStatus.choices)


class AcknowledgedFilter(FilterSetListFilter):
    title = gettext_lazy("acknowledged")
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("true", gettext_lazy("Yes")), ("false", gettext_lazy("No"))]


class KindFilter(FilterSetListFilter):
    title = _field_title("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return list(AlarmKind.choices)


class LevelFilter(FilterSetListFilter):
    """Tencent's alarm levels are a fixed vocabulary: no query needed for the choices."""

    title = gettext_lazy("level")
    parameter_name = "level"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(choice.value or EMPTY_VALUE, choice.label) for choice in AlarmLevel]


class PolicyTypeFilter(admin.AllValuesFieldListFilter):
    """Distinct policy types come from the (small) policy table, not from the alarms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = gettext_lazy("policy type")


class AlarmChangeList(ChangeList):
    """Django's changelist with AdminAlarmFilterSet applied to the request's FilterSet params."""

    def get_filters_params(self, params: dict[str, list[str]] | None = None) -> dict[str, Any]:
        lookup_params = super().get_filters_params(params)
        # The FilterSet's parameters that no sidebar filter takes must not reach Django's own
        # lookups, which would read e.g. policy_id as the foreign key column.
        sidebar = {getattr(f, "parameter_name", None) for f in self.list_filter}
        for name in FILTERSET_PARAMS - sidebar:
            lookup_params.pop(name, None)
        return lookup_params

    def alarm_filterset(self, request: HttpRequest) -> AdminAlarmFilterSet:
        if not hasattr(self, "_alarm_filterset"):
            data = QueryDict(mutable=True)
            for name in FILTERSET_PARAMS & set(request.GET):
                data.setlist(name, request.GET.getlist(name))
            self._alarm_filterset = AdminAlarmFilterSet(data=data, queryset=self.root_queryset)
        return self._alarm_filterset

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        filterset = self.alarm_filterset(request)
        if not filterset.is_valid():
            # changelist_view answers this with its redirect to ?e=1; say why there.
            for name, errors in filterset.errors.items():
                messages.error(request, f"{name}: {' '.join(errors)}")
            raise IncorrectLookupParameters(filterset.errors)
        qs = filterset.filter_queryset(super().get_queryset(request, exclude_parameters))
        # The list shows none of the JSON columns; leave them (and their parsing) out.
        return qs.defer("dimensions", "extras", "instance__dimensions")

"""What every changelist over a large table shares: a capped count, no facets, read-only rows.

The alarm and delivery tables grow without bound, so the changelists avoid whole-table work on
every render: no full COUNT(*) (``CappedCountPaginator``), no SELECT DISTINCT for filter choices
(``filters.CachedValuesListFilter``) or the date drill-down (``alarmhub_date_hierarchy`` in
``alarms.templatetags.alarms``), no facet counts, and sorting only by indexed columns.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most ``count_cap`` rows, so a changelist never runs COUNT(*) over the table.

    We chose a cap over PostgreSQL's ``reltuples`` estimate as the page count: the capped count
    is exact for every filtered list an operator actually pages through, works the same on
    SQLite, and also bounds OFFSET (no "last page" link 30,000 pages deep). The count runs as
    ``SELECT COUNT(*) FROM (SELECT id ... LIMIT cap + 1)``, an index range scan of at most
    ``cap`` entries. When the cap is hit on an unfiltered PostgreSQL table, ``estimated_total``
    adds the planner's estimate to the footer (one pg_class lookup, no table scan).
    """

    count_cap = 10_000

    @cached_property
    def _counted(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return len(self.object_list)
        return self.object_list.order_by().values("pk")[: self.count_cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.count_cap)

    @cached_property
    def count_is_capped(self) -> bool:
        return self._counted > self.count_cap

    @cached_property
    def estimated_total(self) -> int | None:
        """PostgreSQL's row estimate for an unfiltered list, else None."""
        qs = self.object_list
        if not isinstance(qs, QuerySet) or qs.query.where:
            return None
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [qs.model._meta.db_table],
            )
            row = cursor.fetchone()
        # -1 means "never analysed"; an estimate below the cap is useless next to "10000+".
        return int(row[0]) if row and row[0] > self.count_cap else None


class ScalableAdminMixin:
    """Settings shared by every changelist over a large table."""

    paginator: ClassVar[type[Paginator]] = CappedCountPaginator  # as ModelAdmin declares it
    show_full_result_count = False  # would be a second, uncapped COUNT(*)
    show_facets = admin.ShowFacets.NEVER  # facets count every filter choice over the table
    list_per_page = 50


class ReadOnlyAdminMixin:
    """History and Tencent's facts: browsed in the admin, changed only by the services."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

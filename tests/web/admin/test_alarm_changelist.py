"""The alarm changelist: columns, filters, search, and flat query counts at any table size."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from alarms.admin.scale import CappedCountPaginator
from alarms.choices import AlarmStatus
from alarms.models import CallbackEndpoint
from alarms.services.operator import acknowledge_alarm
from tests.support.admin import ALARMS, captured_sql, count_queries, listed_ids
from tests.support.factories import apply_alarm


def test_columns_show_status_badge_condition_duration_and_acknowledger(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(
        admin_endpoint,
        metric_name="disk_usage",
        metric_display_name="",
        current_value="96.739",
        operator=">",
        threshold="95",
        unit="%",
        duration_seconds=5400,
        level="Serious",
    )
    acknowledge_alarm(alarm=alarm, actor=operator_user)

    html = operator_client.get(ALARMS).content.decode()

    assert f'alarmhub-bg-{AlarmStatus.FIRING.colour[1:]}">Firing</span>' in html
    assert "disk_usage 96.739 &gt; 95%" in html
    assert "1 h 30 min" in html
    assert "Serious" in html
    assert "ops-operator" in html


def test_event_alarm_shows_its_event_name(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(
        admin_endpoint,
        kind="event",
        metric_name="",
        operator="",
        threshold="",
        current_value="",
        event_name="ping_unreachable",
        event_display_name="Ping unreachable",
    )

    assert "Ping unreachable" in operator_client.get(ALARMS).content.decode()


def test_changelist_query_count_is_the_same_for_5_and_50_alarms(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    def add_alarms(count: int) -> None:
        for i in range(count):
            alarm = apply_alarm(
                admin_endpoint,
                namespace=("qce/cvm", "qce/cdb", "qce/lb")[i % 3],
                region=("gz", "sh")[i % 2],
                policy_id=f"policy-{i % 4}",
                policy_name=f"Policy {i % 4}",
                level=("Warn", "Serious", "")[i % 3],
            )
            if i % 2:
                acknowledge_alarm(alarm=alarm, actor=operator_user)

    url = f"{ALARMS}?status=firing"
    add_alarms(5)
    operator_client.get(url)  # warm the cached filter choices, as in production
    with_5 = count_queries(operator_client, url)
    add_alarms(45)
    with_50 = count_queries(operator_client, url)

    assert with_5 == with_50
    # session, user, 2 x permissions, endpoints filter, policy types filter, capped count,
    # the page, the date bounds.
    assert with_50 <= 9


def test_changelist_never_counts_or_scans_the_whole_alarm_table(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint, first_occurred_at=datetime(2023, 5, 1, tzinfo=UTC))
    apply_alarm(admin_endpoint, first_occurred_at=datetime(2025, 7, 1, tzinfo=UTC))

    cold = captured_sql(operator_client, ALARMS)
    sql = captured_sql(operator_client, ALARMS)

    # The first render fills the namespace/region choice cache (one DISTINCT each) ...
    assert sum("DISTINCT" in q and '"alarms_alarm"' in q for q in cold) == 2
    # ... after that, nothing reads the whole alarm table.
    alarm_queries = [q for q in sql if '"alarms_alarm"' in q]
    assert not any("DISTINCT" in q for q in alarm_queries)
    counts = [q for q in alarm_queries if "COUNT(" in q]
    assert counts and all("LIMIT 10001" in q for q in counts)


def test_date_drill_down_offers_every_year_between_the_first_and_last_alarm(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint, first_occurred_at=datetime(2023, 5, 1, tzinfo=UTC))
    apply_alarm(admin_endpoint, first_occurred_at=datetime(2025, 7, 1, tzinfo=UTC))

    html = operator_client.get(ALARMS).content.decode()
    assert "first_occurred_at__year=2024" in html
    response = operator_client.get(f"{ALARMS}?first_occurred_at__year=2025")
    assert len(listed_ids(response)) == 1
    assert "first_occurred_at__month=7" in response.content.decode()


def test_filter_by_namespace_and_status(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    cvm_firing = apply_alarm(admin_endpoint, namespace="qce/cvm")
    apply_alarm(admin_endpoint, namespace="qce/cdb")
    apply_alarm(admin_endpoint, namespace="qce/cvm", status="recovered", duration_seconds=60)

    response = operator_client.get(f"{ALARMS}?namespace=qce%2Fcvm&status=firing")

    assert listed_ids(response) == [cvm_firing.pk]


def test_namespace_choices_are_cached_but_a_selected_new_value_is_listed(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint, namespace="qce/cvm")
    operator_client.get(ALARMS)  # caches the namespace choices
    new = apply_alarm(admin_endpoint, namespace="qce/redis")

    unfiltered = operator_client.get(ALARMS).content.decode()
    filtered = operator_client.get(f"{ALARMS}?namespace=qce%2Fredis")

    assert "?namespace=qce%2Fredis" not in unfiltered  # within the cache's lifetime
    assert listed_ids(filtered) == [new.pk]
    assert "qce/redis" in filtered.content.decode()


def test_filter_by_region(operator_client: Client, admin_endpoint: CallbackEndpoint) -> None:
    shanghai = apply_alarm(admin_endpoint, region="sh")
    apply_alarm(admin_endpoint, region="gz")

    assert listed_ids(operator_client.get(f"{ALARMS}?region=sh")) == [shanghai.pk]


def test_filter_by_acknowledged(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    acknowledged = apply_alarm(admin_endpoint)
    open_alarm = apply_alarm(admin_endpoint)
    acknowledge_alarm(alarm=acknowledged, actor=operator_user)

    assert listed_ids(operator_client.get(f"{ALARMS}?acknowledged=true")) == [acknowledged.pk]
    assert listed_ids(operator_client.get(f"{ALARMS}?acknowledged=false")) == [open_alarm.pk]


def test_filter_by_level_including_no_level(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    serious = apply_alarm(admin_endpoint, level="Serious")
    no_level = apply_alarm(admin_endpoint, level="")

    assert listed_ids(operator_client.get(f"{ALARMS}?level=Serious")) == [serious.pk]
    assert listed_ids(operator_client.get(f"{ALARMS}?level=__empty__")) == [no_level.pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=event", "event"),
        ("policy__policy_type=cdb_detail", "cdb"),
    ],
)
def test_filter_by_kind_and_policy_type(
    operator_client: Client, admin_endpoint: CallbackEndpoint, query: str, expected: str
) -> None:
    alarms = {
        "cvm": apply_alarm(admin_endpoint),
        "event": apply_alarm(
            admin_endpoint,
            kind="event",
            metric_name="",
            event_name="ping_unreachable",
            policy_id="policy-event",
        ),
        "cdb": apply_alarm(
            admin_endpoint, namespace="qce/cdb", policy_id="policy-cdb", policy_type="cdb_detail"
        ),
    }

    assert listed_ids(operator_client.get(f"{ALARMS}?{query}")) == [alarms[expected].pk]


@pytest.mark.parametrize("term", ["Disk full on web", "policy-disk", "ins-findme", "db-primary"])
def test_search_matches_policy_instance_and_metric(
    operator_client: Client, admin_endpoint: CallbackEndpoint, term: str
) -> None:
    wanted = apply_alarm(
        admin_endpoint,
        policy_id="policy-disk",
        policy_name="Disk full on web",
        instance_id="ins-findme",
        instance_name="db-primary",
    )
    apply_alarm(admin_endpoint, policy_id="policy-other", policy_name="Other")

    assert listed_ids(operator_client.get(ALARMS, {"q": term})) == [wanted.pk]


def test_count_is_capped_and_says_so(
    operator_client: Client, admin_endpoint: CallbackEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 3)
    for _ in range(5):
        apply_alarm(admin_endpoint)

    response = operator_client.get(ALARMS)

    assert response.context["cl"].result_count == 3
    assert "more than 3 alarms" in response.content.decode()


def test_exact_count_below_the_cap(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    for _ in range(3):
        apply_alarm(admin_endpoint)

    html = operator_client.get(ALARMS).content.decode()

    assert "3 alarms" in html
    assert "more than" not in html


def test_facets_cannot_be_turned_on(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint)

    response = operator_client.get(f"{ALARMS}?_facets=True")

    assert response.context["cl"].add_facets is False

"""The alarm changelist speaks the API's filter vocabulary (AlarmFilterSet), repeated values too."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import Client

from alarms.models import Alarm, CallbackEndpoint
from alarms.services.operator import acknowledge_alarm
from tests.support.admin import ALARMS, listed_ids
from tests.support.factories import apply_alarm


def sidebar_queries(response: Any) -> list[dict[str, list[str]]]:
    """The query of every link in the changelist's filter sidebar, parsed."""
    page = response.content.decode()
    sidebar = page[page.index('id="changelist-filter"') :]
    links = re.findall(r'href="\?([^"]*)"', sidebar)
    return [parse_qs(html_lib.unescape(link)) for link in links]


def selected_links(response: Any) -> list[str]:
    """The text of the sidebar's selected choices."""
    page = response.content.decode()
    sidebar = page[page.index('id="changelist-filter"') :]
    return re.findall(r'<li class="selected">\s*<a[^>]*>([^<]*)</a>', sidebar)


def test_repeated_namespace_values_list_alarms_of_either(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    cvm = apply_alarm(admin_endpoint, namespace="qce/cvm")
    cdb = apply_alarm(admin_endpoint, namespace="qce/cdb")
    apply_alarm(admin_endpoint, namespace="qce/lb")

    response = operator_client.get(f"{ALARMS}?namespace=qce/cvm&namespace=qce/cdb")

    assert sorted(listed_ids(response)) == sorted([cvm.pk, cdb.pk])
    assert {"qce/cvm", "qce/cdb"} <= set(selected_links(response))


def test_empty_namespace_sentinel_combines_with_other_values(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    blank = apply_alarm(admin_endpoint, namespace="")
    cvm = apply_alarm(admin_endpoint, namespace="qce/cvm")
    apply_alarm(admin_endpoint, namespace="qce/cdb")

    response = operator_client.get(f"{ALARMS}?namespace=__empty__&namespace=qce/cvm")

    assert sorted(listed_ids(response)) == sorted([blank.pk, cvm.pk])


def test_acknowledged_true_and_false(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    acknowledged = apply_alarm(admin_endpoint)
    open_alarm = apply_alarm(admin_endpoint)
    acknowledge_alarm(alarm=acknowledged, actor=operator_user)

    assert listed_ids(operator_client.get(f"{ALARMS}?acknowledged=true")) == [acknowledged.pk]
    assert listed_ids(operator_client.get(f"{ALARMS}?acknowledged=false")) == [open_alarm.pk]


def test_status_firing_and_repeated_statuses(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    firing = apply_alarm(admin_endpoint)
    recovered = apply_alarm(admin_endpoint, status="recovered", duration_seconds=60)

    assert listed_ids(operator_client.get(f"{ALARMS}?status=firing")) == [firing.pk]
    both = operator_client.get(f"{ALARMS}?status=firing&status=recovered")
    assert sorted(listed_ids(both)) == sorted([firing.pk, recovered.pk])


def test_policy_id_and_instance_id_are_tencent_ids_not_row_ids(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    wanted = apply_alarm(admin_endpoint, policy_id="policy-wanted", instance_id="ins-wanted")
    other = apply_alarm(admin_endpoint, policy_id="policy-other", instance_id="ins-other")

    by_policy = operator_client.get(f"{ALARMS}?policy_id=policy-wanted")
    by_instance = operator_client.get(f"{ALARMS}?instance_id=ins-wanted&instance_id=ins-other")
    # A row id where a Tencent id belongs matches nothing (Django would read it as the FK).
    by_row_id = operator_client.get(f"{ALARMS}?policy_id={wanted.policy_id}")

    assert listed_ids(by_policy) == [wanted.pk]
    assert sorted(listed_ids(by_instance)) == sorted([wanted.pk, other.pk])
    assert listed_ids(by_row_id) == []


def test_first_occurred_after_and_before(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    early = apply_alarm(admin_endpoint, first_occurred_at=datetime(2024, 1, 1, tzinfo=UTC))
    late = apply_alarm(admin_endpoint, first_occurred_at=datetime(2024, 6, 1, tzinfo=UTC))

    after = operator_client.get(f"{ALARMS}?first_occurred_after=2024-03-01T00:00:00Z")
    before = operator_client.get(f"{ALARMS}?first_occurred_before=2024-03-01")

    assert listed_ids(after) == [late.pk]
    assert listed_ids(before) == [early.pk]


def test_level_and_kind_use_the_api_names(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    serious = apply_alarm(admin_endpoint, level="Serious")
    warn = apply_alarm(admin_endpoint, level="Warn")
    event = apply_alarm(admin_endpoint, kind="event", metric_name="", event_name="ping_unreachable")

    levels = operator_client.get(f"{ALARMS}?level=Serious&level=Warn")

    assert sorted(listed_ids(levels)) == sorted([serious.pk, warn.pk])
    assert listed_ids(operator_client.get(f"{ALARMS}?kind=event")) == [event.pk]


@pytest.mark.parametrize(
    "query",
    [
        "namespace=%00",
        "status=burning",
        "acknowledged=yes",
        "kind=metric&kind=nonsense",
        "first_occurred_after=yesterday",
        "policy_id=" + "x" * 301,
    ],
)
def test_invalid_values_redirect_with_the_reason_instead_of_failing(
    operator_client: Client, admin_endpoint: CallbackEndpoint, query: str
) -> None:
    apply_alarm(admin_endpoint)

    response = operator_client.get(f"{ALARMS}?{query}")
    followed = operator_client.get(f"{ALARMS}?{query}", follow=True)

    assert response.status_code == 302
    assert response["Location"] == f"{ALARMS}?e=1"
    assert followed.status_code == 200
    # The admin capitalises messages: "Status: Select a valid choice..."
    name = query.split("=")[0].capitalize()
    assert f'<li class="error">{name}: ' in followed.content.decode()


def test_sidebar_links_use_the_api_parameter_names(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint, namespace="qce/cvm", region="gz", level="Warn")

    queries = sidebar_queries(operator_client.get(ALARMS))
    names = {name for query in queries for name in query}

    assert {"namespace": ["qce/cvm"]} in queries
    assert {"region": ["gz"]} in queries
    assert {"status": ["firing"]} in queries
    assert {"acknowledged": ["true"]} in queries
    assert {"acknowledged": ["false"]} in queries
    assert {"kind": ["event"]} in queries
    assert {"level": ["Warn"]} in queries
    assert not {"status__exact", "kind__exact", "level__exact"} & names


def test_sidebar_link_keeps_the_other_filters_and_replaces_its_own(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint, namespace="qce/cvm")
    apply_alarm(admin_endpoint, namespace="qce/cdb")

    queries = sidebar_queries(
        operator_client.get(f"{ALARMS}?namespace=qce/cvm&namespace=qce/cdb&status=firing")
    )

    assert {"namespace": ["qce/cvm"], "status": ["firing"]} in queries
    assert {
        "namespace": ["qce/cvm", "qce/cdb"],
        "status": ["firing"],
        "acknowledged": ["false"],
    } in queries


@pytest.mark.parametrize("query", ["status__exact=firing", "kind__exact=metric"])
def test_old_django_style_links_still_answer(
    operator_client: Client, admin_endpoint: CallbackEndpoint, query: str
) -> None:
    firing = apply_alarm(admin_endpoint)

    response = operator_client.get(f"{ALARMS}?{query}")

    assert listed_ids(response) == [firing.pk]


def test_index_links_lead_to_firing_unacknowledged_alarms(
    viewer_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    open_alarm = apply_alarm(admin_endpoint)
    acknowledge_alarm(alarm=apply_alarm(admin_endpoint), actor=operator_user)
    apply_alarm(admin_endpoint, status="recovered", duration_seconds=60)

    index = viewer_client.get("/admin/").content.decode()
    link = f"{ALARMS}?status=firing&amp;acknowledged=false"

    assert f'href="{link}"' in index
    assert listed_ids(viewer_client.get(html_lib.unescape(link))) == [open_alarm.pk]


def test_select_all_action_acts_on_the_filterset_rows_only(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    cvm = apply_alarm(admin_endpoint, namespace="qce/cvm")
    cdb = apply_alarm(admin_endpoint, namespace="qce/cdb")
    other = apply_alarm(admin_endpoint, namespace="qce/lb")

    operator_client.post(
        f"{ALARMS}?namespace=qce/cvm&namespace=qce/cdb",
        {"action": "acknowledge_selected", "select_across": "1", "_selected_action": [cvm.pk]},
    )

    acknowledged = set(
        Alarm.objects.filter(acknowledged_by=operator_user).values_list("pk", flat=True)
    )
    assert acknowledged == {cvm.pk, cdb.pk}
    assert other.pk not in acknowledged

"""The console's silences page (issue 12 item 6): the list by state, a form in the operator's
zone with an optional weekly recurrence, prefilled from the board or an alarm; Viewers read."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms.models import Silence
from alarms.services.endpoints import NewEndpoint
from alarms.services.silences import create_silence
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm

SHANGHAI = {"alarmhub_tz": "Asia/Shanghai"}


def form(**fields: str) -> dict[str, str]:
    data = {
        "comment": "Tonight's maintenance",
        "starts_at": "2030-05-01T22:00",
        "ends_at": "2030-05-02T06:00",
        "query": "namespace=qce%2Fcvm&region=ap-guangzhou",
    }
    data.update(fields)
    return data


def window(start_hours: float, end_hours: float, comment: str) -> Silence:
    now = timezone.now()
    return create_silence(
        actor=None,
        comment=comment,
        starts_at=now + timedelta(hours=start_hours),
        ends_at=now + timedelta(hours=end_hours),
    )


def test_an_operator_creates_a_silence_in_their_zone_with_the_board_filter(
    operator: User,
) -> None:
    response = client_for(operator, **SHANGHAI).post("/silences/new/", form())

    silence = Silence.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/silences/#silence-{silence.pk}"
    # 22:00 in Shanghai (UTC+8) is 14:00 UTC.
    assert silence.starts_at == datetime(2030, 5, 1, 14, 0, tzinfo=UTC)
    assert silence.ends_at == datetime(2030, 5, 1, 22, 0, tzinfo=UTC)
    assert silence.filter == {"namespace": ["qce/cvm"], "region": ["ap-guangzhou"]}
    assert (silence.comment, silence.recurrence, silence.created_by) == (
        "Tonight's maintenance",
        None,
        operator,
    )


def test_a_weekly_silence_recurs_in_the_operators_zone(operator: User) -> None:
    data = form(weekly="on", start_time="22:00", end_time="06:00", ends_at="2030-08-01T00:00")
    client = client_for(operator, **SHANGHAI)
    response = client.post("/silences/new/", {**data, "weekdays": ["0", "1", "2", "3", "4"]})

    assert response.status_code == 302
    assert Silence.objects.get().recurrence == {
        "weekdays": [0, 1, 2, 3, 4],
        "start_time": "22:00",
        "end_time": "06:00",
        "timezone": "Asia/Shanghai",
    }


def test_a_weekly_silence_without_days_or_a_backwards_window_is_explained(operator: User) -> None:
    client = client_for(operator)
    no_days = client.post("/silences/new/", form(weekly="on", start_time="22:00"))
    backwards = client.post("/silences/new/", form(ends_at="2030-05-01T21:00"))

    assert no_days.status_code == backwards.status_code == 400
    assert "A weekly silence needs days and times." in no_days.content.decode()
    assert "A silence cannot end before it starts." in backwards.content.decode()
    assert not Silence.objects.exists()


def test_a_forged_filter_is_refused(operator: User) -> None:
    response = client_for(operator).post("/silences/new/", form(query="status=burning"))
    assert response.status_code == 400
    assert not Silence.objects.exists()


def test_the_list_separates_active_upcoming_and_expired_silences(viewer: User) -> None:
    window(-1, 1, "now-window")
    window(2, 3, "later-window")
    window(-3, -2, "past-window")

    page = client_for(viewer).get("/silences/").content.decode()

    active = page.index('id="silences-active"')
    upcoming = page.index('id="silences-upcoming"')
    expired = page.index('id="silences-expired"')
    assert active < page.index("now-window") < upcoming
    assert upcoming < page.index("later-window") < expired
    assert expired < page.index("past-window")
    assert 'aria-current="page">Silences</a>' in page


def test_a_viewer_sees_no_form_and_a_forged_post_is_refused(viewer: User) -> None:
    ending = window(-1, 1, "keep me")
    page = client_for(viewer).get("/silences/?namespace=qce/cvm").content.decode()
    assert 'action="/silences/new/"' not in page
    assert f'action="/silences/{ending.pk}/end/"' not in page

    client = client_for(viewer)
    assert client.post("/silences/new/", form()).status_code == 403
    assert client.post(f"/silences/{ending.pk}/end/").status_code == 403
    assert Silence.objects.get().ends_at == ending.ends_at


def test_an_operator_ends_an_active_silence_and_deletes_an_upcoming_one(operator: User) -> None:
    active = window(-1, 1, "active")
    upcoming = window(2, 3, "upcoming")
    client = client_for(operator)

    assert client.post(f"/silences/{active.pk}/end/").status_code == 302
    assert client.post(f"/silences/{upcoming.pk}/end/").status_code == 302

    [ended] = Silence.objects.all()
    assert ended.pk == active.pk and ended.ends_at <= timezone.now()


def test_silence_from_an_alarm_prefills_its_identity(
    operator: User, viewer: User, endpoint: NewEndpoint
) -> None:
    alarm = apply_alarm(
        endpoint.endpoint,
        namespace="qce/cvm",
        region="ap-guangzhou",
        policy_id="policy-abc",
        instance_id="ins-abc",
    )
    page = client_for(operator).get(f"/alarms/{alarm.pk}/").content.decode()
    link = (
        "/silences/?namespace=qce/cvm&amp;region=ap-guangzhou&amp;policy_id=policy-abc"
        "&amp;instance_id=ins-abc#silence-form"
    )
    assert f'href="{link}"' in page
    assert "Silence…" not in client_for(viewer).get(f"/alarms/{alarm.pk}/").content.decode()

    form_page = client_for(operator).get(html.unescape(link)).content.decode()
    assert (
        "namespace=qce/cvm · region=ap-guangzhou · policy_id=policy-abc · instance_id=ins-abc"
        in form_page
    )
    query = (
        "namespace=qce%2Fcvm&amp;region=ap-guangzhou&amp;policy_id=policy-abc"
        "&amp;instance_id=ins-abc"
    )
    assert f'name="query" value="{query}"' in form_page


def test_silence_from_the_board_carries_its_current_filter(operator: User, viewer: User) -> None:
    board = client_for(operator).get("/?namespace=qce/cvm,qce/cdb&status=firing").content.decode()
    link = "/silences/?namespace=qce%2Fcvm&amp;namespace=qce%2Fcdb&amp;status=firing#silence-form"
    assert f'href="{link}"' in board
    assert "Silence…" not in client_for(viewer).get("/?namespace=qce/cvm").content.decode()

    client_for(operator).post(
        "/silences/new/", form(query="namespace=qce%2Fcvm&namespace=qce%2Fcdb&status=firing")
    )
    assert Silence.objects.get().filter == {
        "namespace": ["qce/cvm", "qce/cdb"],
        "status": ["firing"],
    }


def test_the_list_costs_the_same_queries_for_one_silence_or_many(viewer: User) -> None:
    client = client_for(viewer)
    window(-1, 1, "first")
    client.get("/silences/")  # warm the session and permission caches
    with CaptureQueriesContext(connection) as one:
        client.get("/silences/")
    for n in range(6):
        window(-1 + n, 2 + n, f"more-{n}")
        window(-5 - n, -4 - n, f"old-{n}")
    with CaptureQueriesContext(connection) as many:
        client.get("/silences/")
    assert len(many) == len(one)

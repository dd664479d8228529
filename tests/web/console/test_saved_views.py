"""Saved board views: personal or shared, listed in the navigation, a shared default landing."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms.models import SavedView
from alarms.permissions import OPERATOR, VIEWER
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for, console_user
from tests.support.factories import apply_alarm

CANONICAL = "namespace=qce%2Fcvm&namespace=qce%2Fcdb"


def save(user: User, name: str, query: str = "namespace=qce/cvm,qce/cdb", **extra: str) -> int:
    response = client_for(user).post("/views/new/", {"name": name, "query": query, **extra})
    return response.status_code


def test_a_viewer_saves_a_personal_view_listed_only_for_them(viewer: User) -> None:
    response = client_for(viewer).post(
        "/views/new/", {"name": "Databases", "query": "namespace=qce/cvm,qce/cdb&before=x"}
    )
    view = SavedView.objects.get()
    # Stored as the API reads it: repeated parameters, paging dropped.
    assert (view.owner, view.name, view.query, view.shared) == (
        viewer,
        "Databases",
        CANONICAL,
        False,
    )
    assert response["Location"] == f"/?{CANONICAL}"
    assert f'href="/?{CANONICAL.replace("&", "&amp;")}">Databases</a>' in (
        client_for(viewer).get("/").content.decode()
    )
    other = console_user("victor", VIEWER)
    assert "Databases" not in client_for(other).get("/").content.decode()


def test_an_operator_shares_a_view_with_everyone(operator: User, viewer: User) -> None:
    assert save(operator, "Firing CVM", "namespace=qce/cvm&status=firing", shared="1") == 302
    assert SavedView.objects.get().shared
    page = client_for(viewer).get("/views/").content.decode()
    assert "Firing CVM" in page and "everyone" in page
    assert f"/views/{SavedView.objects.get().pk}/delete/" not in page  # not the viewer's


def test_a_viewer_may_not_share(viewer: User) -> None:
    assert save(viewer, "Mine for all", shared="1") == 403
    assert not SavedView.objects.exists()


def test_a_duplicate_name_or_an_invalid_filter_is_refused_with_a_message(viewer: User) -> None:
    assert save(viewer, "Same") == 302
    client = client_for(viewer)
    response = client.post("/views/new/", {"name": "Same", "query": ""}, follow=True)
    assert "already have a view called" in response.content.decode()
    response = client.post(
        "/views/new/", {"name": "Bad", "query": "first_occurred_after=yesterday"}, follow=True
    )
    assert "Correct the filter" in response.content.decode()
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Same"]


def test_staff_make_a_shared_view_the_landing_view_of_the_board(
    endpoint: NewEndpoint, staff_operator: User, operator: User, viewer: User
) -> None:
    save(operator, "CVM", "namespace=qce/cvm", shared="1")
    view = SavedView.objects.get()
    assert client_for(operator).post(f"/views/{view.pk}/default/").status_code == 403
    assert client_for(staff_operator).post(f"/views/{view.pk}/default/").status_code == 302
    assert SavedView.objects.get().is_default

    client = client_for(viewer)
    assert client.get("/")["Location"] == "/?namespace=qce%2Fcvm"
    # A filter of one's own, the Clear link (?all=1) and htmx refreshes are never redirected.
    cleared = client.get("/?all=1")
    assert cleared.status_code == 200 and 'href="/?all=1">Clear</a>' in cleared.content.decode()
    assert client.get("/?namespace=qce/cdb").status_code == 200
    assert client.get("/", HTTP_HX_REQUEST="true").status_code == 200


def test_a_personal_view_cannot_be_the_default_and_a_new_default_replaces_the_old(
    staff_operator: User,
) -> None:
    client = client_for(staff_operator)
    save(staff_operator, "Personal")
    save(staff_operator, "First", "namespace=a", shared="1")
    save(staff_operator, "Second", "namespace=b", shared="1")
    views = {v.name: v.pk for v in SavedView.objects.all()}
    response = client.post(f"/views/{views['Personal']}/default/", follow=True)
    assert "Only a shared view can be the default" in response.content.decode()
    client.post(f"/views/{views['First']}/default/")
    client.post(f"/views/{views['Second']}/default/")
    assert list(SavedView.objects.filter(is_default=True).values_list("name", flat=True)) == [
        "Second"
    ]
    client.post(f"/views/{views['Second']}/default/", {"undo": "1"})
    assert not SavedView.objects.filter(is_default=True).exists()
    assert client.get("/").status_code == 200  # no default: the board itself


def test_owners_delete_their_views_and_staff_delete_shared_ones(
    operator: User, viewer: User, staff_operator: User
) -> None:
    save(viewer, "Mine")
    save(operator, "Team", shared="1")
    mine, team = (SavedView.objects.get(name=n).pk for n in ("Mine", "Team"))
    assert client_for(operator).post(f"/views/{mine}/delete/").status_code == 404  # not visible
    assert client_for(viewer).post(f"/views/{team}/delete/").status_code == 403
    assert client_for(viewer).post(f"/views/{mine}/delete/").status_code == 302
    assert client_for(staff_operator).post(f"/views/{team}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_the_navigation_menu_is_one_query_whatever_the_number_of_views(
    endpoint: NewEndpoint, viewer: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    client = client_for(viewer)
    save(viewer, "One")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/alarms/{alarm.pk}/")
    sharer = console_user("olga", OPERATOR)
    for n in range(8):
        save(viewer, f"Mine {n}")
        save(sharer, f"Shared {n}", shared="1")
    with CaptureQueriesContext(connection) as many:
        page = client.get(f"/alarms/{alarm.pk}/").content.decode()
    assert len(few) == len(many)
    assert page.count('<li><a href="/?') == 1 + 16

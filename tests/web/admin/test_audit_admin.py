"""The audit log in the admin: readable with view_auditentry only, editable by nobody."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from alarms.models import AuditEntry
from alarms.services.audit import AuditAction, record
from tests.conftest import make_staff_user

AUDIT = reverse("admin:alarms_auditentry_changelist")


def change_url(entry: AuditEntry) -> str:
    return reverse("admin:alarms_auditentry_change", args=[entry.pk])


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _staff_with(username: str, *codenames: str) -> Any:
    user = make_staff_user(username)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="alarms", codename__in=codenames)
    )
    return user


@pytest.fixture
def entries(django_user_model: Any) -> list[AuditEntry]:
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    return [
        record(action=AuditAction.LOGIN, actor=alice, target=alice, remote_addr="192.0.2.1"),
        record(action=AuditAction.LOGIN_FAILED, actor=None, target="mallory", username="mallory"),
        record(action=AuditAction.ALARMS_BULK_ACKNOWLEDGED, actor=bob, changed=2),
    ]


def _listed(response: Any) -> list[int]:
    return [entry.pk for entry in response.context["cl"].result_list]


def test_staff_with_view_auditentry_browse_filter_and_search_the_log(
    entries: list[AuditEntry],
) -> None:
    client = _client(_staff_with("auditor", "view_auditentry"))

    everything = client.get(AUDIT)
    failed = client.get(AUDIT, {"action": AuditAction.LOGIN_FAILED})
    by_bob = client.get(AUDIT, {"q": "bob"})
    page = client.get(change_url(entries[0]))

    assert everything.status_code == 200
    # force_login is a login too: the auditor's own entry is listed as well.
    assert {e.pk for e in entries} < set(_listed(everything))
    assert "Failed login" in everything.content.decode()  # the action's label
    assert _listed(failed) == [entries[1].pk]
    assert _listed(by_bob) == [entries[2].pk]
    assert page.status_code == 200
    assert "192.0.2.1" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()


@pytest.mark.parametrize("client_fixture", ["viewer_client", "operator_client", "norole_client"])
def test_roles_without_view_auditentry_see_nothing(
    request: pytest.FixtureRequest, client_fixture: str, entries: list[AuditEntry]
) -> None:
    client: Client = request.getfixturevalue(client_fixture)

    assert client.get(AUDIT).status_code == 403
    assert client.get(change_url(entries[0])).status_code == 403
    assert "auditentry" not in client.get(reverse("admin:index")).content.decode()


def test_change_permission_alone_does_not_open_the_log(entries: list[AuditEntry]) -> None:
    client = _client(_staff_with("changer", "change_auditentry"))

    assert client.get(AUDIT).status_code == 403


def test_nobody_can_add_change_or_delete_entries_not_even_a_superuser(
    superuser_client: Client, entries: list[AuditEntry]
) -> None:
    entry = entries[0]
    before = AuditEntry.objects.count()
    add = superuser_client.get(reverse("admin:alarms_auditentry_add"))
    change = superuser_client.post(change_url(entry), {"action": "tampered"})
    delete = superuser_client.post(
        reverse("admin:alarms_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    bulk_delete = superuser_client.post(
        AUDIT, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    listing = superuser_client.get(AUDIT).content.decode()

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert bulk_delete.status_code in (200, 302)
    assert AuditEntry.objects.count() == before
    entry.refresh_from_db()
    assert entry.action == AuditAction.LOGIN
    assert "delete_selected" not in listing

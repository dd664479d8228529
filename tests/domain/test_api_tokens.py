"""API tokens (issue 14, finding 13): hashed, expiring, revocable, shown once."""

from __future__ import annotations

import hashlib
import importlib
import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from alarms.models import ApiToken
from alarms.permissions import VIEWER
from alarms.services.tokens import create_token, mark_used, revoke_token
from tests.conftest import make_staff_user

pytestmark = pytest.mark.django_db

ALARMS = "/api/v1/alarms/"
TOKENS = "/admin/alarms/apitoken/"
COMMAND_LINE = re.compile(r"^Generated token ([0-9a-f]{40}) for user (\S+)$")


def get(key: str, url: str = ALARMS) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(url)


@pytest.fixture
def viewer() -> Any:
    return make_staff_user("token-viewer", VIEWER)


def test_only_the_keys_hash_and_prefix_are_stored(viewer: Any) -> None:
    new = create_token(user=viewer, name="ci")

    row = ApiToken.objects.values().get(pk=new.token.pk)
    assert row["key_hash"] == hashlib.sha256(new.key.encode()).hexdigest()
    assert row["prefix"] == new.key[:8]
    assert not any(new.key in str(value) for value in row.values())


def test_a_token_authenticates_api_requests_as_its_user(viewer: Any) -> None:
    response = get(create_token(user=viewer).key)

    assert response.status_code == 200
    assert response.wsgi_request.user == viewer


def test_an_expired_token_is_refused(viewer: Any) -> None:
    new = create_token(user=viewer, expires_in=timedelta(days=1))
    ApiToken.objects.filter(pk=new.token.pk).update(expires_at=timezone.now())

    response = get(new.key)

    assert response.status_code == 401
    assert response.json()["detail"] == "Token expired."
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_is_refused_like_an_unknown_one(viewer: Any) -> None:
    new = create_token(user=viewer)
    assert revoke_token(token=new.token)

    response = get(new.key)

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."
    assert get("0" * 40).json()["detail"] == "Invalid token."
    assert not revoke_token(token=new.token)  # a second revoke changes nothing


def test_a_token_of_an_inactive_user_is_refused(viewer: Any) -> None:
    key = create_token(user=viewer).key
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])

    assert get(key).status_code == 401


def test_tokens_get_the_configured_lifetime(viewer: Any, settings: Any) -> None:
    settings.ALARMHUB_API_TOKEN_DAYS = None
    assert create_token(user=viewer).token.expires_at is None

    settings.ALARMHUB_API_TOKEN_DAYS = 30
    expires_at = create_token(user=viewer).token.expires_at
    assert expires_at is not None
    assert abs(expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    # An explicit lifetime wins over the default.
    short = create_token(user=viewer, expires_in=timedelta(days=2)).token.expires_at
    assert short is not None and short < expires_at


def test_last_used_is_stamped_at_most_once_a_minute(viewer: Any) -> None:
    new = create_token(user=viewer)
    assert new.token.last_used_at is None

    get(new.key)
    first = ApiToken.objects.get(pk=new.token.pk).last_used_at
    assert first is not None
    get(new.key)
    assert ApiToken.objects.get(pk=new.token.pk).last_used_at == first

    ApiToken.objects.filter(pk=new.token.pk).update(last_used_at=first - timedelta(minutes=2))
    get(new.key)
    assert ApiToken.objects.get(pk=new.token.pk).last_used_at > first  # type: ignore[operator]


def test_mark_used_skips_the_write_within_the_minute(
    viewer: Any, django_assert_num_queries: Any
) -> None:
    token = create_token(user=viewer).token
    now = timezone.now()
    with django_assert_num_queries(1):
        mark_used(token, now=now)
    with django_assert_num_queries(0):
        mark_used(token, now=now + timedelta(seconds=59))


# --- drf_create_token -------------------------------------------------------------------------


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("drf_create_token", *args, stdout=out)
    return out.getvalue().strip()


def test_drf_create_token_prints_drfs_line_with_a_working_key(viewer: Any) -> None:
    match = COMMAND_LINE.match(run_command("token-viewer"))

    assert match is not None
    assert match.group(2) == "token-viewer"
    assert get(match.group(1)).status_code == 200
    assert ApiToken.objects.get(user=viewer).name == "drf_create_token"


def test_drf_create_token_reset_revokes_the_users_other_tokens(viewer: Any) -> None:
    old = create_token(user=viewer).key

    line = run_command("token-viewer", "-r")

    match = COMMAND_LINE.match(line)
    assert match is not None
    assert get(old).status_code == 401
    assert get(match.group(1)).status_code == 200


def test_drf_create_token_sets_the_expiry_asked_for(viewer: Any) -> None:
    run_command("token-viewer", "--expires-in-days", "7")

    expires_at = ApiToken.objects.get(user=viewer).expires_at
    assert expires_at is not None
    assert abs(expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_drf_create_token_refuses_an_unknown_user(db: None) -> None:
    with pytest.raises(CommandError, match="user nobody does not exist"):
        run_command("nobody")


# --- migration 0012: DRF's plain-text tokens ----------------------------------------------------


def test_migrated_drf_tokens_keep_working_and_their_plain_text_is_gone(viewer: Any) -> None:
    migration = importlib.import_module("alarms.migrations.0012_api_tokens")
    drf_token = Token.objects.create(user=viewer)
    created = drf_token.created

    migration.hash_drf_tokens(apps, None)

    assert not Token.objects.exists()
    migrated = ApiToken.objects.get(user=viewer)
    assert migrated.key_hash == hashlib.sha256(drf_token.key.encode()).hexdigest()
    assert (migrated.prefix, migrated.created_at) == (drf_token.key[:8], created)
    assert get(drf_token.key).status_code == 200


def test_a_drf_token_no_longer_authenticates(viewer: Any) -> None:
    # Only ApiToken counts: a row written into DRF's table (say, from the shell) is not a key.
    assert get(Token.objects.create(user=viewer).key).status_code == 401


# --- the admin --------------------------------------------------------------------------------


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_lists_tokens_by_prefix_never_by_key(django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("token-root", "r@example.com", None)
    new = create_token(user=root, name="deploy")

    page = admin_client(root).get(TOKENS).content.decode()

    assert f"{new.key[:8]}…" in page and "deploy" in page
    assert new.key not in page
    assert new.key not in admin_client(root).get(f"{TOKENS}{new.token.pk}/change/").content.decode()


def test_drfs_plain_text_token_admin_is_gone(django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("token-root", "r@example.com", None)

    assert admin_client(root).get("/admin/authtoken/tokenproxy/").status_code == 404


def test_a_token_made_in_the_admin_shows_its_key_once(django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("token-root", "r@example.com", None)
    client = admin_client(root)

    added = client.post(f"{TOKENS}add/", {"user": root.pk, "name": "laptop"}, follow=True)

    shown = " ".join(str(m) for m in added.context["messages"])
    key = re.search(r'<code class="alarmhub-token">([0-9a-f]{40})</code>', shown)
    assert key is not None
    assert get(key.group(1)).status_code == 200
    assert key.group(1) not in client.get(TOKENS).content.decode()  # not again


def test_a_non_superuser_may_only_make_tokens_for_themselves(viewer: Any) -> None:
    other = make_staff_user("someone-else")
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_apitoken", "view_apitoken"])
    )
    client = admin_client(viewer)

    refused = client.post(f"{TOKENS}add/", {"user": other.pk, "name": "stolen"})
    client.post(f"{TOKENS}add/", {"user": viewer.pk, "name": "mine"})

    assert refused.status_code == 200  # the form again, with an error
    assert list(ApiToken.objects.values_list("user__username", "name")) == [
        ("token-viewer", "mine")
    ]

"""Fixtures shared by the in-process (SQLite) test suites."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache

from alarms.services.endpoints import NewEndpoint
from tests.support.factories import make_endpoint


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A request in zh-hans leaves that language active in the thread: start every test in
    the default language, whatever ran before."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """The endpoint look-up cache is per process: never let it leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def endpoint(db: None) -> NewEndpoint:
    """An active endpoint in Asia/Shanghai: ``.endpoint``, ``.token``, ``.path``."""
    return make_endpoint(name="tencent-prod")


# --- staff users in each operator role (admin and UI tests) ----------------------------------


def role_group(name: str) -> Any:
    """The role's group with its permissions (re-created after a transactional test's flush)."""
    from django.contrib.auth.models import Group, Permission

    from alarms.permissions import ROLE_PERMISSIONS

    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="alarms", codename__in=ROLE_PERMISSIONS[name]
        )
    )
    return group


def make_staff_user(username: str, *roles: str, password: str | None = None) -> Any:
    """A staff user (admin login allowed) in the given role groups; no password by default."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=password, is_staff=True
    )
    for name in roles:
        user.groups.add(role_group(name))
    return user


@pytest.fixture
def operator_user(db: None) -> Any:
    from alarms.permissions import OPERATOR

    return make_staff_user("ops-operator", OPERATOR)


@pytest.fixture
def viewer_user(db: None) -> Any:
    from alarms.permissions import VIEWER

    return make_staff_user("ops-viewer", VIEWER)


@pytest.fixture
def staff_no_role_user(db: None) -> Any:
    """Staff (may log in to the admin) but in no role: must see nothing."""
    return make_staff_user("ops-norole")


@pytest.fixture(autouse=True)
def _allow_sync_orm_in_browser_tests(request: pytest.FixtureRequest, monkeypatch: Any) -> None:
    """Playwright's sync API runs an event loop in the test thread, which makes Django refuse
    ORM calls there; browser tests (only) set DJANGO_ALLOW_ASYNC_UNSAFE."""
    if request.node.get_closest_marker("browser"):
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

"""Fixtures for the REST API tests: users in each role with API tokens, and alarms built through
the lifecycle service (never by writing model rows directly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from alarms import permissions
from alarms.models import Alarm, ApiToken, CallbackEndpoint
from alarms.services.lifecycle import apply_notification
from alarms.services.tokens import create_token
from tests.support.factories import make_endpoint, notification


@dataclass(frozen=True)
class Account:
    user: User | None
    token: str | None

    def client(self) -> APIClient:
        api = APIClient()
        if self.token:
            api.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")
        return api


def make_account(
    username: str, *, groups: tuple[str, ...] = (), superuser: bool = False, staff: bool = False
) -> Account:
    # No password (unusable): hashing one costs ~0.3 s, and these users log in by token.
    if superuser:
        user = User.objects.create_superuser(username, f"{username}@example.com", None)
    else:
        user = User.objects.create_user(username, f"{username}@example.com", None)
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    new = create_token(user=user)
    # Pinned query counts measure a token in use: a token's first use in a minute also stamps
    # last_used_at (one UPDATE), which tests/domain/test_api_tokens.py covers.
    ApiToken.objects.filter(pk=new.token.pk).update(last_used_at=timezone.now())
    return Account(user=user, token=new.key)


ROLES = ("anonymous", "norole", "viewer", "operator", "staff", "superuser")


@pytest.fixture
def accounts(db: None) -> dict[str, Account]:
    """One account per role; ``staff`` is staff without an operator role."""
    return {
        "anonymous": Account(user=None, token=None),
        "norole": make_account("norole"),
        "viewer": make_account("viewer", groups=(permissions.VIEWER,)),
        "operator": make_account("operator", groups=(permissions.OPERATOR,)),
        "staff": make_account("staff", staff=True),
        "superuser": make_account("root", superuser=True),
    }


@pytest.fixture
def viewer(accounts: dict[str, Account]) -> APIClient:
    return accounts["viewer"].client()


@pytest.fixture
def operator(accounts: dict[str, Account]) -> APIClient:
    return accounts["operator"].client()


@pytest.fixture
def api_endpoint(db: None) -> CallbackEndpoint:
    return make_endpoint(name="api-tests").endpoint


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A UTC time in March 2024: short to write in test tables."""
    return datetime(2024, 3, day, hour, minute, second, tzinfo=UTC)


def apply(endpoint: CallbackEndpoint, **overrides: Any) -> Alarm:
    """Apply one notification through the lifecycle service; returns the alarm it touched."""
    return apply_notification(endpoint=endpoint, notification=notification(**overrides)).alarm


def metric_alarm(endpoint: CallbackEndpoint, *, instance_id: str, **overrides: Any) -> Alarm:
    """A metric alarm whose identity is its instance (dimensions follow the instance id)."""
    fields: dict[str, Any] = {
        "instance_id": instance_id,
        "dimensions": {"unInstanceId": instance_id},
    }
    fields.update(overrides)
    return apply(endpoint, **fields)


@pytest.fixture
def alarm_factory(api_endpoint: CallbackEndpoint) -> Callable[..., Alarm]:
    """``alarm_factory(instance_id="ins-1", first_occurred_at=at(1), ...)``."""

    def build(*, instance_id: str = "ins-1", **overrides: Any) -> Alarm:
        return metric_alarm(api_endpoint, instance_id=instance_id, **overrides)

    return build

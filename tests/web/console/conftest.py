"""Console test users: Viewers and Operators who are not staff, the console's main audience."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alarms.permissions import OPERATOR, VIEWER
from tests.conftest import role_group


def console_user(name: str, *roles: str, staff: bool = False) -> User:
    user = User.objects.create_user(name, password="pw-unused-123", is_staff=staff)
    for role in roles:
        user.groups.add(role_group(role))
    return user


def client_for(user: Any, **cookies: str) -> Client:
    client = Client()
    client.force_login(user)
    for key, value in cookies.items():
        client.cookies[key] = value
    return client


@pytest.fixture
def viewer(db: None) -> User:
    """A Viewer who is not staff: reads everything, acts on nothing, never sent to /admin/."""
    return console_user("vera", VIEWER)


@pytest.fixture
def operator(db: None) -> User:
    """An Operator who is not staff."""
    return console_user("otto", OPERATOR)


@pytest.fixture
def staff_operator(db: None) -> User:
    return console_user("sam", OPERATOR, staff=True)

"""Users for web and browser tests: Viewers and Operators who are not staff, logged-in clients."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client

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

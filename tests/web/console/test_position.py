"""The board says where it is ("Alarms 3–4"): keyset pages carry a page counter."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import User

from alarms.console import board
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


def link(page: str, rel: str) -> str:
    found = re.search(rf'<a href="\?([^"]*)" rel="{rel}">', page)
    assert found, rel
    return "/?" + html.unescape(found.group(1))


def test_position_follows_older_and_newer_links(
    endpoint: NewEndpoint, viewer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board, "PAGE_SIZE", 2)
    for _ in range(5):
        apply_alarm(endpoint.endpoint)
    client = client_for(viewer)
    first = client.get("/").content.decode()
    assert "Alarms 1–2" in first
    second = client.get(link(first, "next")).content.decode()
    assert "Alarms 3–4" in second
    third = client.get(link(second, "next")).content.decode()
    assert "Alarms 5–5" in third
    back = client.get(link(third, "prev")).content.decode()
    assert "Alarms 3–4" in back
    top = client.get(link(back, "prev")).content.decode()
    assert "Alarms 1–2" in top


def test_a_forged_page_counter_is_reset_at_the_newest_end(
    endpoint: NewEndpoint, viewer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board, "PAGE_SIZE", 2)
    for _ in range(3):
        apply_alarm(endpoint.endpoint)
    client = client_for(viewer)
    second = client.get(link(client.get("/").content.decode(), "next")).content.decode()
    prev = link(second, "prev").replace("page=1", "page=77")
    assert "Alarms 1–2" in client.get(prev).content.decode()
    assert "Alarms 1–2" in client.get("/?page=junk").content.decode()

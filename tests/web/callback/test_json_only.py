"""The callback URL answers JSON only: no browsable API page (issue 14, finding 13)."""

from __future__ import annotations

from django.test import Client

from alarms.services.endpoints import NewEndpoint


def test_a_browser_gets_json_not_the_browsable_api(client: Client, endpoint: NewEndpoint) -> None:
    response = client.get(endpoint.path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"retCode": 0}
    assert b"<html" not in response.content


def test_an_unknown_token_answers_json_to_a_browser_too(client: Client, db: None) -> None:
    response = client.get("/api/v1/callbacks/not-a-token/", HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_an_accept_header_without_json_still_gets_the_alarm_stored(
    client: Client, endpoint: NewEndpoint
) -> None:
    from tests.support.factories import post_callback, tencent_payload

    response = post_callback(client, endpoint.path, tencent_payload(), HTTP_ACCEPT="text/plain")

    assert response.status_code == 200
    assert response.json()["retCode"] == 0

"""Broken request framing on the public callback is the client's fault: a 400, never a 500 and
never a silent 200 (issue 14, finding 3). The real-server variant is in
tests/integration/test_callback_http_edges.py."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client, RequestFactory
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData

from alarms.ingress.callback import CallbackView
from alarms.models import Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import encode, post_callback, tencent_payload

pytestmark = pytest.mark.django_db


class FailingInput(io.RawIOBase):
    """A wsgi.input whose read fails the way a server's body reader does on bad framing."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def read(self, size: int = -1) -> bytes:
        raise self.error

    def readline(self, size: int | None = -1) -> bytes:
        raise self.error


def _post(endpoint: NewEndpoint, meta: dict[str, Any]) -> Any:
    # Passed to generic() so the request's stream is built over our wsgi.input.
    request = RequestFactory().generic("POST", endpoint.path, b"{}", "application/json", **meta)
    return CallbackView.as_view()(request, token=endpoint.token)


@pytest.mark.parametrize(
    "error",
    [
        InvalidChunkSize(b"zz"),  # gunicorn: `zz\r\n` where a hex size belongs
        ChunkMissingTerminator(b"xx"),
        NoMoreData(b""),  # gunicorn: the client closed mid-body
        OSError("connection reset"),
        ValueError("bad chunk"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_chunked_body_the_server_cannot_read_is_400_not_500(
    endpoint: NewEndpoint, error: BaseException
) -> None:
    meta = {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "CONTENT_LENGTH": "",
        "wsgi.input_terminated": True,
        "wsgi.input": FailingInput(error),
    }

    response = _post(endpoint, meta)

    assert response.status_code == 400
    assert response.data == {"retCode": 1, "error": "malformed or truncated request body"}
    assert not Delivery.objects.exists()


def test_body_with_content_length_the_server_cannot_read_is_400(endpoint: NewEndpoint) -> None:
    meta = {"CONTENT_LENGTH": "2", "wsgi.input": FailingInput(NoMoreData(b""))}

    response = _post(endpoint, meta)

    assert response.status_code == 400
    assert response.data["retCode"] == 1


@pytest.mark.parametrize("value", ["abc", "-1", "+5", "1e3", "²", "5 5"])
def test_invalid_content_length_with_a_body_is_400_and_stores_nothing(
    client: Client, endpoint: NewEndpoint, value: str
) -> None:
    body = encode(tencent_payload(session_id="cl"))

    # Before the fix Django read the body as empty and the view answered 200 {"retCode": 0}.
    response = post_callback(client, endpoint.path, body, CONTENT_LENGTH=value)

    assert response.status_code == 400
    assert response.json() == {"retCode": 1, "error": "invalid Content-Length header"}
    assert not Delivery.objects.exists()


def test_body_shorter_than_its_content_length_is_400_not_stored(endpoint: NewEndpoint) -> None:
    body = encode(tencent_payload(session_id="cut"))
    # The client announced more than it sent, then closed: the input ends early.
    meta = {"CONTENT_LENGTH": str(len(body) + 10), "wsgi.input": io.BytesIO(body)}

    response = _post(endpoint, meta)

    assert response.status_code == 400
    assert response.data["error"] == "body shorter than its Content-Length"
    assert not Delivery.objects.exists()


def test_valid_content_length_is_still_stored(
    client: Client, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    body = encode(tencent_payload(session_id="fine"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post_callback(client, endpoint.path, body)

    assert response.json() == {"sessionId": "fine", "retCode": 0}
    assert Delivery.objects.count() == 1

"""The HTTP transport never lets an answer that breaks off escape as an exception."""

from __future__ import annotations

from typing import Any
from unittest import mock

import urllib3

from alarms.models import Channel
from alarms.notify.formats import OutboundRequest
from alarms.notify.transport import post


class BrokenAnswer:
    """A response whose status arrived but whose body broke off mid-read."""

    status_code = 200

    class raw:
        @staticmethod
        def read(*args: Any, **kwargs: Any) -> bytes:
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")

    def close(self) -> None:
        pass


def test_an_answer_that_breaks_off_is_a_transient_failure_not_an_exception() -> None:
    channel = Channel(name="robot", kind="wecom", url="http://127.0.0.1:9/send?key=k")
    request = OutboundRequest("POST", channel.url, {}, b"{}")

    with mock.patch("alarms.notify.transport.requests.request", return_value=BrokenAnswer()):
        result = post(request, channel)

    assert result.classification.outcome == "transient"
    assert "IncompleteRead" in result.error

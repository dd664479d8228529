"""The overflow digest for robot channels: pure, no network."""

from __future__ import annotations

import pytest

from alarms.notify.digest import board_url, build_digest_request, render_digest
from alarms.notify.message import OutboundAlarm
from tests.unit.notify.factories import BASE_URL, DINGTALK_URL, NOW, make_alarm


def overflow() -> list[OutboundAlarm]:
    firing = [make_alarm(id=100 + n) for n in range(30)]
    recovered = [
        make_alarm(id=200 + n, status="recovered", recovered_at="2026-12-03T08:00:00Z")
        for n in range(7)
    ]
    return [*firing, *recovered]


def test_digest_counts_the_overflow_in_english() -> None:
    message = render_digest(overflow(), base_url=BASE_URL, language="en")

    assert message.title == "37 more alarms in qce/cvm: 30 firing, 7 recovered"
    assert message.lines[0] == f"**{message.title}**"
    assert message.lines[1] == (
        "- firing · [CPU利用率 > 80% — ins-xxx](https://hub.example.com/alarms/100/)"
    )
    assert len(message.lines) == 1 + 10 + 1
    assert message.lines[-1] == "… and 27 more"
    assert message.url == "https://hub.example.com/?namespace=qce%2Fcvm"
    assert message.link_text == "Open the board"
    assert message.tone == "danger"


def test_digest_in_chinese() -> None:
    message = render_digest(overflow(), base_url=BASE_URL, language="zh-hans")

    assert message.title == "qce/cvm 另有 37 条告警：30 条告警中，7 条已恢复"
    assert message.lines[-1] == "…… 另有 27 条"
    assert message.link_text == "查看告警列表"


def test_digest_counts_each_alarm_once_in_its_latest_state() -> None:
    trigger = make_alarm(id=1)
    recovery = make_alarm(id=1, status="recovered", recovered_at="2026-12-03T08:00:00Z")

    message = render_digest([trigger, recovery], base_url=BASE_URL, language="en")

    assert message.title == "1 more alarm in qce/cvm: 1 recovered"
    assert message.url == "https://hub.example.com/?namespace=qce%2Fcvm&status=recovered"
    assert message.tone == "ok"


def test_board_url_repeats_namespace_and_adds_a_shared_status() -> None:
    alarms = [
        make_alarm(id=1, namespace="qce/cvm"),
        make_alarm(id=2, namespace="qce/cdb"),
        make_alarm(id=3, namespace="qce/cvm"),
        make_alarm(id=4, namespace=""),
    ]

    assert board_url(f"{BASE_URL}/", alarms) == (
        "https://hub.example.com/?namespace=qce%2Fcdb&namespace=qce%2Fcvm&status=firing"
    )
    mixed = [*alarms, make_alarm(id=5, status="recovered")]
    assert board_url(BASE_URL, mixed) == (
        "https://hub.example.com/?namespace=qce%2Fcdb&namespace=qce%2Fcvm"
    )


def test_digest_names_at_most_three_namespaces() -> None:
    alarms = [make_alarm(id=n, namespace=f"qce/ns{n}") for n in range(5)]

    message = render_digest(alarms, base_url=BASE_URL, language="en")

    assert message.title == "5 more alarms in qce/ns0, qce/ns1, qce/ns2 +2: 5 firing"
    assert message.url.count("namespace=") == 5


def test_digest_escapes_payload_text() -> None:
    alarm = make_alarm(instance_id="[x](http://evil)", namespace="<@all>")

    message = render_digest([alarm], base_url=BASE_URL, language="en")

    body = message.markdown()
    assert "<@all>" not in body
    assert "[x](http" not in body


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_digest_request_for_each_robot(kind: str) -> None:
    request = build_digest_request(
        kind, overflow(), url=DINGTALK_URL, secret="s", now=NOW, base_url=BASE_URL, language="en"
    )

    assert "37 more alarms in qce/cvm: 30 firing, 7 recovered" in request.body.decode()
    assert "https://hub.example.com/?namespace=qce%2Fcvm" in request.body.decode()


def test_digest_is_only_for_robots_and_needs_alarms() -> None:
    with pytest.raises(ValueError, match="robot"):
        build_digest_request("webhook", overflow(), url="u", now=NOW, base_url=BASE_URL)
    with pytest.raises(ValueError, match="at least one"):
        render_digest([], base_url=BASE_URL)

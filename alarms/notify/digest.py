"""One message for the alarms that overflowed a robot's rate limit, and its request.

Pure, like :mod:`alarms.notify.formats`, whose robot builders post it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import urlencode

from alarms.notify.escaping import escape_markdown, plain_text, safe_url
from alarms.notify.formats import OutboundRequest, build_robot_request, check_send
from alarms.notify.kinds import ROBOT_KINDS
from alarms.notify.message import OutboundAlarm, RenderedMessage, Tone, condition_text
from alarms.notify.timefmt import Language, normalise_language

DIGEST_MAX_LISTED = 10

_DIGEST_TEXT: dict[str, dict[str, str]] = {
    "zh-hans": {
        "summary": "{where}另有 {count} 条告警：{parts}",
        "where": "{namespaces} ",
        "firing": "{n} 条告警中",
        "recovered": "{n} 条已恢复",
        "joiner": "，",
        "more": "…… 另有 {n} 条",
        "state_firing": "告警中",
        "state_recovered": "已恢复",
        "link": "查看告警列表",
    },
    "en": {
        "summary": "{count} more {alarms}{where}: {parts}",
        "where": " in {namespaces}",
        "firing": "{n} firing",
        "recovered": "{n} recovered",
        "joiner": ", ",
        "more": "… and {n} more",
        "state_firing": "firing",
        "state_recovered": "recovered",
        "link": "Open the board",
    },
}


def _distinct(alarms: Sequence[OutboundAlarm]) -> list[OutboundAlarm]:
    # One alarm may have overflowed twice (trigger, then recovery): its latest snapshot counts.
    return list({alarm.id: alarm for alarm in alarms}.values())


def board_url(base_url: str, alarms: Sequence[OutboundAlarm]) -> str:
    """The board filtered to these alarms: their namespaces, and their status if all share it."""
    params = [("namespace", ns) for ns in sorted({a.namespace for a in alarms if a.namespace})]
    statuses = {alarm.status for alarm in alarms}
    if len(statuses) == 1:
        params.append(("status", statuses.pop()))
    base = base_url.rstrip("/")
    return f"{base}/?{urlencode(params)}" if params else f"{base}/"


def _namespaces_text(alarms: Sequence[OutboundAlarm]) -> str:
    namespaces = sorted({alarm.namespace for alarm in alarms if alarm.namespace})
    shown = ", ".join(namespaces[:3])
    return f"{shown} +{len(namespaces) - 3}" if len(namespaces) > 3 else shown


def render_digest(
    alarms: Sequence[OutboundAlarm],
    *,
    base_url: str,
    language: str = "zh-hans",
    max_listed: int = DIGEST_MAX_LISTED,
) -> RenderedMessage:
    """One message for the alarms that overflowed a robot's rate limit.

    E.g. ``37 more alarms in qce/cvm: 30 firing, 7 recovered``, the first ``max_listed`` alarms
    each linked to its page, and a link to the board filtered to them (``base_url`` is
    ``ALARMHUB_BASE_URL``). Alarms are counted once each, in their latest state.
    """
    distinct = _distinct(alarms)
    if not distinct:
        raise ValueError("a digest needs at least one alarm")
    lang: Language = normalise_language(language)
    text = _DIGEST_TEXT[lang]
    firing = sum(alarm.status == "firing" for alarm in distinct)
    recovered = len(distinct) - firing
    parts = [
        text[state].format(n=n) for state, n in (("firing", firing), ("recovered", recovered)) if n
    ]
    namespaces = _namespaces_text(distinct)

    def summary(clean: Callable[[object], str]) -> str:
        where = text["where"].format(namespaces=clean(namespaces)) if namespaces else ""
        return text["summary"].format(
            count=len(distinct),
            alarms="alarm" if len(distinct) == 1 else "alarms",
            where=where,
            parts=text["joiner"].join(parts),
        )

    lines = [f"**{summary(escape_markdown)}**"]
    for alarm in distinct[:max_listed]:
        state = text[f"state_{alarm.status}"]
        target = alarm.instance_id or alarm.instance_name
        label = condition_text(alarm) or f"#{alarm.id}"
        if target:
            label = f"{label} — {target}"
        lines.append(f"- {state} · [{escape_markdown(label)}]({safe_url(alarm.url)})")
    if len(distinct) > max_listed:
        lines.append(text["more"].format(n=len(distinct) - max_listed))
    tone: Tone = "danger" if firing else "ok"
    return RenderedMessage(
        title=summary(plain_text),
        lines=tuple(lines),
        link_text=text["link"],
        url=board_url(base_url, distinct),
        tone=tone,
    )


def build_digest_request(
    kind: str,
    alarms: Sequence[OutboundAlarm],
    *,
    url: str,
    secret: str = "",
    now: datetime,
    base_url: str,
    language: str = "zh-hans",
) -> OutboundRequest:
    """The digest of overflowed ``alarms`` for a robot channel (webhooks have no vendor limit)."""
    check_send(kind, now)
    if kind not in ROBOT_KINDS:
        raise ValueError(f"digests are for robot channels, not {kind!r}")
    message = render_digest(alarms, base_url=base_url, language=language)
    return build_robot_request(kind, message, url=url, secret=secret, now=now)

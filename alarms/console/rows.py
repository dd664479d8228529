"""The board's table rows, written in Python rather than by the template engine (issue 16).

A board shows 100 rows of some 40 values each; placed by ``{% for %}`` with per-row filters,
``{% url %}`` and ``{% translate %}`` they cost most of the page's CPU. As Django's admin does
for its change list (``items_for_result``), each row is worked out by a plain function
(``board_row``) and written with the markup the template had, every value escaped as the
template escaped it. Labels are translated and URLs reversed once per page, not per row.
``templates/alarms/_alarm_table.html`` places the rows with ``{% board_rows %}``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from ..choices import AlarmStatus
from ..display import TimeWriter, condition_text, humanize_duration, status_colour
from ..models import Alarm
from .css import colour_class

# An id no alarm has, for reversing a URL once per page (see _pk_url).
_PK_MARKER = 987654321987654321

_STATUS_LABELS = dict(AlarmStatus.choices)


def _pk_url(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for any pk, from one reverse (an int converter's URL)."""
    head, _, tail = reverse(name, args=[_PK_MARKER]).rpartition(str(_PK_MARKER))
    return lambda pk: f"{head}{pk}{tail}"


def _e(value: object) -> str:
    """What ``{{ value }}`` writes: safe strings as they are, anything else HTML-escaped."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


@dataclass(frozen=True)
class BoardRow:
    """What one row shows, as text (escaped when written) or ready markup (the times)."""

    pk: int
    status: str
    status_label: str
    flapping: bool
    stale: bool
    silenced: bool
    recent: bool
    level: str
    namespace: str
    region: str
    url: str
    policy: str  # "" when there is none: the row says "(no policy)"
    instance_id: str
    instance_name: str
    ips: tuple[str, ...]
    condition: str
    first_occurred: SafeString | str
    first_occurred_age: SafeString | str
    duration: str
    notification_count: int
    acknowledged: bool
    acknowledged_by: str
    acknowledged_age: SafeString | str
    acknowledge_url: str

    @property
    def css(self) -> str:
        return (
            f"status-{self.status}"
            + (" is-stale" if self.stale else "")
            + (" is-recent" if self.recent else "")
        )


def board_row(
    alarm: Alarm,
    *,
    silenced: bool = False,
    alarm_url: Callable[[int], str] | None = None,
    acknowledge_url: Callable[[int], str] | None = None,
    time_html: TimeWriter | None = None,
) -> BoardRow:
    """One board row's values. Markers (``is_stale`` from ``with_stale``, ``ips`` and
    ``recently_recovered`` from ``decorate_rows``) are read when present, else left off."""
    alarm_url = alarm_url or _pk_url("alarms:alarm")
    acknowledge_url = acknowledge_url or _pk_url("alarms:acknowledge")
    time_html = time_html or TimeWriter()
    policy, instance = alarm.policy, alarm.instance
    acknowledged = bool(alarm.acknowledged_at)
    by = alarm.acknowledged_by if acknowledged else None
    return BoardRow(
        pk=alarm.pk,
        status=alarm.status,
        status_label=str(_STATUS_LABELS.get(alarm.status, alarm.status)),
        flapping=bool(alarm.flapping),
        stale=bool(getattr(alarm, "is_stale", False)),
        silenced=silenced,
        recent=bool(getattr(alarm, "recently_recovered", False)),
        level=alarm.level,
        namespace=alarm.namespace,
        region=alarm.region,
        url=alarm_url(alarm.pk),
        policy=(policy.name or policy.policy_id) if policy else "",
        instance_id=instance.instance_id if instance else "",
        instance_name=instance.name if instance else "",
        ips=tuple(getattr(alarm, "ips", ())),
        condition=condition_text(alarm),
        first_occurred=time_html(alarm.first_occurred_at),
        first_occurred_age=time_html(alarm.first_occurred_at, age=True),
        duration=humanize_duration(alarm.duration_seconds),
        notification_count=alarm.notification_count,
        acknowledged=acknowledged,
        acknowledged_by=(by.get_username() if by else "") or "✓",
        acknowledged_age=time_html(alarm.acknowledged_at, age=True),
        acknowledge_url=acknowledge_url(alarm.pk),
    )


@dataclass(frozen=True)
class _Labels:
    """The rows' words, translated once per page (the strings the template used to hold)."""

    select: str
    flapping: str
    stale: str
    stale_title: str
    silenced: str
    silenced_title: str
    recent: str
    recent_title: str
    no_policy: str
    unacknowledge: str
    acknowledge: str
    note_placeholder: str
    note: str

    @classmethod
    def current(cls) -> _Labels:
        return cls(
            select=gettext("Select alarm %(id)s"),
            flapping=_e(gettext("flapping")),
            stale=_e(gettext("stale")),
            stale_title=_e(
                gettext(
                    "Firing, but no notification for a long time: the recovery may have been lost."
                )
            ),
            silenced=_e(gettext("silenced")),
            silenced_title=_e(
                gettext("A silence is in force: messages for this alarm are not sent.")
            ),
            recent=_e(gettext("recently recovered")),
            recent_title=_e(gettext("Recovered recently: listed above older alarms for a while.")),
            no_policy=gettext("(no policy)"),
            unacknowledge=_e(gettext("Unacknowledge")),
            acknowledge=_e(gettext("Acknowledge")),
            note_placeholder=_e(gettext("note (optional)")),
            note=_e(gettext("Note")),
        )


def _badges(row: BoardRow, labels: _Labels) -> str:
    colour = colour_class(status_colour(row.status))
    status = _e(row.status)
    badges = f'<span class="badge badge-{status} {_e(colour)}">{_e(row.status_label)}</span>'
    if row.flapping:
        badges += f' <span class="badge badge-flapping">{labels.flapping}</span>'
    for shown, name, title, text in (
        (row.stale, "stale", labels.stale_title, labels.stale),
        (row.silenced, "silenced", labels.silenced_title, labels.silenced),
        (row.recent, "recent", labels.recent_title, labels.recent),
    ):
        if shown:
            badges += f' <span class="badge badge-{name}" title="{title}">{text}</span>'
    return badges


def _acknowledgement(row: BoardRow, labels: _Labels, next_url: str, csrf_input: str) -> str:
    """The acknowledge (or unacknowledge) form; htmx swaps just this row, and without
    JavaScript the form posts and redirects back."""
    if row.acknowledged:
        action = (
            '<input type="hidden" name="undo" value="1"><button type="submit" class="secondary">'
            f"{labels.unacknowledge}</button>\n            "
        )
    else:
        action = (
            '<input type="text" name="note" maxlength="10000" '
            f'placeholder="{labels.note_placeholder}" aria-label="{labels.note}" class="ack-note">'
            f'<button type="submit">{labels.acknowledge}</button>'
        )
    url, pk = _e(row.acknowledge_url), row.pk
    return (
        "\n          \n"
        f'          <form method="post" action="{url}" class="inline ack-form"\n'
        f'                hx-post="{url}" hx-target="#alarm-row-{pk}"\n'
        f'                hx-select="#alarm-row-{pk}" hx-swap="outerHTML">{csrf_input}\n'
        f'            <input type="hidden" name="next" value="{next_url}">\n'
        '            <input type="hidden" name="from" value="board">\n'
        f"            {action}\n"
        "          </form>\n        "
    )


def row_html(
    row: BoardRow, labels: _Labels, *, can_acknowledge: bool, next_url: str, csrf_input: str
) -> str:
    """One ``<tr>``, with the whitespace the template wrote (``next_url`` already escaped)."""
    pk = row.pk
    select = (
        f'<td class="select"><input type="checkbox" name="alarm" value="{pk}" form="bulk-form"'
        f' class="row-select" aria-label="{labels.select % {"id": pk}}"></td>'
        if can_acknowledge
        else ""
    )
    instance = _e(row.instance_id)
    if row.instance_name:
        instance += f" <small>{_e(row.instance_name)}</small>"
    instance += "".join(f' <code class="ip">{_e(ip)}</code>' for ip in row.ips)
    acknowledged = (
        f"{_e(row.acknowledged_by)} <small>{_e(row.acknowledged_age)}</small>"
        if row.acknowledged
        else ""
    )
    form = _acknowledgement(row, labels, next_url, csrf_input) if can_acknowledge else ""
    url = _e(row.url)
    return (
        f'\n    <tr class="{_e(row.css)}" id="alarm-row-{pk}" data-alarm-id="{pk}">\n'
        f"      {select}\n"
        f"      <td>{_badges(row, labels)}</td>\n"
        f"      <td>{_e(row.level)}</td>\n"
        f"      <td>{_e(row.namespace)}</td>\n"
        f"      <td>{_e(row.region)}</td>\n"
        f'      <td><a href="{url}">{_e(row.policy or labels.no_policy)}</a></td>\n'
        f'      <td class="col-instance">{instance}</td>\n'
        f'      <td><a href="{url}">{_e(row.condition)}</a></td>\n'
        f'      <td class="time">{_e(row.first_occurred)}<br><small>'
        f"{_e(row.first_occurred_age)}</small></td>\n"
        f"      <td>{_e(row.duration)}</td>\n"
        f"      <td>{row.notification_count}</td>\n"
        "      <td>\n"
        f"        {acknowledged}\n"
        f"        {form}\n"
        "      </td>\n"
        "    </tr>\n  "
    )


def render_rows(
    alarms: Iterable[Alarm],
    *,
    silenced_ids: Container[int] = (),
    can_acknowledge: bool = False,
    next_url: str = "",
    csrf_input: str = "",
) -> SafeString:
    """The board's ``<tr>`` rows for ``alarms``; ``csrf_input`` is ``{% csrf_token %}``'s."""
    labels = _Labels.current()
    alarm_url, acknowledge_url = _pk_url("alarms:alarm"), _pk_url("alarms:acknowledge")
    time_html = TimeWriter()
    next_url = _e(next_url)
    rows = (
        board_row(
            alarm,
            silenced=alarm.pk in silenced_ids,
            alarm_url=alarm_url,
            acknowledge_url=acknowledge_url,
            time_html=time_html,
        )
        for alarm in alarms
    )
    # Every value above is escaped: the joined rows are safe markup.
    return mark_safe(  # noqa: S308
        "".join(
            row_html(
                row,
                labels,
                can_acknowledge=can_acknowledge,
                next_url=next_url,
                csrf_input=csrf_input,
            )
            for row in rows
        )
    )

"""The board's filters: the one AlarmFilterSet, presented for people.

Same parameter names and meaning as the API (DESIGN §4); only what a person types differs:
times without an offset are read in the operator's zone (the API reads them as UTC), and the
repeatable text filters also take comma-separated values (``qce/cvm,qce/cdb``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..filters.fields import MultiValueCharField, UTCIsoDateTimeField
from ..filters.filtersets import AlarmFilterSet

# Filters whose values an operator may list with commas, and may repeat.
REPEATABLE_TEXT = ("namespace", "region", "policy_id", "instance_id", "level")
TIME_FILTERS = ("first_occurred_after", "first_occurred_before")
# Repeatable choices with only a few values: all shown, each a checkbox.
CHECKBOXES = ("status", "kind", "source")

LABELS = {
    "q": _("Search"),
    "namespace": _("Namespace"),
    "region": _("Region"),
    "level": _("Level"),
    "policy_id": _("Policy id"),
    "instance_id": _("Instance id"),
    "status": _("Status"),
    "kind": _("Kind"),
    "acknowledged": _("Acknowledged"),
    "stale": _("Stale"),
    "source": _("Source"),
    "first_occurred_after": _("From"),
    "first_occurred_before": _("To"),
}
PLACEHOLDERS = {
    "namespace": "qce/cvm",
    "region": "ap-guangzhou",
    "level": "Serious",
    "policy_id": "policy-…",
    "instance_id": "ins-…",
    "first_occurred_after": "2026-12-03 15:00",
    "first_occurred_before": "2026-12-03 18:00",
}


class CommaSeparatedCharField(MultiValueCharField):
    """A repeatable text value that also splits each value on commas."""

    def to_python(self, value: Any) -> list[str]:
        values = super().to_python(value)
        return [part.strip() for item in values for part in item.split(",") if part.strip()]


class ZonedDateTimeField(UTCIsoDateTimeField):
    """An ISO 8601 date-time; without an offset it is read in the active (operator's) zone."""

    default_error_messages = {
        "invalid": _("Enter a date and time such as 2026-12-03 15:00."),
    }

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and value.strip():
            text = value.strip()
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                parsed = None  # the parent explains the error (and handles "+" sent as " ")
            if parsed is not None and parsed.tzinfo is None:
                value = timezone.make_aware(parsed, timezone.get_current_timezone())
        return super().to_python(value)


class ConsoleAlarmFilterSet(AlarmFilterSet):
    """AlarmFilterSet with the board's widgets, labels and typing conveniences."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # self.filters is a deep copy per instance, so changing it leaves the API's untouched. But
        # Filter.field is cached (as ``_field``) on whichever filter first builds it, and the
        # class's base_filters are shared with AlarmFilterSet: once anything builds fields from
        # them (drf-spectacular does, for /api/v1/schema/), the copies carry the API's field and
        # would ignore every change below. Drop it, so the board's field is built from them.
        for filter_ in self.filters.values():
            vars(filter_).pop("_field", None)
        for name, filter_ in self.filters.items():
            # A filter missing from LABELS still gets a readable (if English) label, never
            # django-filter's "[invalid name]"; test_filters makes such a filter fail the tests.
            filter_.label = LABELS.get(name) or capfirst(name.replace("_", " "))
        for name in REPEATABLE_TEXT:
            self.filters[name].field_class = CommaSeparatedCharField
        for name in TIME_FILTERS:
            self.filters[name].field_class = ZonedDateTimeField
        for name in CHECKBOXES:
            self.filters[name].extra["widget"] = forms.CheckboxSelectMultiple
        self.filters["acknowledged"].extra["choices"] = (
            ("false", _("No")),
            ("true", _("Yes")),
        )
        for name in ("acknowledged", "stale"):
            self.filters[name].extra["empty_label"] = _("any")
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": _("policy, instance, metric…")}
        )

    @property
    def form(self) -> forms.Form:
        form: forms.Form = super().form  # django-filter is untyped: say what it returns
        if not getattr(form, "_console_dressed", False):
            for name, field in form.fields.items():
                field.help_text = ""  # the API's wording; the labels say enough on the board
                if name in PLACEHOLDERS:
                    field.widget.attrs["placeholder"] = PLACEHOLDERS[name]
            # Known namespaces (those firing now) as suggestions: see dashboard.html's datalist.
            form.fields["namespace"].widget.attrs["list"] = "known-namespaces"
            # Our own "already dressed" marker: Form declares no such attribute.
            form._console_dressed = True  # type: ignore[attr-defined]
        return form

"""Form fields and filters that make query parameters strict: repeatable, bounded, validated.

A bad value becomes a form error keyed by the parameter name, which DRF answers with
``400 {"<param>": ["<what is wrong>"]}`` and the console shows beside the input.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

# Bounds on free-text parameters: long enough for any Tencent id or name, short enough that a
# request cannot build a huge IN (...) clause or a pathological LIKE pattern.
MAX_VALUE_LENGTH = 300
MAX_VALUES = 100
MAX_SEARCH_LENGTH = 200


class MultiValueTextInput(forms.TextInput):
    """Reads every value of a repeated parameter; renders one text input per value."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        if hasattr(data, "getlist"):
            return list(data.getlist(name))
        value = data.get(name)
        return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        values = [v for v in (value or []) if v] if isinstance(value, list | tuple) else [value]
        parts = []
        for i, item in enumerate(values or [None]):
            item_attrs = dict(attrs or {})
            if i and "id" in item_attrs:
                item_attrs["id"] = f"{item_attrs['id']}_{i}"
            parts.append(str(super().render(name, item, item_attrs, renderer)))
        # Each part was rendered (and escaped) by TextInput itself.
        return mark_safe("".join(parts))  # noqa: S308


class MultiValueCharField(forms.MultipleChoiceField):
    """A repeatable free-text parameter (``?x=a&x=b``): any values, bounded in length and count.

    Empty values are dropped, as for every other filter: an empty form input means "any".
    """

    default_error_messages = {
        "too_long": _("Each value may have at most %(max)d characters."),
        "too_many": _("At most %(max)d values may be given."),
    }

    widget = MultiValueTextInput

    def __init__(
        self, *, max_length: int = MAX_VALUE_LENGTH, max_values: int = MAX_VALUES, **kwargs: Any
    ) -> None:
        kwargs.pop("choices", None)
        super().__init__(choices=(), **kwargs)
        self.max_length = max_length
        self.max_values = max_values
        self._null_check = ProhibitNullCharactersValidator()

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, str):  # a plain dict rather than a QueryDict (e.g. in code)
            value = [value]
        return [v for v in super().to_python(value) if v != ""]

    def valid_value(self, value: str) -> bool:
        return True

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        if len(value) > self.max_values:
            raise ValidationError(
                self.error_messages["too_many"], code="too_many", params={"max": self.max_values}
            )
        for item in value:
            if len(item) > self.max_length:
                raise ValidationError(
                    self.error_messages["too_long"],
                    code="too_long",
                    params={"max": self.max_length},
                )
            # PostgreSQL rejects NUL in text; answer 400 rather than a database error.
            self._null_check(item)


class ChoicesIgnoringEmptyField(forms.MultipleChoiceField):
    """A repeatable choice; an empty value (a form's "any" option) means no filter."""

    def to_python(self, value: Any) -> list[str]:
        return [v for v in super().to_python(value) if v != ""]


class ChoiceFilter(django_filters.MultipleChoiceFilter):
    """Repeatable choice filter (OR) that ignores empty values like every other filter here."""

    field_class = ChoicesIgnoringEmptyField


class MultiValueCharFilter(django_filters.MultipleChoiceFilter):
    """Exact match against any of the given values: ``field IN (values)``.

    ``case_insensitive=True`` compares ``LOWER(field) IN (lowered values)`` instead: one
    expression whatever the number of values, which an index on ``LOWER(field)`` can serve.

    Subclasses MultipleChoiceFilter so that django-filter renders a multi-value widget and the
    OpenAPI schema documents a repeatable (``explode``) array parameter, typed from the model.
    """

    field_class = MultiValueCharField

    def __init__(self, *args: Any, case_insensitive: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)
        self.case_insensitive = case_insensitive

    def filter(self, qs: QuerySet[Any], value: Iterable[str]) -> QuerySet[Any]:
        if self.case_insensitive:
            value = [item.lower() for item in value or ()]
        values = sorted(set(value or ()))
        if not values:
            return qs
        if self.case_insensitive:
            alias = f"{self.field_name.replace('__', '_')}_lower"
            return qs.alias(**{alias: Lower(self.field_name)}).filter(**{f"{alias}__in": values})
        return qs.filter(**{f"{self.field_name}__in": values})


class UTCIsoDateTimeField(forms.Field):
    """An ISO 8601 date-time (or date); a value without an offset is read as UTC."""

    default_error_messages = {
        "invalid": _("Enter a valid ISO 8601 date/time, e.g. 2024-05-01T08:30:00Z."),
    }

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            text = str(value).strip()
            # A "+" in a query string arrives as a space when the client did not encode it.
            if len(text) > 19 and text[-6] == " " and text[-3] == ":":
                text = f"{text[:-6]}+{text[-5:]}"
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError as exc:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


# Largest value of a 64-bit primary key: bigger ids cannot exist, and SQLite raises on them.
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    """A primary key (exact match); out-of-range values are a 400, not a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


BOOLEAN_CHOICES = (("true", "true"), ("false", "false"))


class StrictBooleanFilter(django_filters.ChoiceFilter):
    """``true`` or ``false``, anything else a 400 (django-filter's BooleanFilter ignores it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", BOOLEAN_CHOICES)
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet[Any], value: str) -> QuerySet[Any]:
        if value in ("", None):
            return qs
        return super().filter(qs, value == "true")

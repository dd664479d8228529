"""Making decoded JSON safe to store: PostgreSQL text refuses NUL and lone surrogates."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """Replace NUL and unpaired surrogates (both valid in JSON) with U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def storable(value: Any) -> Any:
    """``storable_text`` applied to every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def storable_dataclass(instance: T) -> T:
    """A copy of a dataclass instance with every string field made storable."""
    changes = {
        field.name: storable(getattr(instance, field.name))
        for field in dataclasses.fields(instance)  # type: ignore[arg-type]
        if isinstance(getattr(instance, field.name), str | dict | list)
    }
    return dataclasses.replace(instance, **changes)  # type: ignore[type-var]

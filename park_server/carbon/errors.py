"""The one error type of the carbon core: bad input, naming the field and the reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError


class CarbonInputError(ValueError):
    """Input the accounting refuses. ``field`` is a dotted path (``inputs[0].production_t``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


M = TypeVar("M", bound=BaseModel)


def parse_input(model: type[M], data: Mapping[str, Any], where: str = "") -> M:
    """Validate ``data`` as ``model``; the first problem raised as :class:`CarbonInputError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _loc(tuple(first["loc"])) or "(input)"
        if where:
            field = f"{where}.{field}"
        raise CarbonInputError(field, str(first["msg"])) from None

"""Shared pieces of the configuration models: frozen strict-keyed base, field errors."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from config.errors import ConfigError
from config.yamlio import Lines, line_of

#: Discriminator values that pydantic puts into error locations of tagged unions.
_UNION_TAGS: set[str] = set()
#: Tags of callable-discriminated unions, never keys of a file: stripped wherever they stand.
_PRIVATE_TAGS: set[str] = set()


class Frozen(BaseModel):
    """Base of every configuration model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def register_tags(*tags: str, private: bool = False) -> None:
    (_PRIVATE_TAGS if private else _UNION_TAGS).update(tags)


def field_error(field: str, reason: str) -> PydanticCustomError:
    """An error about ``field`` of the model being validated (for cross-field checks)."""
    return PydanticCustomError("zcpark_field", "{reason}", {"field": field, "reason": reason})


_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lower-case letters, digits, '-' and '_' "
            "(at most 63 characters), starting with a letter or digit"
        )
    return value


Slug = Annotated[str, AfterValidator(check_slug)]


def _parse_int(value: Any) -> Any:
    """Addresses may be written in decimal or as '0x..' strings."""
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return int(text, 16) if text.startswith("0x") else int(text, 10)
        except ValueError:
            raise ValueError(f"{value!r} is not an integer (decimal or 0x..)") from None
    return value


RegisterAddress = Annotated[int, BeforeValidator(_parse_int)]


def _format_loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    prev_int = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            prev_int = True
            continue
        if prev_int and part in _UNION_TAGS:
            prev_int = False
            continue  # pydantic's tag of a discriminated union, not a key of the file
        if part in _PRIVATE_TAGS or part.startswith(("function-", "list[", "dict[")):
            continue
        out += f".{part}" if out else part
        prev_int = False
    return out


_FRIENDLY = {
    "extra_forbidden": "unknown key (not part of this file format)",
    "missing": "required but missing",
}


def _reason(err: Any) -> str:
    kind = err["type"]
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    msg = str(err["msg"])
    msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return msg
    if "input" in err and kind not in {"zcpark_field", "value_error"}:
        shown = repr(err["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        msg = f"{msg} (got {shown})"
    return msg


def to_config_error(path: object, exc: ValidationError, lines: Lines | None = None) -> ConfigError:
    """Turn the first pydantic error into a one-line :class:`ConfigError`."""
    err = exc.errors()[0]
    loc: tuple[str | int, ...] = tuple(err["loc"])
    if err["type"] == "zcpark_field":
        ctx = err.get("ctx") or {}
        sub = str(ctx.get("field", ""))
        loc = (*loc, *_split_field(sub))
    field = _format_loc(loc)
    line = line_of(lines, _strip_tags(loc)) if lines else None
    return ConfigError(str(path), field, _reason(err), line)


def _split_field(field: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


def _strip_tags(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    out: list[str | int] = []
    prev_int = False
    for part in loc:
        if isinstance(part, str) and ((prev_int and part in _UNION_TAGS) or part in _PRIVATE_TAGS):
            prev_int = False
            continue
        prev_int = isinstance(part, int)
        out.append(part)
    return tuple(out)

"""Reading YAML while keeping the line of every key, so errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError

Lines = dict[tuple[str | int, ...], int]


def read_text(path: Path) -> str:
    """A configuration file's text; a missing or unreadable file is a ConfigError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(file)", f"cannot be read: {exc}") from None


def read_yaml(path: Path) -> tuple[Any, Lines]:
    """Parse ``path``; return the data and a map from key path to 1-based line number."""
    text = read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, "(syntax)", f"not valid YAML: {exc.problem}", line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, "(syntax)", f"not valid YAML: {exc}") from None
    lines: Lines = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return data, lines


def _collect_lines(node: yaml.Node, prefix: tuple[str | int, ...], lines: Lines) -> None:
    lines[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*prefix, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*prefix, key), lines)
            lines[(*prefix, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, (*prefix, i), lines)


def line_of(lines: Lines, loc: tuple[str | int, ...]) -> int | None:
    """The line of the deepest part of ``loc`` that exists in the file."""
    for n in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])
        if key in lines:
            return lines[key]
        as_text = tuple(str(p) for p in loc[:n])  # an int may be a mapping key ("2026:")
        if as_text in lines:
            return lines[as_text]
    return None

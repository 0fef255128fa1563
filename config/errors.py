"""The user-error types every package may raise: a bad configuration file, or other bad input
(a command-line argument, a password on standard input). The command line turns either into one
line and exit status 2."""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """A configuration file is wrong.

    ``str(err)`` is one line: ``FILE[:LINE]: FIELD: REASON``, so an installer can go straight to
    the place to fix.
    """

    def __init__(self, path: str | Path, field: str, reason: str, line: int | None = None) -> None:
        self.path = _shown(Path(path))
        self.field = field or "(top level)"
        self.reason = " ".join(reason.split())  # one line, whatever the reason contained
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.reason}"


def _shown(path: Path) -> str:
    """The path relative to the working directory when it lies below it, as typed otherwise."""
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return str(path)


class UsageError(Exception):
    """Bad input that is not a configuration file: the message is the one line to print."""

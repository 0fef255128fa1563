"""``zcpark docs config``: regenerate docs/configuration.md from the pydantic models
(config/reference.py), with the server's Settings for its environment variables."""

from __future__ import annotations

import argparse
import sys

from config import reference
from config.errors import UsageError


def settings_model() -> type:
    from park_server.settings import Settings

    return Settings


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ValueError as exc:  # a field without a description, the markers missing
        raise UsageError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    settings = settings_model()
    doc = reference.DOC.relative_to(reference.ROOT)
    if args.check:
        stale = reference.render(settings) != reference.DOC.read_text(encoding="utf-8")
        if stale:
            print(f"{doc}: stale; run `zcpark docs config` to regenerate it", file=sys.stderr)
            return 1
        print(f"{doc}: up to date")
        return 0
    changed = reference.write(settings)
    print(f"{doc}: {'written' if changed else 'up to date'}")
    return 0

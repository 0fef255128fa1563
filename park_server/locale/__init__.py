"""The message catalogues of the console and the monthly report: zh (the default) and en.

The catalogues are gettext ``.po`` files in ``park_server/locale/{lang}/LC_MESSAGES/messages.po``,
edited by hand or with Babel (``pybabel extract`` / ``update``; see docs/console.md). They are
compiled when first asked for, so there is no ``.mo`` file to forget to rebuild.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

LOCALE_DIR = Path(__file__).resolve().parent
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
#: the Babel locale of each language (number formats)
BABEL_LOCALE = {"zh": "zh_Hans_CN", "en": "en_GB"}


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def pick_language(*candidates: str | None) -> str:
    """The first candidate that is a supported language, else the default (zh)."""
    for c in candidates:
        if c in LANGUAGES:
            return c
    return DEFAULT_LANGUAGE


@cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of ``lang`` (one of LANGUAGES); KeyError for any other."""
    if lang not in LANGUAGES:
        raise KeyError(f"no catalogue for language {lang!r}; known: {', '.join(LANGUAGES)}")
    with catalogue_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain="messages")


def jinja_environment(templates: Path, lang: str) -> Environment:
    """A Jinja2 environment over ``templates`` with HTML autoescaping and the catalogue of
    ``lang`` installed (``{% trans %}``, ``_()``): what the console's pages and the report's
    HTML both render with."""
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env

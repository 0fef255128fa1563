"""Every relative link and picture in README.md and docs/*.md points at a file that exists, and
every #anchor at a heading of that file (GitHub's anchor rule)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.M)
FENCED = re.compile(r"^```.*?^```", re.S | re.M)


def anchor(heading: str) -> str:
    text = re.sub(r"[`*]", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCED.sub("", path.read_text(encoding="utf-8"))
    return {anchor(h) for h in HEADING.findall(text)}


def test_links_resolve() -> None:
    bad = []
    for md in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = FENCED.sub("", md.read_text(encoding="utf-8"))
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto
            file, _, frag = target.partition("#")
            dest = md if not file else (md.parent / file).resolve()
            if not dest.exists():
                bad.append(f"{md.relative_to(REPO)}: {target}: no such file")
            elif frag and dest.suffix == ".md" and frag not in anchors(dest):
                bad.append(f"{md.relative_to(REPO)}: {target}: no heading with that anchor")
    assert not bad, "\n".join(bad)


def test_anchor_rule() -> None:
    assert anchor("assets[kind=wind] — WindAsset") == "assetskindwind--windasset"
    assert anchor("Park files (generated)") == "park-files-generated"
    assert anchor("`buffer_drops` — a gateway whose buffer fills") == (
        "buffer_drops--a-gateway-whose-buffer-fills"
    )

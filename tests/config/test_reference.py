"""docs/configuration.md is generated from the models (config/reference.py): it fails when stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from config import reference
from config.park import Park
from zcpark.docs import settings_model

REGENERATE = "run `zcpark docs config` (or `.venv/bin/zcpark docs config`) and commit the file"


def test_configuration_md_is_the_generators_output() -> None:
    current = reference.DOC.read_text(encoding="utf-8")
    expected = reference.render(settings_model(), current)
    if current != expected:
        old, new = current.splitlines(), expected.splitlines()
        first = next(
            (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
            min(len(old), len(new)),
        )
        pytest.fail(
            f"docs/configuration.md is stale (first difference at line {first + 1}: "
            f"{old[first] if first < len(old) else '<end>'!r} should be "
            f"{new[first] if first < len(new) else '<end>'!r}); {REGENERATE}"
        )


def test_every_field_of_every_model_is_in_the_reference() -> None:
    text = reference.render_generated(settings_model())
    for heading, _intro, models in reference._sections():
        for model, _path in models:
            for name in model.model_fields:
                assert f"| `{name}` |" in text or f"| `{name}: " in text, (heading, name)
    mapping, others = reference.settings_env()
    for var in [*mapping, *others]:
        assert f"| `{var}` |" in text, var
    # the settings' environment names are the ones from_env reads
    assert mapping["ZCPARK_DATABASE_URL"] == "database_url"
    assert "ZCPARK_SECRET_KEY_FILE" in others


def test_rows_carry_type_unit_default_and_the_source_comment() -> None:
    rows = {r.key: r for r in reference._rows(Park, {})}
    assert rows["timezone"].default == '`"Asia/Shanghai"`'
    assert rows["timezone"].type == "str (IANA zone)"
    assert rows["id"].default == "**required**"
    # from the `#:` comment in config/park.py
    assert rows["holiday_calendar"].description.startswith("public holidays and make-up")
    assert rows["energy_budget_tce_per_year"].unit == "tce/year"
    assert rows["green_share_target"].unit == "fraction 0..1"
    assert rows["green_share_target"].type == "float (≥ 0, ≤ 1)"
    text = reference.render_generated(settings_model())
    assert "| `ZCPARK_DISPATCH_INTERVAL_S` | float (> 0) | s | `900` | the rolling re-plan" in text
    assert "| `inter_request_delay_ms` | float (≥ 0, ≤ 10000) | ms | `0` |" in text
    assert "| `wind_speed_ms` | list of float (at least 2) | m/s | **required** |" in text


def test_a_field_without_description_fails_naming_it() -> None:
    class Undocumented(BaseModel):
        mystery_kw: float = Field(1.0, gt=0)

    with pytest.raises(ValueError, match=r"Undocumented\.mystery_kw has no description"):
        reference._rows(Undocumented, {})


def test_hand_written_part_is_kept_and_markers_are_required() -> None:
    current = reference.DOC.read_text(encoding="utf-8")
    edited = current.replace("# Configuration reference", "# Configuration reference (edited)")
    out = reference.render(settings_model(), edited)
    assert out.startswith("# Configuration reference (edited)")
    assert out.endswith(reference.render_generated(settings_model()))
    with pytest.raises(ValueError, match="markers"):
        reference.render(settings_model(), "# no markers\n")


def test_zcpark_docs_config_check(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zcpark", "docs", "config", "--check"],
        capture_output=True,
        text=True,
        cwd=reference.ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout

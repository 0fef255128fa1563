"""Benchmark scripts run with benchmarks/ first on the import path: none may shadow a package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["config", "dispatch", "edge_agent", "forecasting", "park_server", "zcpark"]


def test_every_benchmark_is_named_bench_star() -> None:
    names = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py"))
    assert names, "no benchmark scripts found"
    assert [n for n in names if not n.startswith("bench_")] == []


def test_packages_import_as_packages_from_the_benchmarks_folder() -> None:
    # This is how `python benchmarks/bench_x.py` sees the world: its own folder is sys.path[0].
    code = "import importlib, sys\n" + "".join(
        f"m = importlib.import_module({p!r}); assert hasattr(m, '__path__'), m.__file__\n"
        for p in PACKAGES
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "benchmarks", capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr

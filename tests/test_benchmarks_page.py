"""docs/benchmarks.md is the page bench/run_all.py writes from the figures saved in bench/results/."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def _run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "bench" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_page_shows_the_saved_figures():
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    assert page == _run_all().render(), (
        "docs/benchmarks.md is out of date: run `python bench/run_all.py --render-only` (or the benchmarks)")


def test_every_benchmark_has_saved_figures():
    names = _run_all().BENCHMARKS
    assert sorted(path.stem for path in (ROOT / "bench" / "results").glob("*.json")) == sorted([*names, "machine"])

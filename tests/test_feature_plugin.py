"""Feature types from plug-ins: found through the `modelctl.features` entry-point group, written in specs,
trained on and predicted with, with nothing but the plug-in's two files.

The plug-in is `tests/plugins/date_feature/` (the worked example of docs/plugins.md): a module with a
`FeatureType` subclass and its entry, and the `pyproject.toml` that declares the entry point. Nothing is
installed: each test writes the distribution's metadata (`NAME.dist-info/`, read from the `pyproject.toml`) and
the module into a temporary folder on the path, which is all `importlib.metadata` and the import system read.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest
from test_export_plugin import install, modelctl
from test_export_plugin import write_distribution as write_plugin_distribution

import modelctl.features as features
from modelctl.data.columns import Columns
from modelctl.features import FEATURES, GROUP, feature_type, feature_types
from modelctl.registry.base import Registry
from modelctl.registry.plugins import PluginError, load_plugins, plugin_names

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = Path(__file__).resolve().parent / "plugins" / "date_feature"
PLUGIN_FILES = ["modelctl_date_feature.py", "pyproject.toml"]
SOURCE = "entry point 'date' (modelctl_date_feature:ENTRY) of distribution 'modelctl-date-feature'"

SPEC = """
modelctl: 1
name: dates
seed: 3
data:
  source: {format: csv, path: dates.csv}
  features:
    day: {type: date, column: when}
  labels:
    summer: {column: summer, type: binary}
  split: {train: 0.7, validation: 0.15, test: 0.15}
  batch_size: 16
model:
  layers:
    - dense: {units: 4, activation: relu}
    - dense: {units: 1, activation: sigmoid}
training:
  epochs: 1
"""


@pytest.fixture
def installed(tmp_path):
    """A folder with the date-feature plug-in installed in it, for commands run in a new process. It stays off
    this process's path: modelctl keeps the feature types it found, and the other tests expect the built-in
    ones."""
    folder = tmp_path / "site"
    folder.mkdir()
    install(folder, PLUGIN)
    return folder


@pytest.fixture
def registry(installed, monkeypatch):
    """A copy of the feature-type registry standing in for the one modelctl uses, with the `installed` folder on
    sys.path; tests load the site's plug-ins into it."""
    monkeypatch.syspath_prepend(str(installed))
    for module in [name for name in sys.modules if name.startswith(("modelctl_date_feature", "clash_", "odd_", "broken_"))]:
        monkeypatch.delitem(sys.modules, module)
    copy = Registry(FEATURES.family, list(FEATURES))
    monkeypatch.setattr(features, "feature_registry", lambda: copy)
    return copy


def write_distribution(site: Path, name: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """A distribution `name` whose `modelctl.features` entry points are `entries`, with plain modules."""
    write_plugin_distribution(site, name, entries, modules, group=GROUP.name)


def test_the_plugin_is_two_files_and_the_docs_show_them_whole():
    assert sorted(path.name for path in PLUGIN.iterdir() if path.name != "__pycache__") == PLUGIN_FILES
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in PLUGIN_FILES:
        assert (PLUGIN / name).read_text(encoding="utf-8") in docs, f"docs/plugins.md does not show {name} as it is"


def test_the_plugin_adds_its_feature_type(registry):
    added = load_plugins(registry, GROUP)
    assert [entry.name for entry in added] == ["date"]
    assert plugin_names(registry) == {"date": SOURCE}
    assert feature_types() == ["numeric", "categorical", "text", "image", "date"]
    date = feature_type("date")
    item = Columns("day", "date", ("when",), {"type": "date"})
    days, keep = date.encode(item, item.options, {"when": np.array(["2026-01-02", "2026-02-01"], dtype=object)},
                             numbers=np.array([1, 2]), on_bad_rows="error", skipped={})
    assert days.tolist() == [[2.0], [32.0]] and keep is None
    fit = date.fitter(item)
    fit.add(days)
    fit.end_pass()
    assert fit.done and fit.fitted() == {"type": "date", "column": "when", "format": "%Y-%m-%d"}
    assert date.model_input("day", fit.fitted()).shape == (1,)


def test_a_plugin_feature_type_that_clashes_with_a_built_in_one_is_refused(registry, installed):
    write_distribution(installed, "clash-features", {"text": "clash_features:ENTRY"}, {
        "clash_features": "from modelctl.registry.base import Entry\n"
                          "ENTRY = Entry('text', 'clash_features:Text', 'Another text.')\n"})
    with pytest.raises(PluginError) as raised:
        load_plugins(registry, GROUP)
    assert str(raised.value).startswith(
        "plug-in entry point 'text' (clash_features:ENTRY) of distribution 'clash-features' adds the feature type "
        "'text', but that name is already taken by a built-in feature type of modelctl.")


def test_a_plugin_target_that_is_not_a_feature_type_is_named(registry, installed):
    write_distribution(installed, "odd-features", {"odd": "odd_features:ENTRY"}, {
        "odd_features": "from modelctl.registry.base import Entry\n"
                        "class Odd:\n    pass\n"
                        "ENTRY = Entry('odd_type', 'odd_features:Odd', 'Not a feature type.')\n"})
    load_plugins(registry, GROUP)
    with pytest.raises(PluginError) as raised:
        feature_type("odd_type")
    assert str(raised.value) == (
        "plug-in entry point 'odd' (odd_features:ENTRY) of distribution 'odd-features': feature type 'odd_type' "
        "names target 'odd_features:Odd', which is not a subclass of modelctl.features.base.FeatureType")


def test_a_plugin_target_that_fails_to_import_is_named(registry, installed):
    write_distribution(installed, "broken-features", {"broken": "broken_features:ENTRY"}, {
        "broken_features": "from modelctl.registry.base import Entry\n"
                           "ENTRY = Entry('broken_type', 'broken_features_impl:Broken', 'Cannot be imported.')\n"})
    load_plugins(registry, GROUP)
    with pytest.raises(PluginError) as raised:
        feature_type("broken_type")
    assert str(raised.value) == (
        "plug-in entry point 'broken' (broken_features:ENTRY) of distribution 'broken-features': feature type "
        "'broken_type' names target 'broken_features_impl:Broken', which cannot be imported: ModuleNotFoundError: "
        "No module named 'broken_features_impl'")
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)


def _dates(path: Path) -> None:
    rng = np.random.default_rng(4)
    lines = ["when,summer"]
    for _ in range(60):
        day = int(rng.integers(1, 366))
        written = (np.datetime64("2025-12-31") + np.timedelta64(day, "D")).astype(str)
        lines.append(f"{written},{int(152 <= day < 244)}")
    path.write_text("\n".join(lines) + "\n")


def test_specs_can_write_the_plugin_feature_type_only_with_it_installed(installed, tmp_path):
    (tmp_path / "spec.yaml").write_text(SPEC)
    _dates(tmp_path / "dates.csv")
    valid = modelctl(installed, "validate", str(tmp_path / "spec.yaml"))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    without = modelctl(None, "validate", str(tmp_path / "spec.yaml"))
    assert without.returncode == 1 and "$.data.features.day.type: 'date' is not" in without.stdout, without.stdout


@pytest.mark.slow
def test_train_and_predict_with_the_plugin_feature_type(installed, tmp_path):
    (tmp_path / "spec.yaml").write_text(SPEC)
    _dates(tmp_path / "dates.csv")
    trained = modelctl(installed, "train", str(tmp_path / "spec.yaml"), "--output", str(tmp_path / "runs"), "-q")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    [run_dir] = (tmp_path / "runs" / "dates").iterdir()
    (tmp_path / "new.csv").write_text("when\n2026-07-01\n2026-01-15\n")
    answer = modelctl(installed, "predict", str(run_dir), str(tmp_path / "new.csv"))
    assert answer.returncode == 0, answer.stdout + answer.stderr
    rows = list(csv.DictReader(answer.stdout.splitlines()))
    assert [row["input"] for row in rows] == [f"{tmp_path / 'new.csv'} row 2", f"{tmp_path / 'new.csv'} row 3"]
    assert all(row["summer"] in ("0", "1") for row in rows)  # a binary label's classes are its values in the data
    bad = tmp_path / "bad.csv"
    bad.write_text("when\n2026-13-40\n")
    refused = modelctl(installed, "predict", str(run_dir), str(bad))
    assert refused.returncode == 1
    assert f"{bad}:row 2: column 'when': date feature 'day' has value '2026-13-40', which is not a date written " \
           "as '%Y-%m-%d'" in refused.stdout + refused.stderr

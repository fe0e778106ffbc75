"""Export formats from plug-ins: found through the `modelctl.exporters` entry-point group, exported, verified and
run by `modelctl predict`, with nothing but the plug-in's two files.

The plug-in is `tests/plugins/keras_format/` (the worked example of docs/plugins.md): a module and the
`pyproject.toml` that declares its entry point. Nothing is installed: each test writes the distribution's
metadata (`NAME.dist-info/`, read from the `pyproject.toml`) and the module into a temporary folder on the
path, which is all `importlib.metadata` and the import system read.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

# Imported before a test puts a plug-in folder on the path: importing it reads the schema's defaults, which loads
# the plug-ins then installed into modelctl's own registry, and the tests expect that one to hold the built-ins.
from modelctl.export import formats
from modelctl.registry.base import Registry
from modelctl.registry.exporters import EXPORTERS, GROUP
from modelctl.registry.plugins import PluginError, load_plugins, plugin_names

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = Path(__file__).resolve().parent / "plugins" / "keras_format"
PLUGIN_FILES = ["modelctl_keras_format.py", "pyproject.toml"]
SOURCE = "entry point 'keras' (modelctl_keras_format:ENTRY) of distribution 'modelctl-keras-format'"

SPEC = """
modelctl: 1
name: shop
seed: 2
data:
  source: {format: csv, path: shop.csv}
  features:
    numbers: {type: numeric, columns: [price, weight], preprocessing: [standardize]}
    colour: {type: categorical}
  labels:
    bought: {column: bought, type: categorical}
  split: {train: 0.7, validation: 0.15, test: 0.15}
  batch_size: 16
model:
  layers:
    - concatenate: {}
      inputs: [numbers, colour]
    - dense: {units: 8, activation: relu}
    - dense: {units: 2, activation: softmax}
training:
  epochs: 2
"""


def install(site: Path, project: Path) -> None:
    """What installing `project` leaves that modelctl reads: its modules, and its name, version and entry points
    (from `pyproject.toml`) as `NAME.dist-info/`."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n",
                                   encoding="utf-8")
    lines = []
    for group, points in meta.get("entry-points", {}).items():
        lines += [f"[{group}]", *(f"{name} = {value}" for name, value in points.items()), ""]
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    for module in project.glob("*.py"):
        shutil.copy(module, site / module.name)


def write_distribution(site: Path, name: str, entries: dict[str, str], modules: dict[str, str], *,
                       group: str = GROUP.name) -> None:
    """A distribution `name` whose entry points in `group` (default `modelctl.exporters`) are `entries`, with
    plain modules."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    lines = [f"[{group}]", *(f"{key} = {value}" for key, value in entries.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for module, text in modules.items():
        (site / f"{module}.py").write_text(text, encoding="utf-8")


@pytest.fixture
def installed(tmp_path):
    """A folder with the keras-format plug-in installed in it, for commands run in a new process. It stays off
    this process's path: modelctl keeps the formats it found, and the other tests expect the built-in ones."""
    folder = tmp_path / "site"
    folder.mkdir()
    install(folder, PLUGIN)
    return folder


@pytest.fixture
def site(installed, monkeypatch):
    """The `installed` folder on sys.path, for tests that load plug-ins into a copy of the registry."""
    folder = installed
    monkeypatch.syspath_prepend(str(folder))
    for module in [name for name in sys.modules if name.startswith(("modelctl_keras_format", "odd_", "clash_"))]:
        monkeypatch.delitem(sys.modules, module)
    return folder


@pytest.fixture
def registry(site, monkeypatch):
    """A copy of the export-format registry, standing in for the one modelctl uses; tests load the site's
    plug-ins into it."""
    copy = Registry(EXPORTERS.family, list(EXPORTERS))
    monkeypatch.setattr(formats, "exporters", lambda: copy)
    return copy


COMMAND = [sys.executable, "-c", "import sys; sys.argv[0] = 'modelctl'; from modelctl.cli.app import main; main()"]
"""The `modelctl` command, run by this Python."""


def modelctl(site: Path | None, *arguments: str, **environment: str) -> subprocess.CompletedProcess:
    """Run `modelctl` in a new process, with the site folder on the path as if the plug-in were installed (none:
    as it is)."""
    paths = [str(site)] if site else []
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
                   "TF_CPP_MIN_LOG_LEVEL": "3", **environment}
    return subprocess.run([*COMMAND, *arguments], capture_output=True, text=True, env=environment)


def test_the_plugin_is_two_files_and_the_docs_show_them_whole():
    assert sorted(path.name for path in PLUGIN.iterdir() if path.name != "__pycache__") == PLUGIN_FILES
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in PLUGIN_FILES:
        assert (PLUGIN / name).read_text(encoding="utf-8") in docs, f"docs/plugins.md does not show {name} as it is"


def test_the_plugin_adds_its_format(registry):
    added = load_plugins(registry, GROUP)
    assert [entry.name for entry in added] == ["keras"]
    assert registry.get("keras").target == "modelctl_keras_format"
    assert plugin_names(registry) == {"keras": SOURCE}
    assert registry.names() == ["keras", "onnx", "saved_model", "tflite"]


def test_the_format_module_gives_its_artifact_name_and_knows_its_artifacts(registry, tmp_path):
    load_plugins(registry, GROUP)
    assert formats.artifact_name("keras") == "model.keras"
    assert [formats.artifact_name(name, {"quantize": "int8"}) for name in ("onnx", "saved_model", "tflite")] == \
           ["model.onnx", "saved_model", "model.int8.tflite"]
    (tmp_path / "plain.keras").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip archive: a .keras of no one
    assert formats.recognize(tmp_path / "plain.keras") is None
    with pytest.raises(Exception, match=r"not an exported model\. Expected a \.keras file written by modelctl export, "
                                        r"a \.onnx file, a SavedModel folder or a \.tflite file$"):
        formats.read_metadata(tmp_path / "plain.keras")


def test_a_format_module_without_the_format_functions_is_named(registry, site):
    write_distribution(site, "odd-format", {"half": "odd_format:ENTRY"}, {
        "odd_format": "from modelctl.registry.base import Entry\n"
                      "ENTRY = Entry('half', 'odd_format', 'Half a format.')\n"
                      "def export(model, path, options, *, context):\n    pass\n"})

    load_plugins(registry, GROUP)
    with pytest.raises(PluginError) as raised:
        formats.module("half")
    assert str(raised.value) == (
        "plug-in entry point 'half' (odd_format:ENTRY) of distribution 'odd-format': export format 'half': its "
        "module 'odd_format' does not define artifact_name, recognizes, read_metadata, load. A format module "
        "defines artifact_name, recognizes, export, read_metadata, load (see docs/plugins.md)")


@pytest.mark.parametrize("entry, message", [
    ("Entry('onnx', 'odd_module', 'Another ONNX.')",
     " adds the export format 'onnx', but that name is already taken by a built-in export format of modelctl. "
     "Rename the plug-in's export format (a prefix of its own, such as 'acme_onnx', keeps names apart) or "
     "uninstall one of them"),
    ("Entry('my_format', 'odd_module:export', 'A format.')",
     ": export format 'my_format' has target 'odd_module:export'; a target is 'package.module', the format's "
     "module"),
    ("Entry('My-Format', 'odd_module', 'A format.')",
     " gives the export format name 'My-Format'; a name is lower-case letters, digits and underscores, starting "
     "with a letter, such as 'my_format'"),
])
def test_a_plugin_format_that_does_not_fit_is_refused(registry, site, entry, message):
    write_distribution(site, "odd-plugin", {"odd": "odd_plugin:ENTRY"}, {
        "odd_plugin": f"from modelctl.registry.base import Entry\nENTRY = {entry}\n"})
    with pytest.raises(PluginError) as raised:
        load_plugins(registry, GROUP)
    assert str(raised.value) == f"plug-in entry point 'odd' (odd_plugin:ENTRY) of distribution 'odd-plugin'{message}"


def test_finding_plugin_formats_does_not_import_tensorflow(installed, tmp_path):
    (tmp_path / "spec.yaml").write_text("modelctl: 1\nname: tiny\nmodel:\n  inputs: {x: {shape: [4]}}\n"
                                        "  layers: [dense: 2]\nexport:\n  formats: [keras]\n")
    code = ("import sys\n"
            "from modelctl.registry.exporters import exporters\n"
            "from modelctl.predict import is_artifact\n"
            "from modelctl.spec.validate import load_spec\n"
            "assert 'keras' in exporters().names()\n"
            f"assert not is_artifact(__import__('pathlib').Path({str(tmp_path)!r}))\n"
            f"load_spec({str(tmp_path / 'spec.yaml')!r})\n"
            "loaded = [name for name in ('keras', 'tensorflow') if name in sys.modules]\n"
            "assert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(installed)!r})\n{code}"], check=True)


def test_the_command_line_offers_and_checks_plugin_formats(installed, tmp_path):
    completion = modelctl(installed, _MODELCTL_COMPLETE="complete_bash", COMP_WORDS="modelctl export run -f ",
                          COMP_CWORD="4")
    assert completion.stdout.split() == ["keras", "onnx", "saved_model", "tflite", "all"], completion.stderr
    wrong = modelctl(installed, "export", str(tmp_path), "--format", "kears")
    assert wrong.returncode == 2
    assert wrong.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--format' / '-f': 'kears' is not a known export format. Expected one of "
        "'keras', 'onnx', 'saved_model', 'tflite' or 'all'. Did you mean 'keras'?")
    spec = tmp_path / "spec.yaml"
    spec.write_text("modelctl: 1\nname: tiny\nmodel:\n  inputs: {x: {shape: [4]}}\n  layers: [dense: 2]\n"
                    "export:\n  formats: [keras]\n  keras: {}\n")
    valid = modelctl(installed, "validate", str(spec))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    without = modelctl(None, "validate", str(spec))
    assert without.returncode == 1 and "$.export.formats[0]: 'keras' is not" in without.stdout, without.stdout


def _shop(path: Path) -> None:
    rng = np.random.default_rng(1)
    lines = ["price,weight,colour,bought"]
    for index in range(120):
        price, weight = rng.uniform(1, 100), rng.uniform(0.1, 5)
        colour = ["red", "green", "blue", "black"][index % 4]
        lines.append(f"{price:.2f},{weight:.2f},{colour},{'yes' if price < 50 or colour == 'red' else 'no'}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_export_verifies_the_plugin_format_and_predict_runs_it(installed, tmp_path):
    from conftest import quiet_console

    from modelctl.predict import predict
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    _shop(tmp_path / "shop.csv")
    (tmp_path / "spec.yaml").write_text(SPEC)
    run_dir = train(load_spec(tmp_path / "spec.yaml"), tmp_path / "runs", quiet_console(), quiet=True).run_dir
    exported = modelctl(installed, "export", str(run_dir), "--format", "keras")
    assert exported.returncode == 0, exported.stderr
    table = exported.stdout.splitlines()
    assert table[0] == "Exported artifacts" and table[-1] == f"artifacts in {run_dir / 'export'}"
    row = table[2].split()  # the one artifact's row; what the columns were measured on follows it
    assert table[3].startswith("max difference and class agreement")
    assert row[:3] == ["keras", "none", "model.keras"] and "100.0%" in row  # verified: every class agrees
    assert sorted(path.name for path in (run_dir / "export").iterdir()) == ["model.keras"]

    rows = (tmp_path / "shop.csv").read_text().splitlines()
    (tmp_path / "new.csv").write_text("\n".join(row.rsplit(",", 1)[0] for row in rows[:21]) + "\n")
    answer = modelctl(installed, "predict", str(run_dir / "export" / "model.keras"), str(tmp_path / "new.csv"))
    assert answer.returncode == 0, answer.stderr
    got = list(csv.DictReader(answer.stdout.splitlines()))
    expected = predict(run_dir, [str(tmp_path / "new.csv")])
    assert [row["bought"] for row in got] == [row["bought"] for row in expected]
    np.testing.assert_allclose([float(row["bought_yes"]) for row in got], [row["bought_yes"] for row in expected],
                               atol=1e-5)
    # The run's own model.keras carries no modelctl metadata: it stays the run's model, not an artifact.
    spec = importlib.util.spec_from_file_location("keras_format_module", PLUGIN / "modelctl_keras_format.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.recognizes(run_dir / "export" / "model.keras")
    assert not module.recognizes(run_dir / "model.keras")

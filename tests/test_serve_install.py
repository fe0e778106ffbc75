"""`pip install "modelctl[serve]"` is a complete serving install for ONNX and TFLite artifacts, without TensorFlow.

The test builds that install for real, without the network: a fresh virtual environment holding modelctl's wheel
(built from a copy of the tree, as `.ci/run` builds the lint install's) and exactly the distributions that
`modelctl[serve]` requires, resolved from their metadata and linked from this environment. There, `modelctl
serve` answers on a model repository of ONNX and TFLite exports (the layout `modelctl export --model-repository`
writes for TensorFlow Serving and Triton), `modelctl predict` predicts on the ONNX and TFLite artifacts and on that
repository, and a run's Keras model and a SavedModel ask for the `train` extra by name, saying which install this is.
Its size on disk and the start-up to the first answer are printed (`pytest -s`) and checked against loose bounds.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import ROOT
from serve_support import train_iris

pytestmark = pytest.mark.slow

TRAINING = {"tensorflow", "keras", "tf2onnx", "onnx", "pandas", "scikit-learn", "matplotlib", "tensorboard"}
"""Distributions of the `train` extra that the serving install must not hold."""


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions `requirements` need, with what they need in turn (markers evaluated here)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [(Requirement(text), "") for text in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        key = _name(requirement.name)
        wanted = [(key, "")] + [(key, name) for name in requirement.extras]
        for _, asked in wanted:
            if (key, asked) in found:
                continue
            distribution = importlib.metadata.distribution(requirement.name)
            found[(key, asked)] = distribution
            pending += [(Requirement(text), asked) for text in distribution.requires or []]
    return {key: distribution for (key, _), distribution in found.items()}


def modelctl_requirements(extra: str) -> list[str]:
    """modelctl's own requirements and those of `extra`, from the tree's pyproject.toml."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"][extra]]


def link(distribution: importlib.metadata.Distribution, site: Path) -> int:
    """Link a distribution's files (its RECORD) into `site`; their bytes."""
    total = 0
    base = Path(distribution.locate_file(""))
    for file in distribution.files or []:
        source = (base / file).resolve()
        if not source.is_file() or ".." in file.parts:
            continue  # console scripts live outside site-packages; the venv makes its own
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(source)
            total += source.stat().st_size
    return total


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """The serving install: (the venv's folder, its size in bytes)."""
    folder = tmp_path_factory.mktemp("serve-install")
    source = folder / "src"
    source.mkdir()
    for item in ("pyproject.toml", "README.md", "modelctl"):
        copy = shutil.copytree if (ROOT / item).is_dir() else shutil.copy
        copy(ROOT / item, source / item)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", str(source), "-w", str(folder / "wheel")], check=True, timeout=300)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True, timeout=120)
    python = folder / "venv" / "bin" / "python"
    [wheel] = (folder / "wheel").glob("modelctl-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", "--disable-pip-version-check", str(wheel)], check=True, timeout=300)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    needed = closure(modelctl_requirements("serve"))
    assert not TRAINING & set(needed), sorted(TRAINING & set(needed))
    size = sum(link(distribution, site) for distribution in needed.values())
    size += sum(path.stat().st_size for path in (folder / "venv").rglob("*") if path.is_file() and
                not path.is_symlink())
    return folder / "venv", size


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_iris(tmp_path_factory.mktemp("serve-install-run"), ("onnx", "tflite"))


@pytest.fixture(scope="module")
def repositories(run_dir, tmp_path_factory):
    """Two model repositories of the run: one of its ONNX and TFLite exports, one of its SavedModel alone."""
    from modelctl.export.from_run import export_run

    folder = tmp_path_factory.mktemp("serve-install-repositories")
    export_run(run_dir, ["onnx", "tflite"], model_repository=folder / "exported")
    export_run(run_dir, ["saved_model"], model_repository=folder / "saved")
    return folder / "exported" / "iris", folder / "saved" / "iris"


NEEDS_TRAIN = ("error: {what} needs tensorflow, which is not installed: modelctl was installed without its `train` "
               "extra (the serving install, `modelctl[serve]`, whose serve and predict run ONNX and TFLite artifacts "
               "only). Install it with: pip install \"modelctl[train]\"; or export the model to ONNX or TFLite where "
               "TensorFlow is installed (`modelctl export RUN --format onnx`) and use that artifact, which needs no "
               "TensorFlow\n")


def test_the_serve_extra_holds_no_training_package(venv):
    folder, size = venv
    python = folder / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; print(sorted(m for m in ('tensorflow', "
                            "'keras', 'tf2onnx', 'pandas', 'onnxruntime', 'ai_edge_litert', 'pyarrow', 'numpy') "
                            "if u.find_spec(m)))"], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "['ai_edge_litert', 'numpy', 'onnxruntime', 'pyarrow']"
    print(f"\nserving install: {size / 2**20:.0f} MB")
    assert size < 600 * 2**20  # against the 2.6 GB of the training install


def test_serve_and_predict_work_in_the_serving_install(venv, run_dir, repositories, tmp_path):
    folder, _ = venv
    exported, saved = repositories
    modelctl = folder / "bin" / "modelctl"
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    rows = tmp_path / "rows.csv"
    rows.write_text("\n".join((ROOT / "examples" / "iris" / "iris.csv").read_text().splitlines()[:3]) + "\n")

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(modelctl), *arguments], capture_output=True, text=True, env=environment,
                              timeout=300, cwd=tmp_path)

    answers = {}
    for target in (run_dir / "export" / "model.onnx", run_dir / "export" / "model.tflite", exported):
        predicted = run("predict", str(target), str(rows))
        assert predicted.returncode == 0, predicted.stderr
        assert predicted.stdout.splitlines()[0] == "input,species,species_setosa,species_versicolor,species_virginica"
        answers[target.name] = [line.split(",")[1:] for line in predicted.stdout.splitlines()[1:]]
    assert answers["iris"] == answers["model.onnx"]  # the repository's newest version, from its ONNX model
    keras = run("predict", str(run_dir), str(rows))
    assert (keras.returncode, keras.stderr) == (1, NEEDS_TRAIN.format(what=f"the Keras model of run {run_dir}"))
    [version] = saved.iterdir()
    saved_model = run("predict", str(saved), str(rows))
    assert (saved_model.returncode, saved_model.stderr) == (1, NEEDS_TRAIN.format(
        what=f"a saved_model artifact ({version})"))
    assert run("serve", str(saved), "--port", "0").stderr == NEEDS_TRAIN.format(
        what=f"a saved_model artifact ({version})")

    begin = time.perf_counter()
    process = subprocess.Popen([str(modelctl), "serve", str(exported), "--port", "0"],
                               stderr=subprocess.PIPE, text=True, env=environment, cwd=tmp_path)
    try:
        lines = []
        while not lines or not lines[-1].startswith("listening on "):
            line = process.stderr.readline()
            assert line, "".join(lines) + process.stderr.read()
            lines.append(line)
        url = re.search(r"listening on (http://[^ ]+)", lines[-1])[1]
        request = urllib.request.Request(url + "/v1/models/iris:predict", b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}',
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert answer.status == 200
            [prediction] = json.loads(answer.read())["predictions"]
        first = time.perf_counter() - begin
        assert [prediction["species"], *(str(prediction[f"species_{name}"]) for name in
                                          ("setosa", "versicolor", "virginica"))] == answers["iris"][0]
        assert f"serving iris version {version.name} (onnx: {exported / version.name / 'model.onnx'})" in lines[0]
        print(f"\nserving install: start-up to first answer {first:.2f} s")
        assert first < 30
    finally:
        process.terminate()
        process.wait(30)

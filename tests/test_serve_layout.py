"""The model repository layout that `modelctl export --model-repository` writes and `serve` and `predict` read:
`<repository>/<name>/<version>/` holding the SavedModel's files, `model.onnx` and `model.tflite`, as TensorFlow
Serving and Triton read it. Artifacts here are stand-in files (a format is recognized by its name and, for a
SavedModel, its `saved_model.pb`), so no model is trained; tests/test_serve.py and tests/test_serve_install.py
serve a real one."""

from __future__ import annotations

import pytest

from modelctl.errors import UsageError
from modelctl.export.serving import artifacts, resolve, version_of, versions, write_serving_layout


def saved_model(folder, *files: str):
    folder.mkdir(parents=True)
    for name in ("saved_model.pb", "variables/variables.index", *files):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(name.encode())
    return folder


def file(path, content: bytes = b"model"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_every_format_goes_into_one_version_folder_as_both_servers_name_it(tmp_path):
    export = tmp_path / "export"
    onnx, tflite = file(export / "model.onnx"), file(export / "model.int8.tflite")
    file(export / "model.onnx.preprocessing.json", b"{}")
    base = write_serving_layout({"onnx": onnx, "tflite": tflite}, tmp_path / "repo", "iris", version=7)
    assert base == tmp_path / "repo" / "iris"
    assert sorted(path.name for path in (base / "7").iterdir()) == [
        "model.onnx", "model.onnx.preprocessing.json", "model.tflite"]  # Triton's default file names
    assert (base / "7" / "model.onnx").stat().st_ino == onnx.stat().st_ino  # a hard link, not a copy
    assert (base / "config.pbtxt").read_text() == (
        "# Triton's model configuration: onnxruntime runs model.onnx; Triton reads its inputs, outputs and batch "
        "dimension from the model.\nbackend: \"onnxruntime\"\n")

    # A SavedModel exported later joins the version, its files at the folder's root as TensorFlow Serving wants.
    write_serving_layout({"saved_model": saved_model(export / "saved_model", "assets/a.json")}, tmp_path / "repo",
                         "iris", version=7)
    assert sorted(path.name for path in (base / "7").iterdir()) == [
        "assets", "model.onnx", "model.onnx.preprocessing.json", "model.tflite", "saved_model.pb", "variables"]
    assert list(artifacts(base / "7").items()) == [("onnx", base / "7" / "model.onnx"),
                                                   ("tflite", base / "7" / "model.tflite"), ("saved_model", base / "7")]

    # Written again, a SavedModel replaces the one before (no file of the old one is left); the others stay.
    (base / "config.pbtxt").write_text("backend: \"onnxruntime\"\nmax_batch_size: 64\n")  # a user's own
    write_serving_layout({"saved_model": saved_model(tmp_path / "again")}, tmp_path / "repo", "iris", version=7)
    assert sorted(path.name for path in (base / "7").iterdir()) == [
        "model.onnx", "model.onnx.preprocessing.json", "model.tflite", "saved_model.pb", "variables"]
    assert (base / "config.pbtxt").read_text() == "backend: \"onnxruntime\"\nmax_batch_size: 64\n"


@pytest.fixture
def repository(tmp_path):
    """Model `iris` with versions 3 (ONNX) and 12 (SavedModel and TFLite), and model `wine` with version 1."""
    repo = tmp_path / "repo"
    file(repo / "iris" / "3" / "model.onnx")
    saved_model(repo / "iris" / "12")
    file(repo / "iris" / "12" / "model.tflite")
    (repo / "iris" / "99").mkdir()  # no model in it: not a version
    file(repo / "wine" / "1" / "model.onnx")
    return repo


def test_a_models_folder_means_its_highest_version_and_auto_takes_what_needs_no_tensorflow(repository):
    iris = repository / "iris"
    assert sorted(versions(iris)) == [3, 12]  # 12 is higher than 3, though "12" sorts before "3"
    assert resolve(iris) == iris / "12" / "model.tflite"
    assert resolve(iris, "saved_model") == iris / "12"
    assert resolve(iris / "3") == iris / "3" / "model.onnx"  # a version folder given itself
    assert resolve(iris / "12" / "model.tflite") == iris / "12" / "model.tflite"  # an artifact is itself
    assert version_of(iris / "12") == version_of(iris / "12" / "model.tflite") == 12
    assert version_of(iris / "3" / "model.onnx") == 3 and version_of(repository / "iris") is None


@pytest.mark.parametrize("target, backend, message", [
    ("iris", "onnx", "{repo}/iris (version 12) has no onnx artifact (it holds saved_model and tflite); leave "
                     "--backend out (auto), or export the format into it with `modelctl export RUN --format onnx "
                     "--model-repository ...`"),
    ("iris", "keras", "{repo}/iris: a model repository's version 12 holds exported models, not a run's Keras model; "
                      "leave --backend out, or serve the run folder with --backend keras"),
    ("", "auto", "{repo}: a model repository holding 2 models (iris, wine); give a model's folder, such as "
                 "{repo}/iris"),
])
def test_what_a_repository_cannot_give_is_said(repository, target, backend, message):
    with pytest.raises(UsageError) as raised:
        resolve(repository / target if target else repository, backend)
    assert str(raised.value) == message.format(repo=repository)


def test_the_export_folder_holding_a_serving_folder_is_left_to_the_caller(tmp_path):
    """A run's export folder holds artifacts of its own and `serving/`: it is not a model's folder."""
    export = tmp_path / "export"
    file(export / "model.onnx")
    file(export / "serving" / "iris" / "5" / "model.onnx")
    assert resolve(export) == export

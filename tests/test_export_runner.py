"""What export_formats refuses, what verification catches, and that nothing unverified reaches a final path."""

from __future__ import annotations

import numpy as np
import pytest

from modelctl.errors import SpecError, UsageError
from modelctl.registry.exporters import exporters
from modelctl.registry.base import UnknownNameError


@pytest.fixture(scope="module")
def keras():
    from modelctl.util.tf import tensorflow

    tensorflow()
    import keras

    keras.utils.set_random_seed(3)
    return keras


@pytest.fixture(scope="module")
def mlp(keras):
    x = keras.Input((8,), name="x")
    h = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model({"x": x}, {"label": keras.layers.Dense(3, activation="softmax", name="label")(h)})


@pytest.fixture(scope="module")
def context():
    from modelctl.export import ExportContext

    rng = np.random.default_rng(0)
    return ExportContext(holdout={"x": rng.normal(size=(16, 8)).astype("float32")},
                         representative={"x": rng.normal(size=(16, 8)).astype("float32")},
                         metadata={"spec_name": "mlp"})


def special_model(keras, name: str = "special"):
    """A model whose layer `name` uses Digamma, an op neither TFLite builtins nor tf2onnx have."""
    from modelctl.util.tf import tensorflow

    tf = tensorflow()

    class Special(keras.layers.Layer):
        def call(self, inputs):
            return tf.math.digamma(tf.abs(inputs) + 1.0)

    x = keras.Input((4,), name="x")
    h = Special(name=name)(keras.layers.Dense(4)(x))
    return keras.Model({"x": x}, {"value": keras.layers.Dense(1, name="value")(h)})


def leftovers(folder):
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def test_an_export_run_again_keeps_what_is_in_place_and_writes_the_rest(mlp, context, tmp_path):
    from modelctl.export import export_formats

    (tmp_path / "model.onnx").write_bytes(b"older")
    results = export_formats(mlp, ["saved_model", "onnx"], tmp_path, options={}, context=context)
    assert [result.path for result in results] == [tmp_path / "saved_model"]
    assert results.kept == [tmp_path / "model.onnx"]
    assert (tmp_path / "model.onnx").read_bytes() == b"older"
    with pytest.raises(UsageError) as raised:
        export_formats(mlp, ["onnx"], tmp_path, options={}, context=context)
    assert str(raised.value) == f"{tmp_path / 'model.onnx'} already exists; pass --force to write it again"
    assert raised.value.exit_code == 2
    assert (tmp_path / "model.onnx").read_bytes() == b"older"


def test_ctrl_c_during_an_export_keeps_what_was_verified_and_a_rerun_completes_it(mlp, context, tmp_path,
                                                                                monkeypatch):
    from modelctl.export import ExportInterrupted, export_formats
    from modelctl.export import runner

    verify = runner.verify

    def interrupted_at_onnx(model, artifact, *args, **kwargs):
        if artifact.format == "onnx":
            raise KeyboardInterrupt
        return verify(model, artifact, *args, **kwargs)

    monkeypatch.setattr(runner, "verify", interrupted_at_onnx)
    with pytest.raises(ExportInterrupted) as raised:
        export_formats(mlp, ["saved_model", "onnx"], tmp_path, options={}, context=context)
    assert raised.value.exit_code == 130
    assert str(raised.value) == (
        f"export interrupted while writing onnx; it was removed, and nothing of it is left\n"
        f"kept (written and verified): {tmp_path / 'saved_model'}\n"
        "not written: onnx\n"
        "run the same command again to write the missing ones (artifacts in place are kept)")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["saved_model"]
    monkeypatch.setattr(runner, "verify", verify)
    again = export_formats(mlp, ["saved_model", "onnx"], tmp_path, options={}, context=context)
    assert [result.path for result in again] == [tmp_path / "model.onnx"] and again.kept == [tmp_path / "saved_model"]


def test_force_replaces_files_folders_and_stale_sidecars(mlp, context, tmp_path):
    from modelctl.export import export_formats, read_metadata

    (tmp_path / "saved_model").mkdir()
    (tmp_path / "saved_model" / "stale.txt").write_text("old")
    (tmp_path / "model.tflite").write_bytes(b"older")
    (tmp_path / "model.tflite.preprocessing.json").write_text("{}")
    results = export_formats(mlp, ["saved_model", "tflite"], tmp_path, options={}, context=context, force=True)
    assert [result.path for result in results] == [tmp_path / "saved_model", tmp_path / "model.tflite"]
    assert not (tmp_path / "saved_model" / "stale.txt").exists()
    assert (tmp_path / "saved_model" / "saved_model.pb").is_file()
    assert read_metadata(tmp_path / "model.tflite")["spec_name"] == "mlp"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.tflite", "saved_model"]


def test_perturbed_artifact_fails_and_leaves_nothing(keras, mlp, context, tmp_path, monkeypatch):
    from modelctl.export import ExportFailed, export_formats, tflite

    real_export = tflite.export

    def perturbed_export(model, path, options, *, context):
        clone = keras.models.clone_model(model)
        clone.set_weights([weight + 0.05 for weight in model.get_weights()])
        return real_export(clone, path, options, context=context)

    monkeypatch.setattr(tflite, "export", perturbed_export)
    with pytest.raises(ExportFailed) as raised:
        export_formats(mlp, ["onnx", "tflite"], tmp_path, options={}, context=context)
    message = str(raised.value)
    assert message.startswith("tflite: verification failed on 16 held-out examples: output 'label' differs from "
                              "the Keras model by up to ")
    assert "(tolerance 0.0001), class agreement" in message
    assert raised.value.exit_code == 1
    assert [result.format for result in raised.value.results] == ["onnx"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx"]


def test_interrupted_export_leaves_nothing(mlp, context, tmp_path, monkeypatch):
    from modelctl.export import ExportInterrupted, export_formats, runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "verify", interrupted)
    with pytest.raises(ExportInterrupted, match="^export interrupted while writing saved_model"):
        export_formats(mlp, ["saved_model", "tflite"], tmp_path, options={}, context=context)
    assert list(tmp_path.iterdir()) == []


def test_concrete_function_route_is_caught(mlp, context, tmp_path):
    """`from_concrete_functions(..., trackable_obj=model)` converts without error but computes something else."""
    from modelctl.export import Artifact, VerificationError, verify
    from modelctl.export.signature import describe_inputs, input_specs, serving_function
    from modelctl.util.tf import quiet_native_output, tensorflow

    tf = tensorflow()
    function = tf.function(serving_function(mlp), input_signature=[input_specs(mlp)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()],
                                                                trackable_obj=mlp)
    with quiet_native_output((1, 2)):
        content = converter.convert()
    path = tmp_path / "wrong.tflite"
    path.write_bytes(content)
    artifact = Artifact("tflite", path, metadata={"artifact_inputs": describe_inputs(mlp)})
    # Its outputs are garbage: wrong numbers or NaN, from one run to the next.
    with pytest.raises(VerificationError, match=r"^tflite: verification failed on 16 held-out examples: output "
                                                r"'label' (differs from the Keras model by up to|has non-finite)"):
        verify(mlp, artifact, context)


def test_quantized_export_checks_the_metric_drop_when_asked(mlp, context, tmp_path):
    import dataclasses

    from modelctl.export import ExportFailed, export_formats

    calls = []

    def score(outputs):
        calls.append(outputs["label"].shape)
        return "mean top probability", float(np.mean(np.max(outputs["label"], axis=-1))) - 0.5 * (len(calls) % 2)

    scored = dataclasses.replace(context, score=score)
    results = export_formats(mlp, ["tflite"], tmp_path, options={"tflite": {"quantize": "dynamic"}}, context=scored)
    assert results[0].path.name == "model.dynamic.tflite" and results[0].metric[0] == "mean top probability"
    assert calls == [(16, 3), (16, 3)]
    with pytest.raises(ExportFailed, match=r"^tflite \(dynamic\): verification failed on 16 held-out examples: "
                                           r"mean top probability drops by 0\.5"):
        export_formats(mlp, ["tflite"], tmp_path, options={"tflite": {"quantize": "dynamic"}}, context=scored,
                       force=True, max_metric_drop=0.1)
    assert results[0].path.exists()  # the earlier artifact stays when its replacement fails


def test_unknown_format_lists_the_known_ones(mlp, context, tmp_path):
    from modelctl.export import export_formats

    with pytest.raises(UnknownNameError) as raised:
        export_formats(mlp, ["tflight"], tmp_path, options={}, context=context)
    assert str(raised.value) == ("'tflight' is not a known export format. Expected one of 'onnx', 'saved_model' or "
                                 "'tflite'. Did you mean 'tflite'?")


def test_options_are_checked(mlp, context, tmp_path):
    from modelctl.export import export_formats

    with pytest.raises(SpecError) as raised:
        export_formats(mlp, ["tflite", "onnx"], tmp_path,
                       options={"tflite": {"quantise": "int8"}, "onnx": {"opset": 19}}, context=context)
    assert str(raised.value).splitlines() == [
        "export options: $.export.onnx.opset: 19 is too large: the maximum is 18",
        "export options: $.export.tflite.quantise: unknown key 'quantise'. Allowed keys: 'quantize', "
        "'representative_examples' or 'select_tf_ops'. Did you mean 'quantize'?",
    ]
    assert list(tmp_path.iterdir()) == []


def test_unsupported_op_names_the_layer(keras, tmp_path):
    from modelctl.export import ExportContext, ExportFailed, export_formats

    model = special_model(keras)
    context = ExportContext(holdout={"x": np.ones((4, 4), np.float32)})
    with pytest.raises(ExportFailed) as raised:
        export_formats(model, ["tflite", "onnx", "saved_model"], tmp_path, options={}, context=context)
    assert str(raised.value).splitlines() == [
        "tflite: cannot convert layer 'special' (ops Digamma). TFLite builtins lack these ops; set "
        "`select_tf_ops: true` to use Select TF ops (the app then needs the Flex delegate), or change the layer.",
        "onnx: cannot convert layer 'special' (ops Digamma). tf2onnx cannot convert these ops to ONNX.",
    ]
    assert [result.format for result in raised.value.results] == ["saved_model"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["saved_model"]


def test_recurrent_layer_needs_a_fixed_length_for_tflite(keras, tmp_path):
    from modelctl.export import ExportContext, UnsupportedLayerError, tflite

    sequence = keras.Input((None, 3), name="sequence")
    h = keras.layers.LSTM(4, name="encoder")(sequence)
    model = keras.Model({"sequence": sequence}, {"value": keras.layers.Dense(1, name="value")(h)})
    with pytest.raises(UnsupportedLayerError, match=r"^tflite: cannot convert layer 'encoder'\. TFLite builtins run "
                                                    r"recurrent layers only unrolled, which needs a fixed sequence "
                                                    r"length; the input of 'encoder' has shape \(None, None, 3\)\."):
        tflite.export(model, tmp_path / "model.tflite", exporters().get("tflite").defaults(),
                      context=ExportContext(holdout={}))


def test_int8_needs_representative_examples(mlp, tmp_path):
    from modelctl.export import ExportContext, ExportFailed, export_formats

    context = ExportContext(holdout={"x": np.ones((4, 8), np.float32)})
    with pytest.raises(ExportFailed, match=r"^tflite \(int8\): int8 quantization needs representative examples "
                                           r"from the training split; none were given$"):
        export_formats(mlp, ["tflite"], tmp_path, options={"tflite": {"quantize": "int8"}}, context=context)
    assert list(tmp_path.iterdir()) == []


def test_select_tf_ops_artifact_is_not_passed_unverified(keras, tmp_path):
    """The LiteRT runtime here has no Flex delegate, so a model needing Select TF ops cannot be verified."""
    from modelctl.export import ExportContext, ExportFailed, export_formats

    review = keras.Input((1,), dtype="string", name="review")
    vectorize = keras.layers.TextVectorization(max_tokens=16, output_sequence_length=4, name="review_vectorize")
    vectorize.adapt(["good film", "bad film"])
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(16, 2)(vectorize(review)))
    model = keras.Model({"review": review}, {"good": keras.layers.Dense(1, activation="sigmoid", name="good")(h)})
    context = ExportContext(holdout={"review": np.array([["good film"], ["bad"]], dtype=object)})
    with pytest.raises(ExportFailed, match=r"^tflite: the model uses Select TF ops, and the LiteRT runtime of this "
                                           r"Python has no Flex delegate"):
        export_formats(model, ["tflite"], tmp_path, options={"tflite": {"select_tf_ops": True}}, context=context)
    assert list(tmp_path.iterdir()) == []


def test_quantized_artifacts_are_scored_on_the_whole_split(mlp, context, tmp_path):
    import dataclasses

    from modelctl.export import export_formats

    rng = np.random.default_rng(5)
    chunks = [(rng.normal(size=(size, 8)).astype("float32"), rng.integers(0, 3, size=size)) for size in (50, 1500, 7)]

    def split():
        for features, truth in chunks:
            yield {"x": features}, truth

    def accuracy(outputs, truth):
        return "accuracy", float(np.mean(outputs["label"].argmax(axis=-1) == truth))

    truth = np.concatenate([labels for _, labels in chunks])
    expected = mlp.predict({"x": np.concatenate([features for features, _ in chunks])}, verbose=0)["label"]
    scored = dataclasses.replace(context, split=split, split_score=accuracy,
                                 score=lambda outputs: ("accuracy", 0.0))
    [onnx] = export_formats(mlp, ["onnx"], tmp_path, options={}, context=scored)
    [dynamic] = export_formats(mlp, ["tflite"], tmp_path, options={"tflite": {"quantize": "dynamic"}}, context=scored)
    assert (onnx.metric, onnx.metric_examples) == (("accuracy", 0.0, 0.0), 16)  # float32: the verified sample
    assert dynamic.examples == 16 and dynamic.metric_examples == 1557
    assert dynamic.metric[2] == pytest.approx(np.mean(expected.argmax(axis=-1) == truth), abs=1e-9)
    assert abs(dynamic.metric[1] - dynamic.metric[2]) < 0.05
    assert dynamic.as_dict()["metric"]["examples"] == 1557


def test_a_format_that_fails_unexpectedly_leaves_the_others_written(mlp, context, tmp_path, monkeypatch):
    from modelctl.export import ExportFailed, export_formats, onnx

    def broken(model, path, options, context):
        raise RuntimeError("converter state is corrupt\nsecond line")

    monkeypatch.setattr(onnx, "export", broken)
    with pytest.raises(ExportFailed) as raised:
        export_formats(mlp, ["saved_model", "onnx", "tflite"], tmp_path, options={}, context=context)
    assert str(raised.value) == "onnx: the export failed: RuntimeError: converter state is corrupt"
    assert raised.value.exit_code == 1
    assert [result.format for result in raised.value.results] == ["saved_model", "tflite"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.tflite", "saved_model"]


def test_a_recurrent_layer_without_a_sequence_length_fails_tflite_only(keras, context, tmp_path):
    from modelctl.export import ExportContext, ExportFailed, export_formats

    sequence = keras.Input((None, 3), name="sequence")
    model = keras.Model({"sequence": sequence}, {"value": keras.layers.Dense(1, name="value")(
        keras.layers.LSTM(4, name="encoder")(sequence))})
    holdout = {"sequence": np.random.default_rng(0).normal(size=(8, 5, 3)).astype("float32")}
    with pytest.raises(ExportFailed) as raised:
        export_formats(model, ["saved_model", "tflite", "onnx"], tmp_path, options={},
                       context=ExportContext(holdout=holdout))
    [(label, failure)] = raised.value.failures
    assert label == "tflite" and "the input of 'encoder' has shape (None, None, 3)" in str(failure)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx", "saved_model"]


def test_a_regression_output_has_no_class_agreement_and_each_metric_says_what_it_was_computed_on(keras):
    from pathlib import Path

    from modelctl.export import Result
    from modelctl.export.report import notes, rows
    from modelctl.export.verify import output_kinds

    x = keras.Input((3,), name="x")
    model = keras.Model({"x": x}, {"price": keras.layers.Dense(1, name="price")(x)})
    assert output_kinds(model, {"class_names": {"price": None}}) == {"price": "regression"}
    float32 = Result("tflite", "none", Path("model.tflite"), 1000, {"price": 1e-6}, {}, 64, 1e-4,
                     metric=("mae", 0.5, 0.5), metric_examples=64)
    dynamic = Result("tflite", "dynamic", Path("model.dynamic.tflite"), 500, {"price": 0.01}, {}, 64, None,
                     metric=("mae", 0.4, 0.41), metric_examples=300)
    shown = rows([float32, dynamic])
    assert [row[5] for row in shown] == ["-", "-"]
    assert shown[0][6] == "mae 0.5000 (Keras 0.5000, drop +0.0000) on sample of 64"
    assert shown[1][6] == "mae 0.4000 (Keras 0.4100, drop +0.0100) on all 300 held-out"
    assert notes([float32, dynamic])[1].startswith("metric: the float artifacts are scored on the sample")

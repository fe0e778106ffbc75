"""`modelctl summary` and `modelctl validate --deep` through the command line."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from conftest import iris_data
from modelctl.cli.app import app

ROOT = Path(__file__).resolve().parent.parent

def test_summary_json_totals(runner):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "small-cnn.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    description = json.loads(result.output)
    assert [row["type"] for row in description["layers"]] == [
        "conv2d", "max_pooling2d", "conv2d", "global_average_pooling2d", "dropout", "dense"]
    assert description["layers"][-1] == {"name": "digit", "type": "dense", "output_shape": "(None, 10)",
                                         "parameters": 330, "trainable_parameters": 330}
    totals = description["totals"]
    assert totals["parameters"] == 160 + 4640 + 330
    assert totals["weight_bytes"] == totals["parameters"] * 4
    # conv 8x8x16x(3x3x1) + conv 4x4x32x(3x3x16) multiply-adds, dense 32x10, plus bias, pooling and softmax ops
    assert 2 * (8 * 8 * 16 * 9 + 4 * 4 * 32 * 9 * 16 + 32 * 10) <= totals["flops_per_example"] < 200_000


def test_summary_table(runner):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "tabular-mlp.yaml")])
    assert result.exit_code == 0, result.output
    assert "species" in result.output
    assert "parameters: 739 (739 trainable, 0 frozen)" in result.output


def test_summary_of_an_invalid_spec_lists_its_errors(runner, write_spec):
    path = write_spec("modelctl: 1\nname: x\nmodel:\n  layers:\n    - dense: {units: 0}\n")
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1
    assert "$.model.layers[0].dense.units: 0 is too small: the minimum is 1" in result.output


@pytest.mark.skipif(importlib.util.find_spec("pydot") is not None and shutil.which("dot") is not None,
                    reason="pydot and graphviz are installed")
def test_plot_without_graphviz_says_how_to_get_it(runner, tmp_path):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "tabular-mlp.yaml"), "--plot",
                                 str(tmp_path / "model.png")])
    assert result.exit_code == 1
    assert "--plot needs" in result.output and "graphviz" in result.output
    assert not (tmp_path / "model.png").exists()


@pytest.mark.slow
def test_validate_deep(runner):
    result = runner.invoke(app, ["validate", "--deep", str(ROOT / "specs")])
    assert result.exit_code == 0, result.output


def test_recurrent_flops_are_counted(runner):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "lstm-text.yaml"), "--format", "json"])
    flops = json.loads(result.output)["totals"]["flops_per_example"]
    lstm = 2 * 64 * 4 * (64 * 64 + 64 * 64) + 2 * 64 * 4 * (64 * 32 + 32 * 32)
    assert lstm <= flops < lstm * 1.1


def test_recurrent_flops_are_counted_with_dropout(runner):
    # Dropout masks draw from a seed variable even at inference, which the frozen graph could not take.
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "lstm-text.yaml"), "--format", "json",
                                 "--set", "model.layers[1].lstm.dropout=0.1"])
    assert result.exit_code == 0, result.output
    flops = json.loads(result.output)["totals"]["flops_per_example"]
    lstm = 2 * 64 * 4 * (64 * 64 + 64 * 64) + 2 * 64 * 4 * (64 * 32 + 32 * 32)
    assert lstm <= flops < lstm * 1.1


def test_flops_that_cannot_be_counted_are_unknown(runner, monkeypatch):
    from modelctl.model import summary

    def fail(model):
        raise ValueError("the profiler cannot take this graph")

    monkeypatch.setattr(summary, "_counted_flops", fail)
    spec = str(ROOT / "specs" / "tabular-mlp.yaml")
    result = runner.invoke(app, ["summary", spec, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"]["flops_per_example"] is None
    result = runner.invoke(app, ["summary", spec])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].endswith("FLOPs per example: unknown")


def _dense_on_iris(units: int) -> str:
    return f"""modelctl: 1
name: wide
seed: 1
{iris_data()}
model:
  layers:
    - dense: {{units: {units}}}
    - dense: {{units: 3, activation: softmax}}
      name: species
training:
  loss: sparse_categorical_crossentropy
"""


@pytest.mark.parametrize("memory_gib", [300, 400])
def test_weights_that_do_not_fit_in_memory_are_refused_at_the_layer(runner, write_spec, monkeypatch, memory_gib):
    """20 billion units: 100 billion parameters in the first layer, 60 billion in the second, never allocated.
    At 300 GiB the first layer alone does not fit; at 400 GiB neither alone is too big, and the largest is blamed."""
    from modelctl.model import memory

    monkeypatch.setattr(memory, "machine_memory", lambda: memory_gib * 1024 ** 3)
    path = write_spec(_dense_on_iris(20_000_000_000))
    expected = (f"{path}:14:7: $.model.layers[0]: the weights of 'dense_1' do not fit in memory: they take 372.5 GiB "
                f"(100,000,000,000 parameters) of the model's 596.0 GiB, and this machine has {memory_gib}.0 GiB. "
                "Make the layer smaller (such as fewer units, filters or input_dim)")
    for command in (["validate", "--deep"], ["summary"], ["train", "--dry-run", "--output", str(path.parent)]):
        result = runner.invoke(app, [*command, str(path)])
        assert result.exit_code == 1, result.output
        assert [line.removeprefix("error: ") for line in result.output.splitlines() if "$." in line] == [expected]


def test_a_categorical_width_is_learned_from_the_data_as_training_learns_it(runner, write_spec):
    iris = ROOT / "examples" / "iris" / "iris.csv"
    path = write_spec(f"""modelctl: 1
name: kinds
seed: 1
data:
  source: {{format: csv, path: {iris}}}
  features:
    kind: {{type: categorical, column: species}}
    x: {{type: numeric, columns: [sepal_length, sepal_width]}}
  labels:
    petal: {{column: petal_length, type: regression}}
model:
  layers:
    - concatenate: {{}}
      inputs: [kind, x]
    - dense: {{units: 1}}
      name: petal
training:
  loss: mean_squared_error
""")
    assert runner.invoke(app, ["validate", "--deep", str(path)]).output == "1 spec valid\n"
    result = runner.invoke(app, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    description = json.loads(result.output)
    assert [item["shape"] for item in description["inputs"]] == ["(None, 4)", "(None, 2)"]
    assert description["notes"] == [f"categorical feature 'kind': one-hot width 4 from the 3 values of column "
                                     f"'species' in {iris}; training learns the vocabulary from the training split"]
    assert _dry_run_parameters(runner, path) == description["totals"]["parameters"] == 7


def test_a_categorical_width_without_readable_data_is_a_stated_placeholder(runner, write_spec):
    path = write_spec("""modelctl: 1
name: kinds
seed: 1
data:
  source: {format: csv, path: data.csv}
  features:
    kind: {type: categorical}
  labels:
    label: {column: label, type: binary}
model:
  layers:
    - dense: {units: 1, activation: sigmoid}
      name: label
training:
  loss: binary_crossentropy
""")
    (path.parent / "data.csv").write_text("")
    note = ("categorical feature 'kind': its vocabulary is learned from the data, which cannot be read here; the "
            "model is built with a placeholder of 10 values (one-hot width 11), so the first layer's parameters "
            "are approximate. Give `vocabulary` for the exact width")
    result = runner.invoke(app, ["validate", "--deep", str(path)])
    assert (result.exit_code, result.output) == (0, f"{path}:7:11: $.data.features.kind: warning: {note}\n"
                                                    "1 spec valid, 1 warning\n")
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"note: {note}"


def test_a_bag_of_words_has_the_same_width_in_summary_and_training(runner, write_spec):
    path = write_spec(f"""modelctl: 1
name: words
seed: 1
data:
  source: {{format: csv, path: {ROOT / 'examples' / 'text' / 'reviews.csv'}}}
  features:
    review: {{type: text, max_tokens: 5000, output_mode: multi_hot}}
  labels:
    sentiment: {{column: sentiment, type: binary, positive: positive}}
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 1, activation: sigmoid}}
      name: sentiment
training:
  loss: binary_crossentropy
""")
    result = runner.invoke(app, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    description = json.loads(result.output)
    assert description["inputs"][0]["shape"] == "(None, 5000)"
    assert _dry_run_parameters(runner, path) == description["totals"]["parameters"] == 5000 * 8 + 8 + 9


def _dry_run_parameters(runner, path: Path) -> int:
    result = runner.invoke(app, ["train", "--dry-run", "--output", str(path.parent), str(path)])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("model: ")]
    return int(line.split()[1].replace(",", ""))

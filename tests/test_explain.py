"""`modelctl explain` against known answers: a table whose label only two columns decide, completeness of
integrated gradients and of SHAP values, the image overlay and the text page, and bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from modelctl.errors import UsageError

pytestmark = pytest.mark.slow

COLUMNS = ["noise_1", "a", "noise_2", "b", "noise_3"]
TABLE_SPEC = """
modelctl: 1
name: two-columns
seed: 5
data:
  source: {{format: csv, path: {path}}}
  features:
    x: {{type: numeric, columns: [{columns}], preprocessing: [standardize]}}
    color: {{type: categorical}}
  labels:
    y: {{column: y, type: binary}}
  split: {{train: 0.8, validation: 0.0, test: 0.2}}
  batch_size: 32
model:
  layers:
    - concatenate: {{}}
      inputs: [x, color]
    - dense: {{units: 16, activation: relu}}
    - dense: {{units: 1, activation: sigmoid}}
      name: y
training:
  epochs: 10
  optimizer: {{type: adam, learning_rate: 0.02}}
  loss: binary_crossentropy
"""
IMAGE_SPEC = """
modelctl: 1
name: bright-half
seed: 2
data:
  source: {{format: image_folder, path: {path}}}
  features:
    image: {{type: image, size: [6, 6], channels: 1, preprocessing: [{{rescale: 0.00392156863}}]}}
  labels:
    half: {{column: label, type: categorical}}
  split: {{train: 0.75, validation: 0.0, test: 0.25, stratify: true}}
  batch_size: 8
model:
  layers:
    - conv2d: {{filters: 4, kernel_size: 3, padding: same, activation: relu}}
    - global_average_pooling2d
    - dense: {{units: 2, activation: softmax}}
      name: half
training:
  epochs: 1
  steps_per_epoch: 3
  optimizer: {{type: adam, learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
"""
TEXT_SPEC = """
modelctl: 1
name: tiny-text
seed: 3
data:
  source: {{format: csv, path: {path}}}
  features:
    review: {{type: text, max_tokens: 20, sequence_length: 6}}
  labels:
    sentiment: {{column: sentiment, type: categorical, classes: [bad, good]}}
  split: {{train: 0.75, validation: 0.0, test: 0.25}}
  batch_size: 8
model:
  layers:
    - embedding: {{input_dim: 20, output_dim: 4, mask_zero: true}}
    - global_average_pooling1d
    - dense: {{units: 2, activation: softmax}}
      name: sentiment
training:
  epochs: 1
  steps_per_epoch: 3
  optimizer: {{type: adam, learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
"""
INDEX_SPEC = """
modelctl: 1
name: sizes
seed: 1
data:
  source: {{format: csv, path: {path}}}
  features:
    size: {{type: categorical, output_mode: index}}
  labels:
    y: {{column: y, type: binary}}
  split: {{train: 0.75, validation: 0.0, test: 0.25}}
  batch_size: 8
model:
  layers:
    - dense: {{units: 1, activation: sigmoid}}
      name: y
training:
  epochs: 1
  steps_per_epoch: 2
  loss: binary_crossentropy
"""


def _train(folder, text: str):
    from rich.console import Console

    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    spec = folder / "spec.yaml"
    spec.write_text(text)
    return train(load_spec(spec), folder / "runs", Console(file=open(os.devnull, "w")), quiet=True).run_dir


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """A run whose label is decided by columns `a` and `b` alone; the other three and the category are noise."""
    folder = tmp_path_factory.mktemp("explain-table")
    generator = np.random.default_rng(0)
    values = generator.normal(size=(500, len(COLUMNS)))
    colors = generator.choice(["red", "green", "blue"], size=500)
    label = (values[:, COLUMNS.index("a")] + values[:, COLUMNS.index("b")] > 0).astype(int)
    lines = [",".join([*COLUMNS, "color", "y"])] + [",".join([*(f"{value:.5f}" for value in row), color, str(y)])
                                                     for row, color, y in zip(values, colors, label)]
    (folder / "table.csv").write_text("\n".join(lines) + "\n")
    return _train(folder, TABLE_SPEC.format(path=folder / "table.csv", columns=", ".join(COLUMNS)))


def test_permutation_importance_ranks_the_two_deciding_columns_first(table_run, runner):
    from modelctl.cli.app import app

    result = runner.invoke(app, ["explain", str(table_run), "--method", "permutation", "--repeats", "3",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    rows = document["importance"]["features"]
    assert {row["name"] for row in rows[:2]} == {"a", "b"}
    assert [row["feature"] for row in rows].count("x") == len(COLUMNS) and len(rows) == len(COLUMNS) + 1
    assert [row["name"] for row in rows if row["feature"] == "color"] == ["color"]
    assert min(row["importance"] for row in rows[:2]) > 5 * max(abs(row["importance"]) for row in rows[2:])
    assert document["importance"]["metric"] == "log_loss" and "attributions" not in document
    saved = json.loads((table_run / "explain" / "test" / "explain.json").read_text())
    assert saved["importance"] == document["importance"]
    report = (table_run / "explain" / "test" / "report.md").read_text()
    assert "## Permutation importance" in report and "| 1 | " in report and "importance.png" in report


def test_the_evaluation_report_of_the_split_gets_an_explanation_section(table_run, runner):
    from modelctl.cli.app import app

    assert runner.invoke(app, ["eval", str(table_run)]).exit_code == 0
    report = table_run / "eval" / "test" / "report.md"
    for _ in range(2):  # explained again, the section is replaced, not repeated
        result = runner.invoke(app, ["explain", str(table_run), "--method", "permutation", "--repeats", "1"])
        assert result.exit_code == 0, result.output
        text = report.read_text()
        assert text.count("## Explanation") == 1 and "../../explain/test/report.md" in text
        assert text.index("## Explanation") > text.index("# Evaluation of")
    first = [line for line in text.splitlines() if line.startswith("| 1 | ")][-1]
    assert first.split("|")[2].strip() in {"a", "b"}
    assert runner.invoke(app, ["eval", str(table_run)]).exit_code == 0  # evaluated again, the section stays
    assert report.read_text().count("## Explanation") == 1 and first in report.read_text()


def test_integrated_gradients_are_complete_and_explain_the_model_s_own_output(table_run):
    from modelctl.explain import explain_run
    from modelctl.model.preprocessing import predict_raw
    from modelctl.model.saving import load_model
    from modelctl.data.pipeline import prepare
    from modelctl.runs import read_json
    from modelctl.spec.run import load_run_spec

    result = explain_run(table_run, examples=4, steps=100, repeats=1)
    examples = result.document["attributions"]["examples"]
    assert len(examples) == 4
    fitted = read_json(table_run / "preprocessing.json")
    test = prepare(load_run_spec(table_run), fitted=fitted).arrays("test")
    scores = predict_raw(load_model(table_run / "model.keras"), test.features)[:4, 0]
    for example, score in zip(examples, scores):
        columns = example["features"]["x"]["columns"]
        color = example["features"]["color"]
        assert list(columns) == COLUMNS
        assert color["kind"] == "value" and color["value"] == test.features["color"][example["example"], 0]
        assert example["score"] == pytest.approx(float(score), abs=1e-5)
        assert sum(columns.values()) + color["attribution"] == pytest.approx(
            example["score"] - example["baseline_score"], abs=2e-3)
        assert abs(example["gap"]) < 2e-3
        assert example["target"] == fitted["labels"]["y"]["classes"][1]
    assert (result.folder / "examples" / "0.png").read_bytes()[:4] == b"\x89PNG"


def test_shap_values_sum_to_the_output_and_rank_the_deciding_columns(table_run):
    from modelctl.explain import explain_run

    result = explain_run(table_run, examples=3, method="shap", repeats=1)
    attributions = result.document["attributions"]
    assert attributions["method"] == "shap"
    for example in attributions["examples"]:
        columns = {**example["features"]["x"]["columns"], "color": example["features"]["color"]["attribution"]}
        assert sum(columns.values()) == pytest.approx(example["score"] - example["baseline_score"], abs=1e-4)
        assert {name for name, _ in sorted(columns.items(), key=lambda item: -abs(item[1]))[:2]} == {"a", "b"}


def test_bad_input_is_a_clear_error(table_run, runner):
    from modelctl.cli.app import app
    from modelctl.explain import explain_run

    with pytest.raises(UsageError, match=r"^the validation split of .* has no examples; choose another with "
                                         r"--split$"):
        explain_run(table_run, split="validation")
    with pytest.raises(UsageError, match=r"^--method 'integrated_gradient': expected one of 'integrated_gradients', "
                                         r"'shap' or 'permutation'\. Did you mean 'integrated_gradients'\?$"):
        explain_run(table_run, method="integrated_gradient")
    with pytest.raises(UsageError, match=r"^--split 'tset': expected one of 'train', 'validation' or 'test'\. "
                                         r"Did you mean 'test'\?$"):
        explain_run(table_run, split="tset")
    result = runner.invoke(app, ["explain", str(table_run), "--repeats", "0"])
    assert result.exit_code == 2 and "--repeats must be at least 1; received 0" in result.output
    result = runner.invoke(app, ["explain", str(table_run.parent / "nothing")])
    assert result.exit_code == 2 and "no such run folder" in result.output


def test_an_image_run_gets_overlays_and_refuses_shap(tmp_path_factory):
    from modelctl.explain import ExplainError, explain_run

    folder = tmp_path_factory.mktemp("explain-image")
    generator = np.random.default_rng(1)
    for half in ("top", "bottom"):
        (folder / "images" / half).mkdir(parents=True)
        for index in range(12):
            pixels = generator.integers(0, 60, size=(6, 6)).astype(np.uint8)
            pixels[slice(0, 3) if half == "top" else slice(3, 6)] += 180
            Image.fromarray(pixels, mode="L").save(folder / "images" / half / f"{index}.png")
    run = _train(folder, IMAGE_SPEC.format(path=folder / "images"))
    result = explain_run(run, examples=2, steps=32, repeats=1)
    examples = result.document["attributions"]["examples"]
    assert [row["name"] for row in result.document["importance"]["features"]] == ["image"]
    for example in examples:
        pixels = np.asarray(example["features"]["image"]["pixels"])
        assert pixels.shape == (6, 6)
        assert pixels.sum() == pytest.approx(example["score"] - example["baseline_score"], abs=5e-3)
        overlay = result.folder / "examples" / f"{example['example']}-image.png"
        assert overlay.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ExplainError, match=r"^--method shap explains tables of numeric and categorical features; this "
                                           r"model also takes 'image' \(image\)\."):
        explain_run(run, examples=1, method="shap", repeats=1, write=False)


def test_a_text_run_gets_highlighted_tokens(tmp_path_factory):
    from modelctl.explain import explain_run

    folder = tmp_path_factory.mktemp("explain-text")
    good = ["great fast quiet", "quiet and great", "fast light great"]
    bad = ["slow noisy broken", "broken and slow", "noisy heavy slow"]
    rows = ["review,sentiment"] + [f"{text},good" for text in good * 6] + [f"{text},bad" for text in bad * 6]
    (folder / "reviews.csv").write_text("\n".join(rows) + "\n")
    run = _train(folder, TEXT_SPEC.format(path=folder / "reviews.csv"))
    result = explain_run(run, examples=2, steps=16, repeats=1)
    for example in result.document["attributions"]["examples"]:
        described = example["features"]["review"]
        tokens = [token for token, _ in described["tokens"]]
        assert 2 <= len(tokens) <= 3 and all(token in " ".join(good + bad).split() for token in tokens)
        total = sum(value for _, value in described["tokens"]) + described["padding"]
        assert total == pytest.approx(example["score"] - example["baseline_score"], abs=5e-3)
        page = (result.folder / "examples" / f"{example['example']}-review.html").read_text()
        assert all(f">{token}</span>" in page for token in tokens)


def test_integer_inputs_without_an_embedding_refuse_integrated_gradients(tmp_path_factory):
    from modelctl.explain import ExplainError, explain_run

    folder = tmp_path_factory.mktemp("explain-index")
    sizes = np.random.default_rng(4).choice(list("SMLX"), 80)
    (folder / "sizes.csv").write_text("size,y\n" + "".join(f"{size},{int(size in 'SM')}\n" for size in sizes))
    run = _train(folder, INDEX_SPEC.format(path=folder / "sizes.csv"))
    with pytest.raises(ExplainError, match=r"^integrated gradients: feature 'size' reaches the model as integers "
                                           r"\(dtype int64\) that no embedding layer takes, so they have no "
                                           r"gradient\. Use --method permutation$"):
        explain_run(run, examples=1, repeats=1, write=False)
    result = explain_run(run, method="permutation", repeats=2, write=False)
    assert [row["name"] for row in result.document["importance"]["features"]] == ["size"]

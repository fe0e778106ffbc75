"""Compiling specs: per-output losses, loss weights and metrics, logged under the names validate accepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelctl.model.build import build_model
from modelctl.spec import checks
from modelctl.spec.validate import load_spec
from modelctl.training.compile import compile_arguments

ROOT = Path(__file__).resolve().parent.parent

def test_two_outputs_train_with_their_own_losses_and_metrics():
    document = load_spec(ROOT / "specs" / "two-input.yaml")
    model = build_model(document)
    model.compile(**compile_arguments(document.spec, model.output_names, steps_per_epoch=3))
    rng = np.random.default_rng(0)
    inputs = {"chemistry": rng.random((48, 7), "float32"), "appearance": rng.random((48, 5), "float32")}
    targets = {"cultivar": rng.integers(0, 3, 48), "alcohol": rng.random(48, "float32")}
    history = model.fit(inputs, targets, epochs=1, batch_size=16, validation_split=0.25, verbose=0).history
    assert sorted(history) == ["alcohol_loss", "alcohol_mean_absolute_error", "cultivar_accuracy", "cultivar_loss",
                               "loss", "val_alcohol_loss", "val_alcohol_mean_absolute_error",
                               "val_cultivar_accuracy", "val_cultivar_loss", "val_loss"]
    assert np.isfinite(history["loss"]).all()


def test_logged_names_are_the_ones_callbacks_may_monitor(write_spec):
    text = (ROOT / "specs" / "two-input.yaml").read_text().replace("../examples", str(ROOT / "examples"))
    text = text.replace("early_stopping: {monitor: val_loss, patience: 10}",
                        "early_stopping: {monitor: val_cultivar_accuracy, patience: 10}")
    document = load_spec(write_spec(text))
    report = checks.Report(document)
    checks.run_checks(document.data, report)
    assert [str(item) for item in report.items] == []


def test_schedule_drives_the_learning_rate():
    document = load_spec(ROOT / "specs" / "resnet-cnn.yaml")
    model = build_model(document)
    arguments = compile_arguments(document.spec, model.output_names, steps_per_epoch=10)
    schedule = arguments["optimizer"].learning_rate
    assert type(arguments["optimizer"]).__name__ == "SGD"
    # two warm-up epochs of ten steps climb linearly to the optimizer's 0.05
    assert float(arguments["optimizer"]._learning_rate(10)) == pytest.approx(0.025, rel=1e-5)
    assert float(arguments["optimizer"]._learning_rate(20)) == pytest.approx(0.05, rel=1e-5)
    assert schedule is not None

"""Callbacks of a modelctl run: checkpoints to resume from, history, NaN guard, interruption and progress.

Keras's own EarlyStopping, ReduceLROnPlateau and TensorBoard come from the
callback registry; the ones here write into the run folder and keep what a
resumed run needs (`checkpoints/last.json`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import signal
import time
from pathlib import Path

import keras
import numpy as np

from modelctl.errors import UsageError
from modelctl.runs import RunFolder
from modelctl.runs.folder import BEST_CHECKPOINT, EARLY_STOPPING_BEST, LAST_CHECKPOINT, LAST_STATE
from modelctl.training.errors import TrainingError
from modelctl.util.files import atomic_path, copy_atomic, write_text_atomic

STATEFUL = {"EarlyStopping": ("wait", "best", "stopped_epoch", "best_epoch"),
            "ReduceLROnPlateau": ("wait", "best", "cooldown_counter")}
"""Keras callbacks whose counters a resumed run must get back, and those counters."""


def save_model_atomic(model, path: Path) -> None:
    """Save a `.keras` file through a temporary file and a rename: a reader never sees half of one."""
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class Interrupted(Exception):
    """Raised after training stopped on SIGINT or SIGTERM."""

    def __init__(self, signal_number: int):
        self.signal_number = signal_number
        super().__init__(signal.Signals(signal_number).name)


class StopOnSignal(keras.callbacks.Callback):
    """Stops training when the process gets SIGINT (Ctrl-C) or SIGTERM, at the end of the execution under way (the
    `training.steps_per_execution` steps Keras runs in one call, after which it calls `on_train_batch_end`).

    An epoch whose every step was trained before the signal came (it came during the last execution's end, or
    while the epoch was being validated) is complete, and is kept: only an epoch with steps left is cut short.

    Attributes:
        received: the signal's number, None while none came.
        cut: whether the last epoch that ended was cut short by the signal.
    """

    def __init__(self):
        super().__init__()
        self.received: int | None = None
        self.cut = False
        self.steps_done = 0
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[number] = signal.signal(number, self._handle)
            except ValueError:  # not the main thread
                pass

    def uninstall(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number, frame) -> None:
        self.received = number
        if self.model is not None:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.steps_done = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done = batch + 1
        if self.received is not None:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        # Decided once, before the callbacks that save and show the epoch run, so that they agree even when the
        # signal arrives while they do.
        steps = (self.params or {}).get("steps")
        self.cut = self.received is not None and not (steps and self.steps_done >= steps)


class FirstStep(keras.callbacks.Callback):
    """Remembers the wall-clock time (`time.time()`) the first training step began, for the run's record."""

    def __init__(self):
        super().__init__()
        self.at: float | None = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.at is None:
            self.at = time.time()


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the end of the first execution whose loss is NaN or infinite, and remembers where.

    The logged `loss` is the mean over the epoch's steps so far, so it stays NaN or infinite from the step where
    the loss first was: that step is the last of one execution (`steps_per_execution` 1) or lies among the steps
    of the first execution that ends with such a loss.

    Attributes:
        found: `(epoch, first step, last step, loss)` of that execution, epoch and steps counted from 1; None
            while the loss is finite.
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.first_step = 0
        self.found: tuple[int, int, int, float] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.first_step = batch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.found = (self.epoch + 1, self.first_step + 1, batch + 1, float(loss))
            self.model.stop_training = True


class RunRecorder(keras.callbacks.Callback):
    """After each completed epoch: the history, checkpoints/last.keras with last.json, and best.keras.

    Args:
        folder: the run folder.
        history: rows of earlier epochs (a resumed run's), each a dict with `epoch`.
        monitor: value that decides the best epoch; `mode` `min`, `max` or `auto` (max for names holding
            accuracy, auc, precision, recall or f1).
        save_best: keep `checkpoints/best.keras`.
        stop: the StopOnSignal and NaNGuard callbacks; an epoch cut short by them is not recorded.
        watched: Keras callbacks whose counters go into last.json.
        best: the best monitored value so far (a resumed run's); default None.
        kept: the model the checkpoints keep, and whose random generators last.json keeps; default None: the
            model being trained (a distilled run trains a model that holds it, and keeps the student alone).
    """

    def __init__(self, folder: Path, history: list[dict], monitor: str, *, mode: str, save_best: bool,
                 stop: list, watched: list, best: float | None = None, kept=None):
        super().__init__()
        self._kept = kept
        self.folder = Path(folder)
        self.rows = list(history)
        self.monitor = monitor
        self.higher = mode == "max" or (mode == "auto" and any(word in monitor for word in
                                                               ("acc", "auc", "precision", "recall", "f1")))
        self.save_best = save_best
        self.stop = stop
        self.watched = watched
        self.best = best
        self.best_epoch: int | None = None
        self.saved: Path | None = None
        """`checkpoints/last.keras` once an epoch of this process saved it: the model as it ended that epoch."""

    @property
    def kept(self):
        """The model the checkpoints keep."""
        return self.model if self._kept is None else self._kept

    def on_epoch_end(self, epoch, logs=None):
        if cut_short(self.stop):
            return
        try:
            self._save(epoch, logs)
        except UsageError as error:  # not the command line's fault: the folder went away during training
            gone = "was removed" if not self.folder.is_dir() else "cannot be written"
            raise TrainingError(f"the run folder {self.folder} {gone} during epoch {epoch + 1}, which could not "
                                f"be saved ({error}); training stopped") from None

    def _save(self, epoch, logs) -> None:
        row = {"epoch": epoch + 1, **{key: _plain(float(value)) for key, value in (logs or {}).items()}}
        learning_rate = _learning_rate(self.model)
        if learning_rate is not None:
            row["learning_rate"] = learning_rate
        self.rows.append(row)
        run = RunFolder(self.folder)
        write_text_atomic(run.history_file, history_csv(self.rows))
        checkpoints = run.checkpoints
        save_model_atomic(self.kept, checkpoints / LAST_CHECKPOINT)
        self.saved = checkpoints / LAST_CHECKPOINT
        value = row.get(self.monitor)
        if self.save_best and isinstance(value, float) and math.isfinite(value) and (
                self.best is None or (value > self.best if self.higher else value < self.best)):
            self.best = value
            self.best_epoch = epoch + 1
            copy_atomic(checkpoints / LAST_CHECKPOINT, checkpoints / BEST_CHECKPOINT)
        for callback in self.watched:
            best_weights = getattr(callback, "best_weights", None)
            if best_weights is not None and getattr(callback, "best_epoch", None) == epoch:
                _save_arrays(best_weights, checkpoints / EARLY_STOPPING_BEST)
        state = {"epoch": epoch + 1, "history": self.rows, "best": self.best,
                 "generators": generator_states(self.kept), "callbacks": {
            type(callback).__name__: {name: _plain(getattr(callback, name, None))
                                      for name in STATEFUL.get(type(callback).__name__, ())}
            for callback in self.watched}}
        write_text_atomic(checkpoints / LAST_STATE, json.dumps(state, indent=2) + "\n")


def cut_short(stop: list) -> bool:
    """Whether the epoch now ending was stopped by one of `stop` (StopOnSignal, NaNGuard) and so is not complete.

    Keras still calls `on_epoch_end`, with the figures of the steps run so far.
    """
    return any(getattr(callback, "cut", False) or getattr(callback, "found", None) for callback in stop)


def _generators(model) -> list:
    """The state variables of the model's random generators (`keras.random.SeedGenerator`), in layer order:
    `Model.variables` holds every layer's state, seeds included, and Keras names a generator's state
    `seed_generator_state`."""
    return [variable for variable in model.variables if variable.name == "seed_generator_state"]


def generator_states(model) -> list[list[int]]:
    """State of every random generator in the model (dropout, noise, augmentation), in layer order; `.keras`
    files do not keep them, and a resumed run needs them to draw the same random numbers."""
    return [[int(part) for part in state.numpy()] for state in _generators(model)]


def restore_generators(model, states: list[list[int]]) -> None:
    generators = _generators(model)
    if len(generators) != len(states):
        raise ValueError(f"the model has {len(generators)} random generators but the checkpoint saved "
                         f"{len(states)}")
    for variable, state in zip(generators, states):
        variable.assign(state)


def _learning_rate(model) -> float | None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        rate = optimizer.learning_rate
        return float(np.asarray(rate.numpy() if hasattr(rate, "numpy") else rate))
    except (TypeError, ValueError, AttributeError):
        return None


def _save_arrays(arrays: list, path: Path) -> None:
    with atomic_path(path, suffix=".npz") as temporary:
        np.savez(temporary, *arrays)


def restore_counters(callbacks: list, saved: dict, checkpoints: Path) -> None:
    """Give Keras callbacks the counters a run saved in last.json, and early stopping its best weights."""
    best = checkpoints / EARLY_STOPPING_BEST
    for callback in callbacks:
        if hasattr(callback, "best_weights") and best.is_file():
            with np.load(best) as stored:
                callback.best_weights = [stored[f"arr_{index}"] for index in range(len(stored.files))]
        values = saved.get(type(callback).__name__)
        if not values:
            continue
        for name, value in values.items():
            if value is not None:
                setattr(callback, name, float(value) if name == "best" else value)


def history_csv(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


class Progress(keras.callbacks.Callback):
    """Shows training progress: rich bars with ETA and live metrics on a terminal, else one line per epoch.

    Only completed epochs get a line with figures; an epoch cut short gets `epoch N/M interrupted after S of T
    steps; not saved`, and its partial figures are not shown. The bar moves once per execution (by
    `training.steps_per_execution` steps), when Keras calls `on_train_batch_end` with the index of its last step.

    Args:
        console: a rich Console.
        epochs: the last epoch number.
        steps: training steps per epoch.
        live: rich bars (a terminal) or plain lines (CI logs, `--quiet` gives none at all).
        stop: the StopOnSignal and NaNGuard callbacks that can cut an epoch short; default none.
    """

    def __init__(self, console, epochs: int, steps: int, *, live: bool, stop: list | None = None):
        super().__init__()
        self.console = console
        self.epochs = epochs
        self.steps = steps
        self.live = live
        self.stop = list(stop or [])
        self.bar = None
        self.started = 0.0
        self.done_steps = 0

    def on_train_begin(self, logs=None):
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn, \
                TimeRemainingColumn

            self.bar = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), TextColumn("{task.fields[metrics]}"), console=self.console,
                            transient=False)
            self.bar.start()
            self.epoch_task = self.bar.add_task("epochs", total=self.epochs, metrics="")
            self.step_task = self.bar.add_task("steps", total=self.steps, metrics="")

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        self.done_steps = 0
        if self.bar is not None:
            self.bar.update(self.epoch_task, completed=epoch)
            self.bar.reset(self.step_task, total=self.steps)

    def on_train_batch_end(self, batch, logs=None):
        self.done_steps = batch + 1
        if self.bar is not None:
            self.bar.update(self.step_task, completed=batch + 1, metrics=_metrics_text(logs))

    def on_epoch_end(self, epoch, logs=None):
        if cut_short(self.stop):
            if self.bar is not None:
                self.bar.update(self.epoch_task, metrics="interrupted")
            else:
                self.console.print(f"epoch {epoch + 1}/{self.epochs} interrupted after {self.done_steps} of "
                                   f"{self.steps} steps; not saved", markup=False, highlight=False)
            return
        text = f"epoch {epoch + 1}/{self.epochs}  {time.perf_counter() - self.started:.1f}s  {_metrics_text(logs)}"
        if self.bar is not None:
            self.bar.update(self.epoch_task, completed=epoch + 1, metrics=_metrics_text(logs))
        else:
            self.console.print(text, markup=False, highlight=False)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.stop()


def _metrics_text(logs) -> str:
    return "  ".join(f"{key} {float(value):.4g}" for key, value in (logs or {}).items()
                     if isinstance(value, (int, float, np.floating)) or hasattr(value, "__float__"))

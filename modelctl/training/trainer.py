"""`modelctl train`: from a spec to a run folder holding a trained model that takes raw features.

    result = train(document, Path("runs"), console)
    result.run_dir        # runs/tabular-mlp/20261123T101500Z
    result.metrics        # {"train": {...}, "validation": {...}, "test": {...}}

The order of work: detect the hardware and choose a strategy, read and split
the data and fit its preprocessing, choose how many steps run per execution
(`training.steps_per_execution`, see `execution.py`), create the run folder,
build and compile the model under the strategy, fit it with the run's
callbacks, save and evaluate it. A problem that can be known before training
(a bad spec, a missing file, an unwritable output folder, steps per execution
that do not divide an epoch) stops before the run folder is made.

Resuming (`resume=RUN_DIR`) rebuilds the model from the run's own spec and
fitted preprocessing, loads `checkpoints/last.keras` (weights and optimizer
state), restores the random generators' and callbacks' counters from
`checkpoints/last.json`, and continues with the next epoch. Shuffling is keyed
by epoch, so a resumed run ends with the weights an uninterrupted one would.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import math
import shutil
import signal
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

from modelctl.errors import DataError, SpecError
from modelctl.spec.fitted import check_fitted
from modelctl.spec.typed import Training
from modelctl.training import cluster
from modelctl.training.errors import TrainingError
from modelctl.training.restart import check_workers, mark_resumed, peer_lost
from modelctl.runs import RunError, RunFolder, create_run_dir, make_folder, read_json, spec_text, write_json
from modelctl.runs.folder import LAST_CHECKPOINT, LAST_STATE, PLOTS
from modelctl.runs.record import opening_record
from modelctl.util.files import write_text_atomic


class TrainingInterrupted(TrainingError):
    """Training stopped on Ctrl-C or SIGTERM; the last completed epoch is saved. Exit code 128 + signal."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.exit_code = 128 + signal_number


class TrainingDiverged(TrainingError):
    """The loss became NaN or infinite."""


@dataclasses.dataclass
class TrainResult:
    run_dir: Path | None
    metrics: dict
    history: list[dict]
    plan: dict
    counts: dict
    epochs: int = 0
    best_epoch: int | None = None


def train(document, output: Path, console, *, quiet: bool = False, live: bool = False, resume: Path | None = None,
          dry_run: bool = False, command_line: list[str] | None = None, fold: tuple[int, int] | None = None,
          run_dir: Path | None = None, extra_callbacks: list | None = None,
          plot_history: Callable[[dict, Path], Path] | None = None, cache=None, tracking=None,
          tracking_parent: str | None = None, allow_worker_change: bool = False) -> TrainResult:
    """Train the spec's model and keep everything in a new run folder (or continue `resume`).

    Args:
        document: the loaded, valid spec (for `resume`, the spec the run started with).
        output: the folder runs are created in (`output/<name>/<timestamp>/`).
        console: a rich Console for progress and messages.
        quiet: no progress output; default False.
        live: rich progress bars (a terminal) instead of one plain line per epoch; default False.
        resume: a run folder to continue from its last completed epoch; default None.
        dry_run: check the data, build and compile the model and say what would run, without training.
        command_line: the command as typed, for the run's record; default `sys.argv`.
        fold: (index, k) for one fold of k-fold cross-validation; default None.
        run_dir: the folder to write into instead of a new one under `output` (k-fold runs); default None.
        extra_callbacks: more Keras callbacks for `fit`, called before the run's own; default None.
        plot_history: draws the loss and metric curves, called as `plot_history(history, path)` with a Keras
            history dict and `<run>/plots/learning_curves.png` (such as
            `modelctl.evaluation.plots.learning_curves_plot`); default None: no plots.
        cache: the prepared-data cache (`modelctl.data.cache.DataCache`); default None: the default folder
            (`$MODELCTL_CACHE_DIR`, else `~/.cache/modelctl`).
        tracking: where the run is also logged (`modelctl.tracking.MlflowSettings`); default None: nowhere.
        tracking_parent: the MLflow run this one is a child of (a fold of cross-validation); default None.
        allow_worker_change: with `resume`, continue on another number of replicas or workers than the run
            was started with (recorded in run.json's `resumes`); default False: that is refused, since it
            changes the global batch's split and the learning rate's scaling.

    Raises:
        ModelctlError: bad data, an unusable output folder, a diverging loss, or an interruption.
        PeerLost: another worker of a multi-worker run was lost (exit code 129); run.json says `interrupted`.
    """
    from modelctl.data.pipeline import prepare
    from modelctl.training.hardware import detect_for, plan as choose

    spec = document.data
    typed = document.spec
    if tracking is not None and not dry_run:
        from modelctl.tracking.client import client

        client(tracking.uri)  # a missing extra stops the run before any work
    settings = vars(typed.training)
    # Without a data section `prepare` refuses the run, with the reason.
    batch_size = typed.data.batch_size if typed.data is not None else None
    state = _resume_state(resume) if resume else None
    if resume and typed.training.distillation is not None:
        from modelctl.training.distill import check_resumed

        check_resumed(document, RunFolder(resume).record.values.get("distillation"), run_dir=Path(resume))
    fitted = state["fitted"] if state else None
    hardware = detect_for(settings)
    plan = choose(settings, hardware, batch_size)
    resumed = check_workers(Path(resume), plan, allow=allow_worker_change, epoch=int(state["epoch"])) \
        if resume and not dry_run else None
    started = time.perf_counter()
    prepared = prepare(document, fold=fold, fitted=fitted, cache=cache, shard=cluster.shard(plan, hardware.cluster))
    preparation_seconds = time.perf_counter() - started
    if prepared.counts["train"] == 0:
        raise DataError("the training split is empty; check data.split and the source")
    check_fitted(document, prepared.fitted)  # the class count of each label against its output, before any step
    execution = _execution(document, prepared, plan)
    distillation = None
    if typed.training.distillation is not None and not resume and not dry_run:  # for the new record; hashes
        # the teacher's files, and reads them before any folder is made
        from modelctl.training.distill import record as distillation_record

        distillation = distillation_record(document)
    for reason, count in prepared.skipped.items():
        console.print(f"skipped {count} bad row{'s' if count != 1 else ''}: {reason}", markup=False)
    if not quiet or dry_run:
        console.print(prepared.cache_note, markup=False)
    if prepared.layout is not None:
        console.print(prepared.layout.describe(), markup=False)
    scratch = None if dry_run else cluster.worker_scratch(plan, hardware.cluster)
    if scratch is not None:
        folder = cluster.scratch_run_dir(scratch, resume)
    elif resume:
        folder = Path(resume)
    elif dry_run:
        folder = None
    elif run_dir is not None:
        folder = Path(run_dir)
        make_folder(RunFolder(folder).checkpoints)
    else:
        folder = create_run_dir(output, typed.name)
    if folder is not None and not resume:
        run = RunFolder(folder)
        write_text_atomic(run.spec_file, spec_text(spec))
        run.write_fitted(prepared.fitted)
        run.write_record(_run_record(hardware, plan, command_line=command_line, document=document,
                                     prepared=prepared, fold=fold, execution=execution, status="running",
                                     distillation=distillation))
    if resumed is not None and scratch is None:
        mark_resumed(folder, resumed)
    tracked = None
    shown = folder
    if tracking is not None and folder is not None and scratch is None:
        from modelctl.tracking import track_training

        tracked = track_training(tracking, folder, console, resume=resume is not None,
                                 parent_run_id=tracking_parent)
    try:
        model, output_names, strategy, trained = _build(document, prepared, plan, execution=execution,
                                                        training=typed.training, state=state, folder=folder)
        # The folder the run's messages name: a worker other than the chief has only a temporary copy of its own.
        shown = folder if plan.distribution != "multi_worker" or dry_run else cluster.chief_folder(strategy, folder)
        if dry_run:
            _describe_dry_run(console, plan, execution=execution, prepared=prepared, model=model,
                              preparation_seconds=preparation_seconds)
            return TrainResult(None, {}, [], plan.as_dict(), prepared.counts)
        try:
            result = _fit(document, prepared, plan, execution=execution, model=model, trained=trained,
                          strategy=strategy, output_names=output_names, folder=folder, console=console, quiet=quiet,
                          live=live, state=state, extra_callbacks=extra_callbacks or [], plot_history=plot_history,
                          tracked=tracked, shown=shown)
        except BaseException as stopped:  # the MLflow run ends with the training, whatever stopped it
            if tracked is not None:
                tracked.finish("KILLED" if isinstance(stopped, (TrainingInterrupted, KeyboardInterrupt))
                               else "FAILED")
            raise
        if tracked is not None:
            tracked.finish()
    except Exception as error:
        lost = cluster.lost_peer(error, hardware.cluster) if plan.distribution == "multi_worker" else None
        if lost is None:
            raise
        raise peer_lost(lost, error, folder=folder if scratch is None else None, shown=shown,
                        chief=cluster.chief_name(hardware.cluster)) from None
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return result if scratch is None else dataclasses.replace(result, run_dir=None)


def _resume_state(resume: Path) -> dict:
    run = RunFolder(resume)
    last = run.checkpoints / LAST_STATE
    if not last.is_file():
        raise RunError(f"{run}: no completed epoch to resume from ({last} does not exist)")
    state = read_json(last)
    state["fitted"] = run.fitted
    return state


def _execution(document, prepared, plan):
    """The steps of an epoch and how many run per execution, from `training.steps_per_epoch` (default: the whole
    training split) and `training.steps_per_execution` (default as the schema says, `auto`).

    Raises:
        SpecError: a `steps_per_execution` that does not divide the steps of an epoch, or above 1 under mirrored
            over several replicas, at its place in the spec.
    """
    from modelctl.training.execution import StepsPerExecutionError, resolve

    training = document.spec.training
    if training.steps_per_epoch:
        steps, origin = training.steps_per_epoch, "training.steps_per_epoch"
    else:
        steps = prepared.steps("train")
        origin = f"{prepared.counts['train']} training examples in batches of {plan.batch_size}"
        if prepared.layout is not None:
            origin = f"{origin}, each of {prepared.layout.shard.workers} workers taking its shard " \
                f"({', '.join(map(str, prepared.layout.examples))} examples)"
    try:
        return resolve(training.steps_per_execution, steps, origin=origin,
                       distribution=plan.distribution, replicas=plan.replicas)
    except StepsPerExecutionError as error:
        raise SpecError([document.diagnostic(("training", "steps_per_execution"), str(error))]) from None


def _run_record(hardware, plan, *, command_line, document, prepared, fold, execution, status: str,
                distillation: dict | None = None) -> dict:
    return {
        **opening_record(document, command_line=command_line, status=status),
        "hardware": hardware.as_dict(),
        "strategy": plan.as_dict(),
        "execution": execution.as_dict(),
        "examples": prepared.counts,
        "fold": None if fold is None else {"index": fold[0], "folds": fold[1]},
        "data": {"shard": None if prepared.layout is None else prepared.layout.record(), **prepared.data_record()},
        "distillation": distillation,
    }


def _build(document, prepared, plan, *, execution, training, state, folder):
    """The model, built and compiled under the plan's strategy (and restored from `state` when resuming), its
    output names, the strategy, and the model `fit` trains: the model itself, or the training-only model that
    distills a teacher into it (`training.distillation`, see `distill.py`)."""
    from modelctl.model.build import build_model
    from modelctl.model.inputs import fitted_inputs
    from modelctl.model.preprocessing import assemble
    from modelctl.training.callbacks import restore_generators
    from modelctl.training.compile import compile_arguments
    from modelctl.training.hardware import apply_precision, make_strategy
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    import keras

    if training.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(plan)
    apply_precision(plan)
    seed = document.spec.seed
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        core = build_model(document, fitted_inputs(prepared.fitted))
        output_names = list(core.output_names)
        model = assemble(core, prepared.fitted, seed=seed)
        arguments = compile_arguments(document.spec, output_names, steps_per_epoch=execution.steps_per_epoch,
                                      learning_rate_scale=plan.learning_rate_scale)
        options = {"jit_compile": plan.jit_compile, "steps_per_execution": execution.steps_per_execution}
        model.compile(**arguments, **options)
        if state is not None:
            model.optimizer.build(model.trainable_variables)
            model.load_weights(RunFolder(folder).checkpoints / LAST_CHECKPOINT)
            restore_generators(model, state.get("generators", []))
        trained = model
        if training.distillation is not None:
            from modelctl.training.distill import distiller

            # Loss and metric objects of its own; the optimizer is the student's.
            arguments = compile_arguments(document.spec, output_names, steps_per_epoch=execution.steps_per_epoch,
                                          learning_rate_scale=plan.learning_rate_scale)
            trained = distiller(document, prepared, model, output_names=output_names,
                                arguments={**arguments, **options})
    return model, output_names, strategy, trained


def _callbacks(training: Training, folder: Path, has_validation: bool):
    from modelctl.registry.callbacks import CALLBACKS

    built = []
    for entry in CALLBACKS:
        written = training.callback(entry.name)
        if not written.enabled or entry.name == "checkpoint":
            continue
        arguments = dict(written.args)
        if entry.name == "tensorboard":
            arguments["log_dir"] = str(folder / "tensorboard")
        if entry.name == "csv_logger":
            arguments["filename"] = str(folder / "csv_logger.csv")
        built.append(entry.load()(**arguments))
    return built


def _fit(document, prepared, plan, *, execution, model, strategy, output_names, folder, console, quiet: bool,
         live: bool, state: dict | None, extra_callbacks: list, plot_history, tracked=None,
         trained=None, shown: Path | None = None) -> TrainResult:
    """Fit `trained` (default: `model`), keeping `model` in the run folder: checkpoints, the model, metrics.
    `shown` is the folder messages name (the chief's, on another worker of a multi-worker run); default
    `folder`."""
    from modelctl.training import callbacks as run_callbacks

    trained = model if trained is None else trained
    spec = document.data
    training = document.spec.training
    epochs = training.epochs
    initial_epoch = int(state["epoch"]) if state else 0
    steps = execution.steps_per_epoch
    has_validation = prepared.counts["validation"] > 0
    keras_callbacks = _callbacks(training, folder, has_validation)
    if state:
        run_callbacks.restore_counters(keras_callbacks, state.get("callbacks", {}), RunFolder(folder).checkpoints)
    checkpoint = training.checkpoint.args
    monitor = checkpoint["monitor"]
    if not has_validation and monitor.startswith("val_"):
        monitor = monitor[4:]
    stop_signal = run_callbacks.StopOnSignal()
    nan_guard = run_callbacks.NaNGuard()
    recorder = run_callbacks.RunRecorder(folder, state["history"] if state else [], monitor,
                                         mode=checkpoint["mode"], save_best=checkpoint["save_best"],
                                         stop=[stop_signal, nan_guard], watched=keras_callbacks,
                                         best=state.get("best") if state else None, kept=model)
    first_step = run_callbacks.FirstStep()
    callbacks = [*extra_callbacks, first_step, stop_signal, nan_guard, *keras_callbacks, recorder]
    if tracked is not None:
        from modelctl.training.tracking import TrackEpochs

        callbacks.append(TrackEpochs(tracked, recorder))
    if not quiet:
        callbacks.append(run_callbacks.Progress(console, epochs, steps, live=live, stop=[stop_signal, nan_guard]))
    train_data = prepared.dataset("train", output_names, training=True, initial_epoch=initial_epoch,
                                  epochs=epochs)
    # Larger batches for passes without training, on one replica only: a strategy splits the last, partial batch
    # of a pass unevenly over its replicas, which Keras 3.15 cannot sum.
    larger = plan.replicas == 1 and plan.distribution != "multi_worker"
    validation = prepared.dataset("validation", output_names, batch_size=prepared.evaluation_batch_size("validation")
                                  if larger else None) if has_validation else None
    started = time.perf_counter()
    stop_signal.install()
    try:
        if initial_epoch < epochs:
            with quiet_data_warnings():
                if plan.distribution == "multi_worker":
                    # Keras 3 `fit` fails under MultiWorkerMirroredStrategy in TensorFlow 2.21.
                    from modelctl.training.loop import fit_distributed

                    fit_distributed(trained, strategy, train_data, epochs=epochs, initial_epoch=initial_epoch,
                                    steps_per_epoch=steps, validation_dataset=validation,
                                    callbacks=callbacks, steps_per_execution=execution.steps_per_execution,
                                    sharded=prepared.layout is not None)
                else:
                    trained.fit(train_data, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                              validation_data=validation, callbacks=callbacks, verbose=0, shuffle=False)
    finally:
        stop_signal.uninstall()
    seconds = time.perf_counter() - started
    run = RunFolder(folder)
    record = run.record.to_json()
    if stop_signal.received is not None:
        name = signal.Signals(stop_signal.received).name
        completed = recorder.rows[-1]["epoch"] if recorder.rows else 0
        record.update(status="interrupted", epochs_completed=completed)
        run.write_record(record)
        if not completed:
            raise TrainingInterrupted(f"training stopped by {name} during epoch 1, before any epoch was completed; "
                                      "nothing is saved to resume from", stop_signal.received)
        shown = folder if shown is None else shown
        when = f"after epoch {completed}, which is" if not stop_signal.cut else \
            f"during epoch {completed + 1}; epoch {completed} is"
        raise TrainingInterrupted(f"training stopped by {name} {when} saved in {RunFolder(shown).checkpoints}. "
                                  f"Continue with: modelctl train --resume {shown}", stop_signal.received)
    if nan_guard.found:
        epoch, first, last, loss = nan_guard.found
        record.update(status="diverged")
        run.write_record(record)
        where = f"step {first}" if first == last else \
            f"one of steps {first} to {last} (the loss is seen once per execution of {last - first + 1} steps, " \
            f"training.steps_per_execution)"
        raise TrainingDiverged(f"the loss became {loss} at epoch {epoch}, {where}; lower "
                               f"training.optimizer.learning_rate, add clipnorm, or check the data for extreme "
                               f"values. Epochs before it are saved in {run.checkpoints}")
    # The curves are drawn while the splits are evaluated: the plot is Python, the evaluation mostly TensorFlow's
    # threads.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as drawing:
        drawn = drawing.submit(_plot_history, recorder.rows, folder / PLOTS, plot_history)
        _save_final(model, run.model_file, recorder=recorder, callbacks=keras_callbacks,
                    collective=plan.distribution == "multi_worker")
        metrics = evaluate_splits(model, prepared, output_names, larger_batches=larger,
                                  multi_worker=strategy if plan.distribution == "multi_worker" else None)
        plots = drawn.result()
    write_json(run.metrics_file, metrics)
    if training.tensorboard.enabled:
        from modelctl.training.hparams import write_hparams

        write_hparams(folder, spec, metrics, step=recorder.rows[-1]["epoch"] if recorder.rows else 0, console=console)
    record.update(status="completed", epochs_completed=recorder.rows[-1]["epoch"] if recorder.rows else 0,
                  best_epoch=recorder.best_epoch, seconds=round(seconds, 3), first_step_at=first_step.at,
                  examples_per_second=round(prepared.counts["train"] * max(len(recorder.rows) - initial_epoch, 0)
                                            / seconds, 1) if seconds > 0 else None,
                  plots=[str(path.relative_to(folder)) for path in plots])
    run.write_record(record)
    return TrainResult(folder, metrics, recorder.rows, plan.as_dict(), prepared.counts,
                       epochs=len(recorder.rows), best_epoch=recorder.best_epoch)


def _save_final(model, path: Path, *, recorder, callbacks: list, collective: bool) -> None:
    """Write the trained model to `path`: a copy of the last epoch's checkpoint when the model has not changed
    since it was saved, else a new save.

    The weights change after the last epoch when a callback restores the best epoch's
    (`early_stopping.restore_best_weights`). A multi-worker model is always saved, since every worker joins
    the collective reads of a save.
    """
    from modelctl.training.callbacks import save_model_atomic
    from modelctl.util.files import copy_atomic

    restored = any(getattr(callback, "restore_best_weights", False) for callback in callbacks)
    if recorder.saved is not None and not restored and not collective:
        copy_atomic(recorder.saved, path)
    else:
        save_model_atomic(model, path)


@contextlib.contextmanager
def quiet_data_warnings():
    """Keras warns that a dataset of unknown length "ran out of data" when it ends, which is how every pass
    over a split ends here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        yield


def evaluate_splits(model, prepared, output_names, *, larger_batches: bool = False, multi_worker=None) -> dict:
    """Loss and compiled metrics of the model on every non-empty split.

    `larger_batches` evaluates a split held in memory in batches of `prepared.evaluation_batch_size(split)`
    (default False: `data.batch_size`). `multi_worker` is the MultiWorkerMirroredStrategy the model was built
    under, whose splits are evaluated by `loop.evaluate_distributed` (Keras 3 `evaluate` fails under it, as
    `fit` does); default None uses `model.evaluate`.
    """
    from modelctl.training.loop import evaluate_distributed

    results = {}
    for split in ("train", "validation", "test"):
        if prepared.counts[split]:
            dataset = prepared.dataset(split, output_names, batch_size=prepared.evaluation_batch_size(split)
                                       if larger_batches else None)
            with quiet_data_warnings():
                values = model.evaluate(dataset, verbose=0, return_dict=True) if multi_worker is None \
                    else evaluate_distributed(model, multi_worker, dataset)
            results[split] = {name: float(value) for name, value in values.items()}
    return results


def _plot_history(rows: list[dict], folder: Path, plot_history) -> list[Path]:
    if not rows or plot_history is None:
        return []
    folder.mkdir(exist_ok=True)
    history = {key: [row.get(key, math.nan) for row in rows] for key in rows[0] if key != "epoch"}
    return [plot_history(history, folder / "learning_curves.png")]


def _describe_dry_run(console, plan, *, execution, prepared, model, preparation_seconds: float) -> None:
    console.print(f"strategy: {plan.distribution} on {', '.join(plan.devices)}; precision {plan.mixed_precision}; "
                  f"XLA {'on' if plan.jit_compile else 'off'}", markup=False)
    for reason in plan.reasons:
        console.print(f"- {reason}", markup=False)
    console.print(f"steps: {execution.steps_per_epoch} per epoch, steps_per_execution {execution.steps_per_execution}",
                  markup=False)
    console.print(f"- {execution.reason}", markup=False)
    console.print("examples: " + ", ".join(f"{split} {count}" for split, count in prepared.counts.items())
                  + f"; data prepared in {preparation_seconds:.2f} s", markup=False)
    console.print(f"model: {model.count_params():,} parameters; nothing was trained (--dry-run)", markup=False)

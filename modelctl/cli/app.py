"""The `modelctl` command line.

Commands are thin: they parse options, call one importable function and
render its result. Only `ModelctlError` is caught (and printed without a
traceback); anything else is a bug and keeps its traceback. Commands that do
not need TensorFlow (validate, schema, init, help) never import it, nor NumPy: they run in the lint
install (`pip install modelctl` without the `train` extra); the others say which extra to install when
TensorFlow is missing.
"""

from __future__ import annotations

import enum
import functools
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from modelctl import __version__
from modelctl.cli.complete import run_folders, spec_files, templates
from modelctl.errors import ModelctlError

# TensorFlow's C++ start-up chatter (CUDA probes, CPU feature notes) is noise for a command-line user.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

app = typer.Typer(
    name="modelctl",
    help="Declarative YAML specs for TensorFlow models: validate, train, evaluate and export.",
    epilog="modelctl --install-completion sets up Tab completion of commands, options, spec files, run "
           "folders and template names in bash, zsh, fish and PowerShell.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

NO_CACHE_HELP = "Read and fit the data from its source, neither reading nor writing the prepared-data cache."
CACHE_DIR_HELP = ("Folder of the prepared-data cache. Default: $MODELCTL_CACHE_DIR, else $XDG_CACHE_HOME/modelctl, "
                  "else ~/.cache/modelctl.")


def _no_cache_option():
    return typer.Option(False, "--no-cache", help=NO_CACHE_HELP)


def _cache_dir_option():
    return typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP)


def _data_cache(no_cache: bool, cache_dir: Optional[Path]):
    """The `DataCache` that `--no-cache` and `--cache-dir` ask for."""
    from modelctl.data.cache import DataCache

    return DataCache(folder=cache_dir, enabled=not no_cache)


def _ray_address_option():
    return typer.Option(None, "--ray-address", metavar="ADDRESS", help="With --ray: the cluster, as Ray takes it: "
                        "auto, HOST:6379 or ray://HOST:10001 (implies --ray). Default: $RAY_ADDRESS, else a local "
                        "Ray for the command.")


def _cpus_per_worker_option(default: Optional[float] = 1):
    return typer.Option(default, "--cpus-per-worker", help="With --ray: CPUs Ray reserves for each worker. "
                                                           "Default: 1.")


def _gpus_per_worker_option(default: Optional[float] = 0):
    return typer.Option(default, "--gpus-per-worker", help="With --ray: GPUs Ray gives each worker. Default: 0.")


TRACK_STRICT_HELP = ("Make a tracking server that cannot be reached (or a write it refuses) an error instead of a "
                     "warning (on train it implies --track mlflow). Default: the spec's tracking.mlflow.strict.")
REGISTER_HELP = ("Register the exported model in MLflow's model registry as a new version of NAME, tagged with "
                 "the spec hash and each artifact's verification (the run must be tracked in MLflow).")


class Tracker(str, enum.Enum):
    mlflow = "mlflow"


SET_HELP = "Override a spec value: dotted.path=value (YAML scalar), such as training.epochs=5. Repeatable."


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"


class TableFormat(str, enum.Enum):
    text = "text"
    json = "json"


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def handles_errors(command):
    """Print a `ModelctlError` as `error: ...` and exit with its code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ModelctlError as error:
            _console(stderr=True).print(f"error: {error}", markup=False)
            raise typer.Exit(error.exit_code) from None

    return wrapper


def needs_train_extra(name: str):
    """Refuse command `name` with the extra to install when TensorFlow or NumPy is missing (the lint install
    brings only what validate, schema and init need)."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            from modelctl.util.lazy import require

            require("tensorflow", "numpy", what=f"modelctl {name}")
            return command(*args, **kwargs)

        return wrapper

    return decorate


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modelctl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                        help="Print the version and exit.")) -> None:
    """Declarative YAML specs for TensorFlow models."""


@app.command()
@handles_errors
def validate(
    paths: List[str] = typer.Argument(..., help="Spec files, folders (searched for *.yaml, *.yml) or globs.",
                                      autocompletion=spec_files),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f",
                                               help="text for people, json for tools, github for workflow "
                                                    "annotations."),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
    deep: bool = typer.Option(False, "--deep", help="Also build each model to check layer shapes "
                                                    "(imports TensorFlow)."),
    overrides: List[str] = typer.Option([], "--set", help=SET_HELP),
    print_resolved: bool = typer.Option(False, "--print-resolved", help="Also print each spec merged from the "
                                                                        "bases it extends, after --set."),
) -> None:
    """Check specs against the schema and the rules it cannot express. Exit 0 valid, 1 invalid, 2 usage error."""
    from modelctl.cli.validate import run_validate

    code = run_validate(paths, output_format.value, strict, deep=deep, overrides=overrides, console=_console(),
                        print_resolved=print_resolved, status_console=_console(stderr=True))
    raise typer.Exit(code)


class SchemaFormat(str, enum.Enum):
    json = "json"
    markdown = "markdown"


@app.command()
@handles_errors
def schema(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of printing."),
    output_format: SchemaFormat = typer.Option(SchemaFormat.json, "--format", "-f",
                                               help="json: the JSON Schema; markdown: the spec reference."),
) -> None:
    """Print (or write) the JSON Schema of specs, for editors and other validators, or the reference."""
    from modelctl.util.files import write_text_atomic

    if output_format is SchemaFormat.markdown:
        from modelctl.spec.reference import render_reference

        text = render_reference()
    else:
        from modelctl.spec.schema import schema_text

        text = schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(output, text)
        _console(stderr=True).print(f"wrote {output}", markup=False)


@app.command()
@handles_errors
@needs_train_extra("summary")
def summary(
    spec: Path = typer.Argument(..., help="The spec file.", autocompletion=spec_files),
    output_format: TableFormat = typer.Option(TableFormat.text, "--format", "-f", help="text or json."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also draw the graph to this PNG file (needs pydot "
                                                             "and graphviz)."),
    overrides: List[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Build the spec's model and show its layers, output shapes, parameters, FLOPs and weight memory."""
    from modelctl.cli.summary import run_summary

    run_summary(str(spec), output_format.value, plot, overrides=overrides, console=_console())


@app.command()
@handles_errors
@needs_train_extra("train")
def train(
    spec: Optional[str] = typer.Argument(None, help="The spec file (left out with --resume).",
                                         autocompletion=spec_files),
    overrides: List[str] = typer.Option([], "--set", help=SET_HELP),
    output: str = typer.Option("runs", "--output", "-o", help="Folder runs are created in: "
                                                             "OUTPUT/<name>/<timestamp>/; s3://... or gs://... "
                                                             "keeps them on object storage."),
    run_dir: Optional[str] = typer.Option(None, "--run-dir", help="Write the run into exactly this folder "
                                                                   "(created when missing; it must hold no run) "
                                                                   "instead of OUTPUT/<name>/<timestamp>/, for "
                                                                   "pipelines such as DVC that need fixed paths."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue this run folder from its last "
                                                                 "completed epoch.", autocompletion=run_folders),
    resume_if_exists: bool = typer.Option(False, "--resume-if-exists", help="With --run-dir DIR: continue DIR "
                                          "from its last completed epoch when it holds one, else start the run "
                                          "there, so that a scheduler re-running the command resumes it "
                                          "(docs/distributed.md)."),
    allow_worker_change: bool = typer.Option(False, "--allow-worker-change", help="Resume on another number of "
                                             "workers or replicas than the run was started on (the run "
                                             "records it); refused without it."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read the data, build and compile the model, say what "
                                                          "would run; train nothing."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    folds: Optional[int] = typer.Option(None, "--folds", help="K-fold cross-validation: train K models and "
                                                              "report each metric's mean and standard deviation."),
    export_after: bool = typer.Option(False, "--export", help="Run the spec's export section after training."),
    track: Optional[Tracker] = typer.Option(None, "--track", help="Also log the run to MLflow (needs the mlflow "
                                                                  "extra): parameters, tags, metrics and files. "
                                                                  "Default: the spec's tracking section."),
    track_strict: bool = typer.Option(False, "--track-strict", help=TRACK_STRICT_HELP),
    register: Optional[str] = typer.Option(None, "--register", metavar="NAME", help=f"With --export: {REGISTER_HELP}"),
    ray: bool = typer.Option(False, "--ray", help="Train on a Ray cluster through Ray Train (the ray extra): "
                                                  "--workers processes, restarted from the last completed epoch "
                                                  "when one dies. Without --ray-address: $RAY_ADDRESS, else a "
                                                  "local Ray for the command."),
    ray_address: Optional[str] = _ray_address_option(),
    workers: Optional[int] = typer.Option(None, "--workers", help="With --ray: training processes. Default: 2."),
    cpus_per_worker: Optional[float] = _cpus_per_worker_option(None),
    gpus_per_worker: Optional[float] = _gpus_per_worker_option(None),
    max_failures: Optional[int] = typer.Option(None, "--max-failures", help="With --ray: restarts after a worker "
                                                                            "dies (-1: no end). Default: 3."),
    no_cache: bool = _no_cache_option(),
    cache_dir: Optional[Path] = _cache_dir_option(),
) -> None:
    """Train the spec's model on the detected hardware into runs/<name>/<timestamp>/."""
    from modelctl.cli.train import run_train

    if register is not None and not export_after:
        from modelctl.errors import UsageError

        raise UsageError("--register registers the exported model: add --export (or run `modelctl export RUN "
                         "--register NAME` later)")
    console = _console()
    cache = _data_cache(no_cache, cache_dir)
    result = run_train(spec, overrides, _place(output), resume=resume, dry_run=dry_run, quiet=quiet, folds=folds,
                       console=console, cache=cache,
                       track=None if track is None else track.value, track_strict=track_strict,
                       run_dir=None if run_dir is None else _place(run_dir), resume_if_exists=resume_if_exists,
                       allow_worker_change=allow_worker_change,
                       ray=_ray_shape(ray or ray_address is not None, ray_address, workers=workers,
                                      cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker,
                                      max_failures=max_failures))
    if export_after and result.get("run_dir") and not folds and not dry_run:
        from modelctl.cli.export import run_export

        run_export(result["run_dir"], [], None, console=console, cache=cache, register=register,
                   track_strict=track_strict)


def _place(folder: str):
    """A folder given on the command line: a Path, or the URL of a folder on object storage as written (a Path
    would fold its `//`)."""
    from modelctl.util.storage import is_remote

    return folder if is_remote(folder) else Path(folder)


def _ray_shape(ray: bool, address: Optional[str], **shape):
    """`(address, Shape)` for `run_train` when --ray is given; None otherwise.

    Raises:
        UsageError: an option of the Ray shape without --ray.
    """
    given = {name: value for name, value in shape.items() if value is not None}
    if not ray:
        if given:
            from modelctl.errors import UsageError

            options = ", ".join(f"--{name.replace('_', '-')}" for name in given)
            raise UsageError(f"{options} shape{'s' if len(given) == 1 else ''} a run on Ray: add --ray (or "
                             "--ray-address ADDRESS). Without it, training uses this machine's devices, or the "
                             "cluster TF_CONFIG describes")
        return None
    from modelctl.launch.ray_train import Shape

    return address, Shape(**given)


@app.command()
@handles_errors
@needs_train_extra("search")
def search(
    spec: str = typer.Argument(..., help="The spec file, with a `search` section.", autocompletion=spec_files),
    trials: Optional[int] = typer.Option(None, "--trials", help="Trials to complete. Default: search.trials."),
    workers: int = typer.Option(1, "--workers", help="Workers sharing the study: processes on this machine, or "
                                                     "Ray tasks with --ray."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Database the study lives in, shared by workers "
                                                                  "on several machines: postgresql://USER:PASSWORD@"
                                                                  "HOST/DB, mysql+pymysql://... or sqlite:///FILE "
                                                                  "(one worker). Default: a journal file in the "
                                                                  "study's folder."),
    study: Optional[str] = typer.Option(None, "--study", help="Name of the study. Default: the spec's name."),
    resume: bool = typer.Option(False, "--resume", help="Continue the study in its folder."),
    overrides: List[str] = typer.Option([], "--set", help=SET_HELP),
    output: Path = typer.Option(Path("runs"), "--output", "-o", help="Folder runs are created in: trials go in "
                                                                      "OUTPUT/<name>/search/<study>/trial-NNNN/."),
    folds: Optional[int] = typer.Option(None, "--folds", help="Make each trial's metric the mean over K folds of "
                                                              "k-fold cross-validation (K runs per trial)."),
    track: Optional[Tracker] = typer.Option(None, "--track", help="Also log the search to MLflow: one run for the "
                                                                  "study, a child run for each trial. Default: the "
                                                                  "spec's tracking section."),
    ray: bool = typer.Option(False, "--ray", help="Run the --workers as Ray tasks (the ray extra) on one study: "
                                                  "its journal in a folder every node shares, or --storage. "
                                                  "Without --ray-address: $RAY_ADDRESS, else a local Ray."),
    ray_address: Optional[str] = _ray_address_option(),
    cpus_per_worker: float = _cpus_per_worker_option(),
    gpus_per_worker: float = _gpus_per_worker_option(),
    no_cache: bool = _no_cache_option(),
    cache_dir: Optional[Path] = _cache_dir_option(),
) -> None:
    """Search the spec's `search.parameters` with Optuna: one run per trial, then the trials best first, best.yaml,
    search.json and plots."""
    from modelctl.cli.search import run_search_command

    run_search_command(spec, overrides, output=output, trials=trials, workers=workers, storage=storage, study=study,
                       resume=resume, folds=folds, console=_console(), cache_dir=cache_dir, use_cache=not no_cache,
                       track=None if track is None else track.value,
                       ray=(ray_address, cpus_per_worker, gpus_per_worker) if ray or ray_address else None)


@app.command()
@handles_errors
@needs_train_extra("data")
def data(
    spec: str = typer.Argument(..., help="The spec file.", autocompletion=spec_files),
    output_format: TableFormat = typer.Option(TableFormat.text, "--format", "-f", help="text or json."),
    overrides: List[str] = typer.Option([], "--set", help=SET_HELP),
    no_cache: bool = _no_cache_option(),
    cache_dir: Optional[Path] = _cache_dir_option(),
) -> None:
    """Show the spec's data: rows per split, features and their statistics, class balance, a few examples."""
    from modelctl.cli.data import run_data

    run_data(spec, overrides, output_format.value, console=_console(), cache=_data_cache(no_cache, cache_dir))


def _export_formats() -> list[str]:
    """The names `--format` takes: every registered format (plug-ins included), and `all`."""
    from modelctl.registry.exporters import exporters

    return [*exporters().names(), "all"]


def _quantizations() -> list[str]:
    """The values `--quantize` takes: those of every format's `quantize` option."""
    from modelctl.registry.exporters import exporters

    values = [value for entry in exporters() if "quantize" in entry.args for value in entry.args["quantize"]["enum"]]
    return list(dict.fromkeys(values))


def _choice(what: str, known):
    """A parser that accepts one of `known()` (looked up when a value is given, so help and start-up stay cheap)
    and refuses anything else with the known values and the closest one."""

    def parse(value: str) -> str:
        try:
            allowed = known()
        except ModelctlError as error:  # a broken plug-in: say which, as a usage error
            raise typer.BadParameter(str(error)) from None
        if value not in allowed:
            from modelctl.errors import did_you_mean, one_of

            raise typer.BadParameter(f"{value!r} is not a known {what}. Expected one of {one_of(allowed)}."
                                     f"{did_you_mean(value, allowed)}")
        return value

    return parse


def _completions(known):
    return lambda incomplete: [name for name in known() if name.startswith(incomplete)]


def _builtin_formats() -> str:
    """`onnx, saved_model, tflite`, for the help text (built from the registry; plug-ins are not looked up)."""
    from modelctl.registry.exporters import EXPORTERS

    return ", ".join(EXPORTERS.names())


def _builtin_quantizations() -> str:
    """`tflite: none, dynamic, float16, int8`, for the help text."""
    from modelctl.registry.exporters import EXPORTERS

    return "; ".join(f"{entry.name}: {', '.join(entry.args['quantize']['enum'])}" for entry in EXPORTERS
                     if "quantize" in entry.args)


@app.command()
@handles_errors
@needs_train_extra("export")
def export(
    target: str = typer.Argument(..., help="A run folder (runs/<name>/<timestamp>), or a .keras file inside one.",
                                 autocompletion=run_folders),
    formats: List[str] = typer.Option([], "--format", "-f", metavar="FORMAT",
                                      parser=_choice("export format", _export_formats),
                                      autocompletion=_completions(_export_formats),
                                      help=f"{_builtin_formats()}, a plug-in's format, or all; repeatable. "
                                           "Default: the spec's export.formats."),
    quantize: Optional[str] = typer.Option(None, "--quantize", metavar="QUANTIZATION",
                                           parser=_choice("quantization", _quantizations),
                                           autocompletion=_completions(_quantizations),
                                           help=f"Quantization of every format that has a quantize option "
                                                f"({_builtin_quantizations()}). Default: the spec's "
                                                "export.<format>.quantize."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder of the artifacts (default "
                                                                       "<run>/export)."),
    force: bool = typer.Option(False, "--force", help="Write again artifacts that exist (without it, those in "
                                                      "place are kept and the others written)."),
    benchmark: bool = typer.Option(False, "--benchmark", help="Export every format and quantization and write "
                                                              "the size/latency/accuracy table to the run folder."),
    model_repository: Optional[Path] = typer.Option(None, "--model-repository", metavar="DIR",
                                                    help="Also put every artifact in DIR/<name>/<version>/, the "
                                                         "layout TensorFlow Serving and Triton serve (model.onnx, "
                                                         "model.tflite, the SavedModel's files). Default: only a "
                                                         "SavedModel, in <output>/serving."),
    register: Optional[str] = typer.Option(None, "--register", metavar="NAME", help=REGISTER_HELP),
    track_strict: bool = typer.Option(False, "--track-strict", help=TRACK_STRICT_HELP),
    no_cache: bool = _no_cache_option(),
    cache_dir: Optional[Path] = _cache_dir_option(),
) -> None:
    """Export a trained model, verify each artifact against it in its own runtime, and show the table. A run
    tracked in MLflow gets the exported files in its MLflow run."""
    from modelctl.cli.export import run_export

    run_export(target, formats, quantize, output=output, force=force, benchmark=benchmark, console=_console(),
               cache=_data_cache(no_cache, cache_dir), register=register, track_strict=track_strict,
               model_repository=model_repository)


class Split(str, enum.Enum):
    train = "train"
    validation = "validation"
    test = "test"


@app.command("eval")
@handles_errors
@needs_train_extra("eval")
def evaluate(
    target: str = typer.Argument(..., help="A run folder (runs/<name>/<timestamp>), or a .keras file inside one.",
                                 autocompletion=run_folders),
    split: Split = typer.Option(Split.test, "--split", help="The run's split to evaluate on."),
    data: Optional[Path] = typer.Option(None, "--data", help="Evaluate on every example of this CSV, TSV, Parquet "
                                                             "or NPZ file instead of a split."),
    output_format: TableFormat = typer.Option(TableFormat.text, "--format", "-f", help="text or json."),
    fail_under: List[str] = typer.Option([], "--fail-under", help="metric=value: exit 1 when the metric misses it "
                                                                   "(an upper bound for losses and errors). "
                                                                   "Repeatable."),
    no_cache: bool = _no_cache_option(),
    cache_dir: Optional[Path] = _cache_dir_option(),
) -> None:
    """Evaluate a trained model: metrics, plots and report.md in <run>/eval/<split>/; gates for CI. A run tracked
    in MLflow gets the report and metrics in its MLflow run."""
    from modelctl.cli.evaluate import run_eval

    run_eval(target, split.value, data, output_format=output_format.value, gates=fail_under, console=_console(),
             cache=_data_cache(no_cache, cache_dir))


class EnsembleMethod(str, enum.Enum):
    mean = "mean"
    weighted = "weighted"
    vote = "vote"


class ExplainMethod(str, enum.Enum):
    integrated_gradients = "integrated_gradients"
    shap = "shap"
    permutation = "permutation"


@app.command()
@handles_errors
@needs_train_extra("ensemble")
def ensemble(
    runs: List[str] = typer.Argument(..., help="Two or more run folders (a spec's runs folder gives its newest run), "
                                               "trained on the same data section and seed.",
                                     autocompletion=run_folders),
    method: EnsembleMethod = typer.Option(EnsembleMethod.mean, "--method", "-m",
                                          help="mean: the mean of the members' outputs; weighted: their weighted "
                                               "mean (--weights); vote: the share of members voting for each "
                                               "class (classification only)."),
    weights: Optional[str] = typer.Option(None, "--weights", "-w", help="With --method weighted: one weight per run "
                                                                        "in the order given, such as 0.5,0.3,0.2; "
                                                                        "each >= 0, normalized to sum to 1."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="The ensemble's run folder, such as "
                                                                       "runs/iris-ensemble (created when missing; it "
                                                                       "must hold no run). Default: "
                                                                       "runs/<name>/<timestamp>/."),
    name: Optional[str] = typer.Option(None, "--name", help="The ensemble's spec name. Default: the --output "
                                                            "folder's name, else <member 1's name>-ensemble."),
    no_cache: bool = _no_cache_option(),
    cache_dir: Optional[Path] = _cache_dir_option(),
) -> None:
    """Combine trained runs into one model (mean, weighted mean or vote) in a run folder that eval, export, predict
    and serve take like any run; show the metrics of the ensemble and of each member."""
    from modelctl.cli.ensemble import run_ensemble

    run_ensemble(runs, method=method.value, weights=weights, output=output, name=name, console=_console(),
                 cache=_data_cache(no_cache, cache_dir))


@app.command()
@handles_errors
@needs_train_extra("explain")
def explain(
    target: str = typer.Argument(..., help="A run folder (runs/<name>/<timestamp>), or a .keras file inside one.",
                                 autocompletion=run_folders),
    split: Split = typer.Option(Split.test, "--split", help="The run's split to explain on."),
    examples: int = typer.Option(5, "--examples", "-n", help="Examples (the split's first) given per-example "
                                                             "attributions; 0 for none."),
    method: ExplainMethod = typer.Option(ExplainMethod.integrated_gradients, "--method",
                                         help="Per-example attributions: integrated_gradients, shap (tables of "
                                              "numeric and categorical features; the `explain` extra) or permutation (the global "
                                              "importance alone)."),
    repeats: int = typer.Option(5, "--repeats", help="Shuffles per feature for the permutation importance."),
    steps: int = typer.Option(50, "--steps", help="Points of the integrated gradients' path integral."),
    output_format: TableFormat = typer.Option(TableFormat.text, "--format", "-f", help="text or json."),
    no_cache: bool = _no_cache_option(),
    cache_dir: Optional[Path] = _cache_dir_option(),
) -> None:
    """Explain a trained model: permutation importance of each feature and per-example attributions (columns,
    tokens, pixels), with figures and report.md in <run>/explain/<split>/."""
    from modelctl.cli.explain import run_explain

    run_explain(target, split.value, examples=examples, method=method.value, repeats=repeats, steps=steps,
                output_format=output_format.value, console=_console(), cache=_data_cache(no_cache, cache_dir))


@app.command()
@handles_errors
@needs_train_extra("track")
def track(
    run: Path = typer.Argument(..., help="A run folder (runs/<name>/<timestamp>)."),
    uri: Optional[str] = typer.Option(None, "--uri", help="Tracking URI. Default: the one the run was tracked "
                                                          "with, else the spec's tracking.mlflow.uri, else "
                                                          "$MLFLOW_TRACKING_URI, else sqlite:///mlflow.db."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="MLflow experiment. Default: the one the "
                                                                        "run was tracked with, else the spec's, "
                                                                        "else its name."),
) -> None:
    """Upload a run folder to MLflow: one trained while the server was down, untracked, or trained elsewhere."""
    from modelctl.runs import find_run
    from modelctl.tracking import upload_run

    upload_run(find_run(run, completed_only=False).path, _console(), uri=uri, experiment=experiment)


@app.command()
@handles_errors
def predict(
    target: str = typer.Argument(..., help="A run folder, a .keras file inside one, an artifact written by "
                                           "`modelctl export`, or a model's folder in a model repository (its "
                                           "newest version).", autocompletion=run_folders),
    inputs: List[str] = typer.Argument(..., help="CSV, TSV, Parquet or NPZ files of raw feature columns (named by "
                                                 "column or by feature), image or .txt files, folders of them, and "
                                                 "- for a table on standard input, in any mix; predictions come in "
                                                 "the order given, each naming its file."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the predictions to this CSV file "
                                                                       "instead of printing them."),
    ids: Optional[str] = typer.Option(None, "--id", help="A column of the tables passed through to each "
                                                         "prediction, such as an order id."),
    on_bad_input: str = typer.Option("error", "--on-bad-input", help="error: stop at an example that cannot be "
                                                                     "read (a corrupt image, an empty text, a word "
                                                                     "among numbers); skip: leave it out and say "
                                                                     "how many were."),
    delimiter: Optional[str] = typer.Option(None, "--delimiter", help="Field separator of CSV and TSV inputs. "
                                                                      "Default: , for CSV, a tab for TSV."),
    stdin_format: str = typer.Option("csv", "--stdin-format", help="Table format of - (standard input)."),
) -> None:
    """Predict class names and probabilities (or values) for raw inputs."""
    from modelctl.cli.predict import run_predict

    run_predict(target, inputs, output, ids=ids, on_bad_input=on_bad_input, delimiter=delimiter,
                stdin_format=stdin_format, console=_console(), notes=_console(stderr=True))


@app.command()
@handles_errors
def serve(
    target: str = typer.Argument(..., help="A run folder (a spec's runs folder serves its newest run), a .keras file "
                                           "in one, an artifact written by `modelctl export`, or a model's folder in "
                                           "a model repository (its newest version)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens it to the network "
                                                         "(set a token then)."),
    port: int = typer.Option(8501, "--port", "-p", help="Port (0 picks a free one)."),
    backend: str = typer.Option("auto", "--backend", "-b", help="auto (the run's ONNX, TFLite or SavedModel export, "
                                                                "else its Keras model), onnx, tflite, saved_model or "
                                                                "keras. onnx and tflite need no TensorFlow."),
    name: Optional[str] = typer.Option(None, "--name", help="The model's name in the URLs: letters, digits, _, - "
                                                            "and . only. Default: the spec's name."),
    max_batch: int = typer.Option(64, "--max-batch", help="Most examples in one model call, gathered from "
                                                          "concurrent requests; larger requests run in batches of "
                                                          "this size (1: each example alone)."),
    batch_timeout_ms: float = typer.Option(2.0, "--batch-timeout-ms", help="Longest wait for requests on their way "
                                                                           "to fill a batch, in milliseconds; with "
                                                                           "none on the way a batch runs at once."),
    workers: int = typer.Option(1, "--workers", help="Server processes sharing the port (and one set of metrics)."),
    token: Optional[str] = typer.Option(None, "--token", help="Require `Authorization: Bearer TOKEN` on every route "
                                                              "but /healthz. Default: $MODELCTL_SERVE_TOKEN, else "
                                                              "none."),
    max_body_mb: float = typer.Option(16.0, "--max-body-mb", help="Largest request body in MiB; larger ones get 413."),
    max_rows: int = typer.Option(10_000, "--max-rows", help="Most examples in one request; more get 413."),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", help="Most pixels in one image, checked before "
                                                                        "decoding; larger ones get 413. Default: 16 "
                                                                        "times the model's input size, at least "
                                                                        "1,048,576."),
    max_queue: int = typer.Option(256, "--max-queue", help="Most model requests in the server at once; one more "
                                                           "gets 503 with Retry-After."),
    timeout_ms: float = typer.Option(10_000.0, "--timeout-ms", help="A model request's deadline in milliseconds; "
                                                                    "one not run by then gets 503 with "
                                                                    "Retry-After."),
    decode_processes: int = typer.Option(1, "--decode-processes", help="Processes that decode and check large "
                                                                       "request bodies off the event loop (0: "
                                                                       "threads)."),
    threads: int = typer.Option(2, "--threads", help="Threads that build large answers."),
    response: str = typer.Option("modelctl", "--response", help="Shape of :predict answers: modelctl (class names "
                                                                "and probabilities per example) or tf-serving (the "
                                                                "output tensors, as TensorFlow Serving answers)."),
    version_labels: List[str] = typer.Option([], "--version-labels", help="LABEL=VERSION pairs (comma-separated "
                                                                          "or repeated) routed at "
                                                                          "/v1/models/NAME/labels/LABEL."),
    allowed_hosts: List[str] = typer.Option([], "--allowed-hosts", help="Host header values taken (comma-separated "
                                                                        "or repeated; * for any). Default: "
                                                                        "localhost and 127.0.0.1 on a loopback "
                                                                        "address, else any."),
    cors_origins: List[str] = typer.Option([], "--cors-origins", help="Origins whose pages may call the server "
                                                                      "(comma-separated or repeated; * for any)."),
    max_connections: int = typer.Option(1000, "--max-connections", help="Most connections at once; beyond, "
                                                                        "requests get 503."),
    header_timeout: float = typer.Option(10.0, "--header-timeout", help="Seconds a connection may take to send a "
                                                                        "request's headers before it is closed."),
    grace_seconds: float = typer.Option(30.0, "--grace-seconds", help="After SIGTERM, the longest wait for the "
                                                                      "requests in flight."),
) -> None:
    """Serve a model over TensorFlow Serving's REST API (raw rows in, class names and probabilities out), with a
    page to try it at /."""
    from modelctl.cli.serve import run_serve

    run_serve(target, backend=backend, name=name, host=host, port=port, max_batch=max_batch,
              batch_timeout_ms=batch_timeout_ms, workers=workers, token=token, max_body_mb=max_body_mb,
              max_rows=max_rows, max_pixels=max_pixels, max_queue=max_queue, timeout_ms=timeout_ms,
              decode_processes=decode_processes, threads=threads, response=response,
              version_labels=version_labels, allowed_hosts=allowed_hosts, cors_origins=cors_origins,
              max_connections=max_connections, header_timeout=header_timeout, grace_seconds=grace_seconds,
              console=_console(stderr=True))


@app.command()
@handles_errors
@needs_train_extra("compare")
def compare(
    runs: List[str] = typer.Argument(..., help="Run folders to compare.", autocompletion=run_folders),
    output_format: TableFormat = typer.Option(TableFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Show the metrics of runs side by side and the spec settings that differ."""
    from modelctl.cli.evaluate import run_compare

    run_compare(runs, output_format.value, _console())


@app.command()
@handles_errors
@needs_train_extra("devices")
def devices(
    output_format: TableFormat = typer.Option(TableFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Show the CPUs, GPUs and TPUs TensorFlow sees and what `auto` training settings would choose."""
    from modelctl.cli.devices import run_devices

    run_devices(output_format.value, _console())


class Task(str, enum.Enum):
    classification = "classification"
    regression = "regression"


@app.command()
@handles_errors
def init(
    template: Optional[str] = typer.Option(None, "--template", "-t", autocompletion=templates,
                                           help=f"Template name: {', '.join(templates(''))}. Default "
                                                "tabular-classifier; --list says what each is for."),
    output: Path = typer.Option(Path("spec.yaml"), "--output", "-o", help="The spec file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    list_templates: bool = typer.Option(False, "--list", help="List the templates and exit."),
    data: Optional[Path] = typer.Option(None, "--data", "-d", help="Draft the spec from this CSV, TSV or Parquet "
                                                                  "file, or folder of class sub-folders of images "
                                                                  "or texts, instead of a template."),
    labels: List[str] = typer.Option([], "--label", "-l", help="With --data: a column to predict; repeatable. "
                                                              "Default: a column named label, target, class or "
                                                              "y, else the last."),
    task: Optional[Task] = typer.Option(None, "--task", help="With --data: classification or regression. "
                                                             "Default: decided from the label's values."),
) -> None:
    """Write a starter spec from a template (with made-up data beside it), or drafted from your data."""
    from modelctl.cli.init import run_init

    run_init(template, output, force, list_templates=list_templates, console=_console(), data=data, labels=labels,
             task=task.value if task else None)


def main() -> None:
    """Entry point of the `modelctl` console script: runs the command, then ends the process without Python's
    slow shutdown of TensorFlow (`modelctl.util.process`)."""
    from modelctl.util.process import limit_malloc_arenas, run_and_exit

    limit_malloc_arenas()
    run_and_exit(app)

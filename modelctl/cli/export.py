"""`modelctl export`: a run's model in every format asked for, each artifact verified."""

from __future__ import annotations

from pathlib import Path


def run_export(target: str, formats: list[str], quantize: str | None, *, output: Path | None = None,
               force: bool = False, benchmark: bool = False, console, cache=None, register: str | None = None,
               track_strict: bool = False, model_repository: Path | None = None) -> list:
    """Export, print the verification table, and with `benchmark` write it as Markdown and JSON.

    Args:
        target: a run folder, or a `.keras` file inside one.
        formats: format names or `all`; empty for the spec's `export.formats`.
        quantize: the `quantize` option of the formats that have one, or None for the spec's.
        output: folder of the artifacts. Default None: `<run>/export`.
        force: replace artifacts that exist. Default False.
        benchmark: every format and quantization; also writes the table to the run folder. Default False.
        console: where the table goes.
        cache: the prepared-data cache (`modelctl.data.cache.DataCache`). Default None: the default folder.
        register: register the exported model in MLflow's model registry under this name; default None.
        track_strict: a tracking server that cannot be reached is an error; default False: a warning.
        model_repository: lay out every artifact in this model repository (TensorFlow Serving's and Triton's
            `<name>/<version>/`); default None: only a SavedModel, in `<output>/serving`.
    """
    from modelctl.runs import model_target
    from modelctl.util.tf import tensorflow

    found = model_target(target, command="export")  # a wrong folder is said before TensorFlow starts
    tensorflow()  # imported quietly, before a converter or the model loader imports it with its native log lines
    from modelctl.export import ExportFailed, ExportInterrupted, render_table, write_benchmark
    from modelctl.export.from_run import export_run

    try:
        done = export_run(found, formats or None, quantize, output=output, force=force, benchmark=benchmark,
                          cache=cache, model_repository=model_repository)
    except (ExportFailed, ExportInterrupted) as failed:
        # The formats that were written and verified are in place: show them before the failures.
        if failed.results:
            render_table(failed.results, console)
            console.print(f"artifacts in {failed.results[0].path.parent}", markup=False)
        raise
    if done.results:
        render_table(done.results, console)
    for path in getattr(done.results, "kept", []):
        console.print(f"kept {path}: it was in place already (--force writes it again)", markup=False)
    if benchmark:
        markdown, data = write_benchmark(done.results, done.run_dir)
        console.print(f"benchmark written to {markdown} and {data}", markup=False)
    console.print(f"artifacts in {done.output}", markup=False)
    if done.serving is not None:
        _print_layout(done, console)
    if not done.results:  # every artifact was in place, and only laid out in the model repository
        if register is not None:
            from modelctl.errors import UsageError

            raise UsageError(f"--register {register}: every artifact was in place already and none was exported "
                             "and verified now; pass --force to export them again and register them")
        return done.results
    from modelctl.tracking import add_files, register_model

    from modelctl.runs import EXPORTS

    artifact_path = EXPORTS if done.output == done.run_dir / EXPORTS else f"{EXPORTS}/{done.output.name}"
    tracked = add_files(done.run_dir, [(done.output, artifact_path)], console, strict=track_strict)
    if register is not None:
        register_model(done.run_dir, register, done.results, console=console, artifact_path=artifact_path,
                       strict=track_strict)
    elif tracked is not None:
        console.print(f"added to MLflow run {tracked.run_id}", markup=False)
    return done.results


def _print_layout(done, console) -> None:
    """Where the model repository layout is, and the commands that serve it."""
    from modelctl.export.serving import TRITON_BACKENDS

    base = done.serving
    console.print(f"model repository layout in {base} ({', '.join(done.laid_out)}): serve it with `modelctl serve "
                  f"{base}`", markup=False)
    if "saved_model" in done.laid_out:
        console.print(f"  or `tensorflow_model_server --rest_api_port=8501 --model_name={base.name} "
                      f"--model_base_path={base.resolve()}`", markup=False)
    if any(export_format in TRITON_BACKENDS for export_format in done.laid_out):
        console.print(f"  or `tritonserver --model-repository={base.parent.resolve()}`", markup=False)

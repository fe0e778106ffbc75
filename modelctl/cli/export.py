"""`modelctl export`: a run's model as SavedModel, TFLite and ONNX artifacts, each verified."""

from __future__ import annotations

from pathlib import Path


def run_export(target: str, formats: list[str], quantize: str | None, output: Path | None, force: bool,
               benchmark: bool, console) -> list:
    """Export, print the verification table, and with `benchmark` write it as Markdown and JSON."""
    from modelctl.export import ExportFailed, render_table, write_benchmark
    from modelctl.export.from_run import export_run

    try:
        done = export_run(target, formats or None, quantize, output, force, benchmark)
    except ExportFailed as failed:
        # The formats that were written and verified are in place: show them before the failures.
        if failed.results:
            render_table(failed.results, console)
            console.print(f"artifacts in {failed.results[0].path.parent}", markup=False)
        raise
    render_table(done.results, console)
    if benchmark:
        markdown, data = write_benchmark(done.results, done.run_dir)
        console.print(f"benchmark written to {markdown} and {data}", markup=False)
    console.print(f"artifacts in {done.output}", markup=False)
    return done.results

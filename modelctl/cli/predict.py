"""`modelctl predict`: predictions as CSV on stdout (or in a file), what was skipped or unknown on stderr."""

from __future__ import annotations

from pathlib import Path


def run_predict(target: str, inputs: list[str], output: Path | None, *, ids: str | None, on_bad_input: str,
                delimiter: str | None, stdin_format: str, console, notes) -> list[dict]:
    """Predict (see `modelctl.predict.predict`), write the rows as CSV, and tell `notes` (the stderr console) how
    many examples were skipped and which categorical values the model did not know.

    Raises:
        MissingExtra: NumPy is not installed (the lint install); TensorFlow, for a run's Keras model.
        UsageError, DataError: see `modelctl.predict.predict`.
    """
    from modelctl.util.lazy import SERVE_EXTRA, require

    require("numpy", what="modelctl predict",
            instead=f"or pip install \"modelctl[{SERVE_EXTRA}]\" to predict with ONNX and TFLite artifacts only, "
                    "without TensorFlow")
    from modelctl.predict import InputOptions, predict, rows_csv
    from modelctl.util.files import write_text_atomic

    rows = predict(target, inputs, InputOptions(ids=ids, on_bad_input=on_bad_input, delimiter=delimiter,
                                                  stdin_format=stdin_format))
    for line in notes_of(rows.examples):
        notes.print(line, markup=False)
    text = rows_csv(rows)
    if output is None:
        console.out(text, highlight=False, end="")
    else:
        write_text_atomic(output, text)
        notes.print(f"wrote {len(rows)} predictions to {output}", markup=False)
    return rows


def notes_of(examples) -> list[str]:
    """What a user should know about the examples read (`modelctl.predict.Examples`): how many were skipped and
    why, and the categorical values each feature's vocabulary lacks (the five most frequent)."""
    lines = []
    if examples.skipped:
        total = sum(examples.skipped.values())
        reasons = "; ".join(f"{count} {reason}" for reason, count in examples.skipped.items())
        lines.append(f"skipped {total} of {total + len(examples)} examples ({reasons})")
    for feature, counts in examples.outside_vocabulary.items():
        common = sorted(counts.items(), key=lambda item: -item[1])[:5]
        shown = ", ".join(f"{value!r} x{count}" for value, count in common)
        more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
        lines.append(f"feature '{feature}': {sum(counts.values())} of {len(examples)} values are outside its "
                     f"vocabulary ({shown}{more}); the model reads them as unknown")
    return lines

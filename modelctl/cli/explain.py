"""`modelctl explain`: permutation importance and per-example attributions of a run, as a table or JSON; a run
tracked in MLflow gets the files in its MLflow run."""

from __future__ import annotations

import json


def run_explain(target: str, split: str, *, examples: int, method: str, repeats: int, steps: int,
                output_format: str, console, cache=None) -> dict:
    """Explain the run, print the importance (a table, or the `explain.json` object with `--format json`) and
    where the files are. `cache`: the prepared-data cache; default None: the default folder."""
    from modelctl.runs import EXPLANATIONS, model_target
    from modelctl.util.tf import tensorflow

    found = model_target(target, command="explain")  # a wrong folder is said before TensorFlow starts
    tensorflow()  # imported quietly, before shap or the model loader imports it with its native log lines
    from modelctl.explain import explain_run

    result = explain_run(found, split, examples=examples, method=method, repeats=repeats, steps=steps,
                         cache=cache)
    document = result.document
    from rich.console import Console

    from modelctl.tracking import add_files

    # A run tracked in MLflow gets the explanation's files, as it gets eval's; warnings go to stderr, off the JSON.
    add_files(result.run_dir, [(result.folder, f"{EXPLANATIONS}/{result.split}")],
              Console(stderr=True, highlight=False, soft_wrap=True))
    if output_format == "json":
        console.out(json.dumps(document, indent=2), highlight=False)
        return document
    from rich.table import Table

    from modelctl.util.tables import print_table

    importance = document["importance"]
    table = Table(title=f"Permutation importance on {result.split} ({document['examples']} examples): increase "
                        f"of {importance['metric']} when shuffled")
    table.add_column("Feature")
    table.add_column("Importance", justify="right")
    table.add_column("Std", justify="right")
    for row in importance["features"]:
        table.add_row(row["name"], f"{row['importance']:.4f}", f"{row['std']:.4f}")
    print_table(table, console)
    attributions = document.get("attributions")
    if attributions:
        from modelctl.explain.explain import contributions

        for example in attributions["examples"]:
            top = sorted(contributions(example), key=lambda item: -abs(item[1]))[:3]
            console.print(f"example {example['example']}: {example['target']} {example['score']:.4f} (baseline "
                          f"{example['baseline_score']:.4f}); largest: "
                          + ", ".join(f"{name} {value:+.4f}" for name, value in top), markup=False)
    console.print(f"report: {result.folder / 'report.md'}", markup=False)
    return document

"""`modelctl explain`: which features a run's model relies on, overall and for single examples.

    result = explain_run("runs/iris", split="test", examples=5, method="integrated_gradients")
    result.document["importance"]["features"][0]["name"]      # the most important column
    result.folder                                              # runs/iris/<run>/explain/test

The model is the run's own; the examples are the run's `split`, read with the preprocessing fitted
when it trained. What is written into `<run>/explain/<split>/` is the module docstring of
`modelctl.explain` (`explain.json`, `importance.png`, `examples/`, `report.md`).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from modelctl.util.lazy import numpy as np

from modelctl.data.splits import SPLITS
from modelctl.errors import UsageError, did_you_mean, one_of

METHODS = ("integrated_gradients", "shap", "permutation")
"""Per-example methods: `permutation` gives the global importance alone."""

BASELINES = {
    "integrated_gradients": "zero at every input of the core model, after the preprocessing the model holds: "
                            "the training mean of a standardized column, a black image, no category, no token",
    "shap": "the mean output over background examples of the same split",
}


@dataclasses.dataclass
class Explanation:
    """What `explain_run` found and wrote: `document` is the content of `explain.json`."""

    run_dir: Path
    split: str
    folder: Path
    document: dict
    files: list[Path]


def check_arguments(*, split: str, method: str, examples: int, repeats: int, steps: int) -> None:
    """Raise UsageError for an argument outside what `explain_run` accepts."""
    if split not in SPLITS:
        raise UsageError(f"--split {split!r}: expected one of {one_of(SPLITS)}.{did_you_mean(split, SPLITS)}")
    if method not in METHODS:
        raise UsageError(f"--method {method!r}: expected one of {one_of(METHODS)}.{did_you_mean(method, METHODS)}")
    for name, value, least in (("--examples", examples, 0), ("--repeats", repeats, 1), ("--steps", steps, 1)):
        if value < least:
            raise UsageError(f"{name} must be at least {least}; received {value}")


def explain_run(target: str | Path, split: str = "test", *, examples: int = 5, method: str = "integrated_gradients",
                repeats: int = 5, steps: int = 50, write: bool = True, cache=None) -> Explanation:
    """Explain a run's model on one of its splits and write the results into `<run>/explain/<split>/`.

    Args:
        target: a run folder, a spec's runs folder (its newest run) or a `.keras` file inside a run.
        split: train, validation or test; default test.
        examples: how many examples (the split's first) get per-example attributions; default 5, 0 for none.
        method: integrated_gradients (default), shap (numeric and categorical features only; the `explain`
            extra) or permutation (the global importance alone).
        repeats: shuffles per feature for the permutation importance, at least 1; default 5.
        steps: points of the integrated gradients' path integral, at least 1; default 50.
        write: write the files (default True); False only computes.
        cache: the prepared-data cache (`modelctl.data.cache.DataCache`); default None: the default folder.

    Raises:
        UsageError: not a run folder, an unknown split or method, an empty split, a bad count.
        ExplainError: a method that does not fit the model (see `modelctl.explain.gradients`, `shapley`).
        MissingExtra: `--method shap` without the `explain` extra.
    """
    check_arguments(split=split, method=method, examples=examples, repeats=repeats, steps=steps)
    if method == "shap":
        from modelctl.explain.shapley import require_shap

        require_shap()
    from modelctl.explain.permutation import permutation_importance
    from modelctl.model.trained import open_trained
    from modelctl.runs import EXPLANATIONS

    trained = open_trained(target, command="explain")
    run_dir, model_file, document, fitted = trained.run.path, trained.model_file, trained.document, trained.fitted
    prepared = trained.prepare(cache=cache)
    if not prepared.counts.get(split):
        raise UsageError(f"the {split} split of {run_dir} has no examples; choose another with --split")
    data = prepared.arrays(split)
    model = trained.load_model()
    seed = document.spec.seed
    label = fitted.first_label.name
    count = min(examples, len(data))
    explained = []
    if method != "permutation" and count:
        if method == "integrated_gradients":
            from modelctl.explain.gradients import integrated_gradients

            chosen = {name: values[:count] for name, values in data.features.items()}
            explained = integrated_gradients(model, chosen, fitted, steps=steps)
        else:
            from modelctl.explain.shapley import shap_values

            explained = shap_values(model, data.features, fitted, examples=count, seed=seed)
    # After the attributions, which may refuse the model: the importance takes the longest.
    importance = permutation_importance(model, data.features, data.targets, fitted=fitted, repeats=repeats, seed=seed)
    folder = run_dir / EXPLANATIONS / split
    result = {"run": str(run_dir), "model": str(model_file), "split": split, "examples": len(data), "label": label,
              "importance": importance}
    if method != "permutation":
        result["attributions"] = {"method": method, "baseline": BASELINES[method],
                                  **({"steps": steps} if method == "integrated_gradients" else {}),
                                  "examples": [_example(item, data.features, fitted=fitted, label=label)
                                               for item in explained]}
    files: list[Path] = []
    if write:
        files = _write(folder, result, data.features, title=f"{document.spec.name} on {split}")
    return Explanation(run_dir, split, folder, result, files)


def _target_name(fitted_label, label: str, column: int) -> str:
    """The explained output's name: its class (a binary label's positive class), else the label's."""
    from modelctl.features import label_type

    kind, classes = label_type(fitted_label.type), fitted_label.classes
    if kind.positive_class is not None:
        return str(classes[kind.positive_class]) if classes and len(classes) > kind.positive_class else label
    return str(classes[column]) if kind.classifies and classes else label


def _example(item, features: dict, *, fitted, label: str) -> dict:
    from modelctl.features import feature_type

    described = {name: feature_type(feature.type).attributions(item.inputs[name], item.values[name], feature.entry,
                                                                raw=features[name][item.row])
                 for name, feature in fitted.features.items() if name in item.inputs}
    return {"example": item.row, "target": _target_name(fitted.labels[label], label, item.column),
            "output": item.column, "score": item.score, "baseline_score": item.baseline_score, "gap": item.gap,
            "features": described}


def contributions(example: dict) -> list[tuple[str, float]]:
    """(name, attribution) of an example's units: each column of a numeric feature, `feature=value` for a
    category, the feature's total otherwise."""
    found = []
    for name, described in example["features"].items():
        if described["kind"] == "columns":
            found += list(described["columns"].items())
        elif described["kind"] == "value":
            found.append((f"{name}={described['value']}", described["total"]))
        else:
            found.append((name, described["total"]))
    return found


def _write(folder: Path, result: dict, features: dict, *, title: str) -> list[Path]:
    from modelctl.explain.figures import attribution_plot, importance_plot, overlay_plot, tokens_html
    from modelctl.explain.report import render_report, render_section, with_section
    from modelctl.runs import EVALUATIONS, explanation_section, write_json
    from modelctl.util.files import write_text_atomic

    # The figures of an earlier explanation with more examples would otherwise stay beside these.
    shutil.rmtree(folder / "examples", ignore_errors=True)
    (folder / "examples").mkdir(parents=True, exist_ok=True)
    files = [importance_plot(result["importance"], path=folder / "importance.png")]
    figures: dict[int, list[Path]] = {}
    for example in (result.get("attributions") or {}).get("examples", []):
        row = example["example"]
        heading = (f"example {row}: '{example['target']}' = {example['score']:.3g} "
                   f"(baseline {example['baseline_score']:.3g})")
        own = [attribution_plot(contributions(example), title=heading, path=folder / "examples" / f"{row}.png")]
        for name, described in example["features"].items():
            if described["kind"] == "pixels":
                own.append(overlay_plot(np.asarray(described["pixels"]), features[name][row], title=heading,
                                        path=folder / "examples" / f"{row}-{name}.png"))
            elif described["kind"] == "tokens":
                own.append(tokens_html(described["tokens"], title=heading,
                                       path=folder / "examples" / f"{row}-{name}.html"))
        figures[row] = own
        files += own
    result["files"] = [str(path.relative_to(folder)) for path in files]
    result["report"] = str(folder / "report.md")
    write_json(folder / "explain.json", result)
    write_text_atomic(folder / "report.md", render_report(f"Explanation of {title}", result, figures=figures,
                                                          folder=folder))
    # The section `modelctl eval` adds to its report.md of this split; added to that report now when it exists.
    run_dir, split = folder.parent.parent, folder.name
    evaluation = run_dir / EVALUATIONS / split
    section = render_section(result, folder=evaluation, report=folder / "report.md")
    write_text_atomic(explanation_section(run_dir, split), section)
    if (evaluation / "report.md").is_file():
        text = (evaluation / "report.md").read_text(encoding="utf-8")
        write_text_atomic(evaluation / "report.md", with_section(text, section))
    return [folder / "explain.json", folder / "report.md", explanation_section(run_dir, split), *files]


__all__ = ["BASELINES", "METHODS", "SPLITS", "Explanation", "check_arguments", "contributions", "explain_run"]

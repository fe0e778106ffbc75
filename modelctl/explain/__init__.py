"""`modelctl explain`: which features a trained run relies on, overall and for single examples.

    modelctl explain runs/iris --split test --examples 5 --method integrated_gradients

    explain_run("runs/iris")        # the same from Python: an `Explanation`

Global importance (`modelctl.explain.permutation`) is computed for every model: each column of a numeric
feature, and each other feature as a whole, is shuffled among the split's examples and the increase of the
loss is measured over `--repeats` shuffles. Per-example attributions come from integrated gradients
(`modelctl.explain.gradients`, any model whose inputs are differentiable after its preprocessing, or reach an
embedding layer) or SHAP values (`modelctl.explain.shapley`, tables of numeric and categorical features, the
`explain` extra), mapped back to columns, categories, tokens and pixels (each feature type's `attributions`).

What is written into `<run>/explain/<split>/`:

    explain.json            the object below; `modelctl explain --format json` prints the same
    importance.png          permutation importance bars with their spread
    examples/<n>.png        example n's attributions as bars, largest first
    examples/<n>-<f>.png    image feature f of example n with its pixels' attributions laid over it
    examples/<n>-<f>.html   text feature f of example n, each token highlighted by its attribution
    report.md               the importance table, each example's largest attributions and the figures
    section.md              the `## Explanation` section of eval/<split>/report.md (added there now, and by
                            `modelctl eval` later)

explain.json:

    {
      "run": "runs/iris/20261123T101500Z", "model": "<the model file>", "split": "test",
      "examples": 30,                      # examples in the split
      "label": "species",                  # the label explained (a model's first)
      "importance": {
        "metric": "log_loss", "baseline": 0.21, "repeats": 5, "seed": 42,
        "features": [                      # most important first
          {"name": "petal_length", "feature": "measurements", "column": 2,
           "importance": 0.84, "std": 0.07, "increases": [0.8, ...]}, ...]},
      "attributions": {                    # absent with --method permutation
        "method": "integrated_gradients", "baseline": "zero at every input of the core model ...", "steps": 50,
        "examples": [
          {"example": 0,                   # position in the split
           "target": "setosa", "output": 0,   # the output explained: its name and column
           "score": 0.97, "baseline_score": 0.31, "gap": 0.0004,   # gap: sum of attributions - (score - baseline)
           "features": {"measurements": {"kind": "columns", "total": 0.66, "columns": {"petal_length": 0.41, ...}}}
          }, ...]},
      "files": ["importance.png", "examples/0.png", ...],   # relative to the folder
      "report": ".../explain/test/report.md"
    }

The `features` of an example are described by each feature type's `attributions` (columns, a category's value,
tokens, pixels; see `modelctl.features.base.FeatureType.attributions`).
"""

from modelctl.explain.errors import ExplainError
from modelctl.explain.explain import METHODS, Explanation, explain_run

__all__ = ["METHODS", "ExplainError", "Explanation", "explain_run"]

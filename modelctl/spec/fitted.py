"""Checks of a spec against what was fitted on its training split, before the first training step.

    check_fitted(document, prepared.fitted)      # raises SpecError at the spec line to change

`validate` knows the classes of a label only when the spec declares them; once
the label is fitted their number is known, and an output layer with another
number of units would fail deep inside Keras (`Received a label value of 212
which is outside the valid range of [0, 3)`) or, for a multi-label output, train
on misaligned targets. This is the same check as `validate`'s (`check_outputs`),
with the fitted class count.
"""

from __future__ import annotations

from modelctl.errors import ERROR, Diagnostic, SpecError
from modelctl.spec import checks, graph as graph_module


def fitted_problems(document, fitted) -> list[Diagnostic]:
    """Each output whose units differ from the number of classes its label was fitted with, at the spec line of
    its `units`.

    Args:
        document: the loaded, valid spec (`modelctl.spec.loader.Document`).
        fitted: the fitted preprocessing (`modelctl.runs.Fitted`), whose `labels` hold each label's `classes`.
    """
    from modelctl.registry.layers import LAYERS

    spec = document.data
    model = spec.get("model") if isinstance(spec.get("model"), dict) else {}
    if not isinstance(model.get("layers"), list):
        return []
    labels = checks.label_types(spec)
    graph = graph_module.expand(model, checks.model_inputs(spec), LAYERS, labels=list(labels))
    if graph.problems or len(graph.outputs) != len(labels):
        return []
    problems = []
    for output, label in zip(graph.outputs, labels):
        classes = fitted.labels[label].classes if label in fitted.labels else None
        node = graph.node(output)
        if not classes or labels[label] == "binary" or node is None or node.kind != "dense" \
                or not isinstance(node.args.get("units"), int):
            continue
        units = node.args["units"]
        if units != len(classes):
            column = fitted.labels[label].column or label
            shown = ", ".join(repr(name) for name in classes[:8]) + (" ..." if len(classes) > 8 else "")
            problems.append(document.diagnostic(
                node.arg_paths.get("units", node.path),
                f"output '{output}' has {units} units but label '{label}' has {len(classes)} classes in the "
                f"training split (column '{column}': {shown}); set `units: {len(classes)}`, or declare the label's "
                "`classes`", ERROR))
    return problems


def check_fitted(document, fitted) -> None:
    """Raise the problems of `fitted_problems`, before any training step.

    Raises:
        SpecError: an output whose units differ from its label's fitted class count.
    """
    problems = fitted_problems(document, fitted)
    if problems:
        raise SpecError(problems)


__all__ = ["check_fitted", "fitted_problems"]

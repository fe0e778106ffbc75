"""The `search` section: which spec values a hyperparameter search varies, over what, and how it chooses.

    search:
      metric: val_loss
      trials: 40
      sampler: tpe
      pruner: median
      parameters:
        training.optimizer.learning_rate: {type: loguniform, low: 1.0e-4, high: 1.0e-2}
        model.layers[0].dense.units: {type: choice, values: [32, 64, 128]}

Parameters are keyed by the paths `--set` takes. Validation puts every value a
parameter can take into the spec in turn (the ends of a range, each choice) and
checks the result with the schema and the semantic checks, so that the rules
are those of the key itself, written once: a `units` range that reaches 0 is an
error at the `low` that reaches it.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Iterable

from modelctl.errors import ERROR, WARNING, Diagnostic, json_path
from modelctl.registry import args
from modelctl.registry.schema_parts import closed, prop, typed_family
from modelctl.spec.loader import Document
from modelctl.spec.overrides import set_value
from modelctl.spec.typed import Search, schema_default

PARAMETER_TYPES = ("uniform", "loguniform", "int", "choice")
"""Kinds of parameter: `uniform` and `loguniform` are continuous, `int` and `choice` discrete."""

CONTINUOUS = ("uniform", "loguniform")

HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "r2")
"""Words that make a metric one to maximize when `goal` is `auto` (as Keras infers a monitor's mode)."""


def section_schema() -> tuple[dict, dict]:
    """The schema of the `search` section and the `$defs` it needs (samplers and pruners)."""
    from modelctl.registry.search import PRUNERS, SAMPLERS

    sampler, sampler_defs = typed_family(SAMPLERS, "sampler", "How each trial's values are chosen: a name, or "
                                                              "`{type: NAME, ...arguments}`.")
    pruner, pruner_defs = typed_family(PRUNERS, "pruner", "When a trial is stopped early on its per-epoch metric: "
                                                          "a name, or `{type: NAME, ...arguments}`.")
    number = {"type": "number"}
    variants = {
        "uniform": {"low": prop(number, "Smallest value."), "high": prop(number, "Largest value.")},
        "loguniform": {"low": prop({"type": "number", "exclusiveMinimum": 0}, "Smallest value (above 0)."),
                       "high": prop({"type": "number", "exclusiveMinimum": 0}, "Largest value.")},
        "int": {"low": prop({"type": "integer"}, "Smallest value."),
                "high": prop({"type": "integer"}, "Largest value (taken when low + k * step reaches it)."),
                "step": args.integer("Distance between two values.", 1, minimum=1),
                "log": args.boolean("Draw on a log scale (needs low >= 1 and step 1).", False)},
        "choice": {"values": prop({"type": "array", "minItems": 1}, "The values to try, in any YAML form the key "
                                                                    "takes.")},
    }
    branches = []
    for name, properties in variants.items():
        allowed = {"type": {"const": name}, **properties}
        required = [key for key, schema in properties.items() if "default" not in schema]
        branches.append({"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                         "then": {"properties": allowed, "additionalProperties": False, "required": required}})
    parameter = {
        "title": "search parameter",
        "description": "The values one spec key takes: `{type: uniform|loguniform, low, high}`, "
                       "`{type: int, low, high, step, log}` or `{type: choice, values: [...]}`.",
        "type": "object",
        "properties": {"type": {"title": "parameter type", "description": "Which kind of parameter this is.",
                                "enum": list(PARAMETER_TYPES)}},
        "required": ["type"],
        "allOf": branches,
    }
    section = closed({
        "metric": args.string("Logged value the search optimizes, measured on the trained model: `val_NAME` on "
                              "the validation split, `NAME` on the training split.", "val_loss"),
        "goal": args.choice(["auto", "minimize", "maximize"],
                            "Whether the metric should fall or rise; auto maximizes accuracy, AUC, precision, "
                            "recall, F1 and R2 and minimizes the rest.", "auto"),
        "trials": args.integer("Trials the search completes (pruned ones count, failed ones do not).", 20,
                               minimum=1),
        "sampler": prop({"$ref": "#/$defs/sampler"}, "How each trial's values are chosen.", "tpe"),
        "pruner": prop({"$ref": "#/$defs/pruner"}, "When a trial is stopped early.", "none"),
        "parameters": prop({"type": "object", "minProperties": 1,
                            "propertyNames": {"title": "parameter path", "pattern": r"^[A-Za-z_][^\s=]*$"},
                            "additionalProperties": parameter},
                           "Spec values to vary, keyed by the path `--set` takes, such as "
                           "`model.layers[0].dense.units`."),
    }, "A hyperparameter search run by `modelctl search` (other commands ignore it); null for none.",
        required=["parameters"], type=["object", "null"], default=None)
    return section, {"sampler": sampler, "pruner": pruner, **sampler_defs, **pruner_defs}


def goal(search: Search) -> str:
    """`minimize` or `maximize`: `search.goal`, or from the metric's name when it is `auto` (the default)."""
    if search.goal != "auto":
        return search.goal
    metric = search.metric
    return "maximize" if any(word in metric for word in HIGHER_IS_BETTER) else "minimize"


def candidates(parameter: dict) -> list[tuple[tuple, Any]]:
    """The values of a parameter that validation tries, each with the key (under the parameter) it comes from:
    the ends of a range (the last value an `int` reaches) and every choice."""
    kind = parameter.get("type")
    if kind == "choice":
        return [(("values", index), value) for index, value in enumerate(parameter.get("values") or [])]
    low, high = parameter.get("low"), parameter.get("high")
    if kind == "int":
        step = parameter.get("step", 1)
        last = low + (high - low) // step * step if high >= low else high
        return [(("low",), low), (("high",), last)]
    return [(("low",), float(low)), (("high",), float(high))]


def grid(parameters: dict) -> dict[str, list]:
    """Every value of each discrete parameter, as the grid sampler takes them."""
    space = {}
    for name, parameter in parameters.items():
        if parameter["type"] == "choice":
            space[name] = list(parameter["values"])
        else:
            space[name] = list(range(parameter["low"], parameter["high"] + 1, parameter.get("step", 1)))
    return space


def check_search(document: Document, check: Callable, known: Iterable[str] = ()) -> list[Diagnostic]:
    """Problems of the `search` section that the schema cannot see, each at its line.

    Args:
        document: the spec, already checked against the schema.
        check: gives the diagnostics of a spec document (schema and semantic checks); each value a parameter can
            take is put into a copy of the spec without `search` and checked with it.
        known: JSON paths that already have an error; a parameter with one is not checked further.
    """
    from modelctl.registry.search import SAMPLERS
    from modelctl.spec.overrides import parse_path

    search = document.data.get("search")
    parameters = search.get("parameters") if isinstance(search, dict) else None
    if not isinstance(parameters, dict):
        return []
    known = set(known)
    problems: list[Diagnostic] = []
    base_data = {key: value for key, value in document.data.items() if key != "search"}
    base = {(item.path, item.message) for item in check(_copy(document, base_data))}
    sampler = search.get("sampler", schema_default("search", "sampler"))
    sampler = sampler.get("type") if isinstance(sampler, dict) else sampler
    discrete_only = sampler in SAMPLERS and SAMPLERS.get(sampler).meta.get("discrete_only")
    for name, parameter in parameters.items():
        where = ("search", "parameters", name)
        if any(path.startswith(json_path(where)) for path in known):
            continue  # the schema has said what is wrong
        try:
            path = parse_path(name)
        except ValueError:
            problems.append(document.diagnostic(where, f"'{name}' is not a spec path; write it as `--set` takes "
                                                       f"it, such as `model.layers[0].dense.units`", key=True))
            continue
        if path[0] == "search":
            problems.append(document.diagnostic(where, "a search cannot vary its own settings", key=True))
            continue
        if discrete_only and parameter["type"] in CONTINUOUS:
            problems.append(document.diagnostic(
                (*where, "type"), f"the grid sampler needs every parameter discrete, and '{parameter['type']}' is "
                                  f"continuous; use `type: choice` with the values to try, or `type: int`, or "
                                  f"another sampler ({', '.join(n for n in SAMPLERS.names() if n != 'grid')})"))
        problems.extend(_range_problems(document, where, parameter))
        if any(item.path.startswith(json_path(where)) for item in problems):
            continue
        for key, value in candidates(parameter):
            data = copy.deepcopy(base_data)
            missing = _put(data, path, value)
            if missing:
                problems.append(document.diagnostic(where, missing, key=True))
                break
            for item in check(_copy(document, data)):
                if item.severity == ERROR and (item.path, item.message) not in base:
                    problems.append(document.diagnostic(
                        (*where, *key), f"{name} = {value!r} is not valid: {item.path}: {item.message}"))
    if discrete_only and not problems and not any(path.startswith("$.search.parameters") for path in known):
        size = math.prod(len(values) for values in grid(parameters).values())
        trials = search.get("trials", schema_default("search", "trials"))
        if trials > size:
            problems.append(document.diagnostic(("search", "trials"), f"the grid has {size} combinations, fewer "
                                                                       f"than the {trials} trials asked for; the "
                                                                       f"search ends after {size}", WARNING))
    return problems


def _range_problems(document: Document, where: tuple, parameter: dict) -> Iterable[Diagnostic]:
    kind = parameter["type"]
    if kind == "choice":
        values = parameter["values"]
        for index, value in enumerate(values):
            if value in values[:index]:
                yield document.diagnostic((*where, "values", index), f"{value!r} is listed twice")
        return
    low, high = parameter["low"], parameter["high"]
    if low > high:
        yield document.diagnostic((*where, "high"), f"high ({high!r}) is below low ({low!r})")
    if kind == "int" and parameter.get("log") and (low < 1 or parameter.get("step", 1) != 1):
        yield document.diagnostic((*where, "log"), "a log-scale int needs low >= 1 and step 1; received "
                                                   f"low {low!r}, step {parameter.get('step', 1)!r}")


def _copy(document: Document, data: dict) -> Document:
    return Document(document.source, data, document.values, document.keys, document.base)


def _put(data: Any, path: tuple, value: Any) -> str | None:
    """Set `value` at `path` in `data`; a message when the path cannot be followed, else None.

    A mapping may lack the last key (a value left at its default); everything above it must be written.
    """
    unfollowed = set_value(data, path, value, create=False)
    return None if unfollowed is None else _unfollowed(unfollowed[1], path, unfollowed[0])


def _unfollowed(parent: Any, path: tuple, depth: int) -> str:
    written = json_path(path[:depth]).removeprefix("$.") or "the spec"
    part = path[depth]
    if isinstance(parent, list):
        detail = (f"{written} has {len(parent)} items, so [{part}] is not one of them" if isinstance(part, int)
                  else f"{written} is a list; select an item with [N]")
    elif isinstance(parent, dict):
        detail = f"{written} has no '{part}'" if isinstance(part, str) else f"{written} is a mapping, not a list"
        if isinstance(parent.get(part), (str, int, float, bool)) and depth < len(path) - 1:
            whole = json_path(path[:depth + 1]).removeprefix('$.')
            detail = (f"{whole} is the plain value {parent[part]!r}; vary it whole (key `{whole}`), or write it "
                      "as a mapping to vary what is inside")
        elif part not in parent:
            detail += " (a path may end at a key the spec leaves at its default, but every key above it must be "\
                      "written)"
    else:
        detail = f"{written} is the plain value {parent!r}"
    return f"the spec has no value at this path: {detail}"

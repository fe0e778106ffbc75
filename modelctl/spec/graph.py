"""Expand a spec's `model` section into a flat graph of layer nodes.

Blocks are inlined with their parameters substituted, `repeat` is unrolled,
shorthand values become argument mappings and every `inputs` reference is
resolved to an earlier node. The result needs no TensorFlow: `validate` checks
it and the model builder turns each node into a Keras layer.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from modelctl.errors import did_you_mean, json_path, one_of
from modelctl.registry.base import Registry

PREVIOUS = "previous"
BLOCK_INPUT = "input"
_PARAM = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_ITEM_KEYS = {"name", "inputs", "repeat", "block", "with"}


@dataclasses.dataclass
class Node:
    """One layer of the expanded model.

    Attributes:
        name: unique name, also the Keras layer name.
        kind: layer registry name (`dense`).
        args: arguments after substitution, shorthand expanded.
        inputs: names of the nodes or model inputs it reads.
        path: spec path of the item that wrote the layer.
        arg_paths: spec path each argument's value was written at (a block's `with` for parameters).
        value: the value under the layer's key after substitution, as written: a mapping, null or a scalar (a
            scalar the layer has no shorthand for gives no arguments, and the check of block layers rejects it).
    """

    name: str
    kind: str
    args: dict
    inputs: list[str]
    path: tuple
    arg_paths: dict = dataclasses.field(default_factory=dict)
    value: Any = None


@dataclasses.dataclass
class Graph:
    inputs: list[str]
    nodes: list[Node]
    outputs: list[str]
    problems: list[tuple[tuple, str]]
    aliases: dict[str, str] = dataclasses.field(default_factory=dict)

    def node(self, name: str) -> Node | None:
        name = self.aliases.get(name, name)
        return next((node for node in self.nodes if node.name == name), None)

    def consumers(self, name: str) -> list[Node]:
        return [node for node in self.nodes if name in node.inputs]


class _Scope:
    """Names visible to one layer list: the model's, or one expansion of a block."""

    def __init__(self, known: dict[str, str], previous: str | None, prefix: str, *, later: dict[str, tuple]):
        self.known = dict(known)      # written name -> node name
        self.previous = previous      # node the next item reads by default
        self.prefix = prefix          # prepended to local names inside a block
        self.later = later            # names written further down -> their item path


def expand(model: dict, input_names: list[str], layers: Registry, *, labels: list[str] | None = None) -> Graph:
    """Expand `model` (the spec's `model` mapping) into a `Graph`.

    Args:
        model: the `model` section as plain data (already schema-valid or close to it).
        input_names: names of the model inputs (declared inputs or data features).
        layers: the layer registry.
        labels: label names, used to pick the outputs when `model.outputs` is not given.
    """
    expander = _Expander(model.get("blocks") or {}, layers)
    previous = input_names[0] if len(input_names) == 1 else None
    items = model.get("layers") or []
    scope = _Scope({name: name for name in input_names}, previous, "", later=_later_names(items, ("model", "layers")))
    expander.items(items, ("model", "layers"), scope, stack=())
    graph = Graph(list(input_names), expander.nodes, [], expander.problems, expander.aliases)
    graph.outputs = _outputs(model, graph, scope, labels=labels or [])
    return graph


def _later_names(items: list, base: tuple) -> dict[str, tuple]:
    return {item["name"]: base + (index,) for index, item in enumerate(items)
            if isinstance(item, dict) and isinstance(item.get("name"), str)}


class _Expander:
    def __init__(self, blocks: dict, layers: Registry):
        self.blocks = blocks
        self.layers = layers
        self.nodes: list[Node] = []
        self.problems: list[tuple[tuple, str]] = []
        self.aliases: dict[str, str] = {}
        self.used: set[str] = set()
        self.counters: dict[str, int] = {}

    def fail(self, path: tuple, message: str) -> None:
        self.problems.append((path, message))

    def unique(self, base: str) -> str:
        count = self.counters.get(base, 0)
        while True:
            count += 1
            name = f"{base}_{count}"
            if name not in self.used:
                self.counters[base] = count
                return name

    def items(self, items: list, base: tuple, scope: _Scope, *, stack: tuple, params: dict | None = None,
              param_paths: dict | None = None) -> None:
        for index, item in enumerate(items):
            path = base + (index,)
            scope.later.pop(item.get("name") if isinstance(item, dict) else None, None)
            if isinstance(item, str):
                item = {item: None}
            if not isinstance(item, dict):
                continue
            self.item(item, path, scope, stack=stack, params=params or {}, param_paths=param_paths or {})

    def item(self, item: dict, path: tuple, scope: _Scope, *, stack: tuple, params: dict, param_paths: dict) -> None:
        kinds = [key for key in item if key not in _ITEM_KEYS]
        if "block" in item:
            kinds.append("block")
        if len(kinds) != 1:
            return  # the schema reports items with no layer or several
        kind = kinds[0]
        repeat = item.get("repeat", 1) if isinstance(item.get("repeat", 1), int) else 1
        written_name = item.get("name")
        sources = self.resolve_inputs(item, path, scope)
        for turn in range(1, repeat + 1):
            if written_name:
                local = f"{written_name}_{turn}" if repeat > 1 else written_name
                name = scope.prefix + local
                if name in self.used or local in scope.known:
                    self.fail(path + ("name",), f"the name '{written_name}' is used more than once; names must "
                                                "be unique")
                    name = self.unique(name)
            else:
                name = self.unique(scope.prefix + (item["block"] if kind == "block" else kind))
            if sources is None:
                return
            if kind == "block":
                output = self.block(item, path, name, sources=sources, stack=stack, params=params,
                                    param_paths=param_paths)
            else:
                output = self.layer(kind, item[kind], path, name=name, sources=sources, params=params,
                                    param_paths=param_paths)
            if output is None:
                return
            self.used.add(name)
            if written_name:
                scope.known[written_name] = output
                if output != name:
                    self.aliases[name] = output
            scope.previous = output
            sources = [output]
        if written_name and repeat > 1:
            self.aliases[scope.prefix + written_name] = scope.previous

    def resolve_inputs(self, item: dict, path: tuple, scope: _Scope) -> list[str] | None:
        written = item.get("inputs", PREVIOUS)
        written = [written] if isinstance(written, str) else list(written or [])
        resolved = []
        for position, name in enumerate(written):
            where = path + ("inputs",) if isinstance(item.get("inputs"), str) or "inputs" not in item \
                else path + ("inputs", position)
            if name == PREVIOUS:
                if scope.previous is None:
                    self.fail(where, "there is no previous item to read: the model has several inputs "
                                     f"({one_of(sorted(k for k in scope.known))}); name one in `inputs`"
                              if scope.known else "there is no previous item to read; name an input")
                    return None
                resolved.append(scope.previous)
            elif name in scope.known:
                resolved.append(scope.known[name])
            elif name in scope.later:
                self.fail(where, f"'{name}' is defined later, at {json_path(scope.later[name])}; `inputs` may "
                                 "only name earlier items, which keeps the graph free of cycles")
                return None
            else:
                known = sorted(scope.known) + [PREVIOUS]
                self.fail(where, f"'{name}' is not defined. Known names here: {one_of(known)}."
                                 f"{did_you_mean(name, known)}")
                return None
        return resolved

    def layer(self, kind: str, value: Any, path: tuple, *, name: str, sources: list[str], params: dict,
              param_paths: dict) -> str | None:
        if kind not in self.layers:
            return None  # reported by the schema
        entry = self.layers.get(kind)
        arg_path = path + (kind,)
        if isinstance(value, dict):
            args, paths = {}, {}
            for key, item in value.items():
                args[key], paths[key] = self.substitute(item, arg_path + (key,), params, param_paths=param_paths)
            value = args
        else:  # null, a scalar, or a `$param` holding either or a mapping: expanded once substituted
            value, source = self.substitute(value, arg_path, params, param_paths=param_paths)
            args = entry.arguments(value) if entry.takes(value) else {}
            paths = {key: source for key in args}
        self.nodes.append(Node(name, kind, args, sources, path, paths, value))
        return name

    def substitute(self, value: Any, path: tuple, params: dict, *, param_paths: dict) -> tuple[Any, tuple]:
        """Replace `$param` references; return the value and the path it was written at."""
        if isinstance(value, str):
            match = _PARAM.match(value)
            if match:
                param = match.group(1)
                if param not in params:
                    where = "outside a block" if not params and not param_paths else "in this block"
                    known = sorted(params)
                    self.fail(path, f"'{value}' refers to no parameter {where}."
                                    + (f" Parameters: {one_of(known)}.{did_you_mean(param, known)}" if known else ""))
                    return value, path
                return params[param], param_paths.get(param, path)
            return value, path
        if isinstance(value, dict):
            return {key: self.substitute(item, path + (key,), params, param_paths=param_paths)[0]
                    for key, item in value.items()}, path
        if isinstance(value, list):
            return [self.substitute(item, path + (index,), params, param_paths=param_paths)[0]
                    for index, item in enumerate(value)], path
        return value, path

    def block(self, item: dict, path: tuple, name: str, *, sources: list[str], stack: tuple, params: dict,
              param_paths: dict) -> str | None:
        block_name = item["block"]
        if block_name not in self.blocks:
            known = sorted(self.blocks)
            self.fail(path + ("block",), f"'{block_name}' is not a block of this model. "
                                         + (f"Blocks: {one_of(known)}.{did_you_mean(block_name, known)}"
                                            if known else "Define it under model.blocks."))
            return None
        if block_name in stack:
            cycle = " -> ".join([*stack[stack.index(block_name):], block_name])
            self.fail(path + ("block",), f"block '{block_name}' uses itself ({cycle}); blocks cannot be recursive")
            return None
        if len(sources) != 1:
            self.fail(path + ("inputs",), f"a block reads one input; got {len(sources)}")
            return None
        definition = self.blocks[block_name]
        declared = definition.get("params") or {}
        given = item.get("with") or {}
        values, value_paths = {}, {}
        for key, value in given.items():
            if key not in declared:
                self.fail(path + ("with", key), f"block '{block_name}' has no parameter '{key}'. Parameters: "
                                                f"{one_of(sorted(declared)) if declared else 'none'}."
                                                f"{did_you_mean(key, sorted(declared))}")
                continue
            values[key], value_paths[key] = self.substitute(value, path + ("with", key), params,
                                                            param_paths=param_paths)
        for key, default in declared.items():
            if key not in values:
                if default is None:
                    self.fail(path, f"block '{block_name}' needs parameter '{key}'; give it in `with`")
                    return None
                values[key] = default
                value_paths[key] = ("model", "blocks", block_name, "params", key)
        base = ("model", "blocks", block_name, "layers")
        layers = definition.get("layers") or []
        scope = _Scope({BLOCK_INPUT: sources[0]}, sources[0], name + "_", later=_later_names(layers, base))
        before = len(self.nodes)
        self.items(layers, base, scope, stack=stack + (block_name,), params=values, param_paths=value_paths)
        if len(self.nodes) == before:
            return None
        return scope.previous


def _outputs(model: dict, graph: Graph, scope: _Scope, *, labels: list[str]) -> list[str]:
    written = model.get("outputs")
    if written:
        outputs = []
        for index, name in enumerate(written):
            if name in scope.known:
                outputs.append(scope.known[name])
            else:
                known = sorted(scope.known)
                graph.problems.append((("model", "outputs", index),
                                       f"'{name}' is not a named item. Known names: {one_of(known)}."
                                       f"{did_you_mean(name, known)}"))
        return outputs
    named = [scope.known[label] for label in labels if label in scope.known]
    if labels and len(named) == len(labels):
        return named
    return [scope.previous] if scope.previous and graph.nodes else []

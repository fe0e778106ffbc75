"""Functions of more than three parameters take the rest by keyword, so that a call names what it passes.

The exceptions are signatures another library calls positionally: Keras's `call` and `compute_loss`, tf2onnx's
op handlers, what pickle and a process pool call with a tuple of arguments, and the typer commands of
`modelctl.cli.app`, whose parameters are the command's options.
"""

from __future__ import annotations

import ast
from pathlib import Path

import modelctl

PACKAGE = Path(modelctl.__file__).parent
CALLED_BY_OTHERS = {("model/build.py", "call"), ("training/distill.py", "compute_loss"), ("export/onnx.py", "_erfc"),
                    # pickle rebuilds a request error from a tuple; a process pool calls its initializer with one
                    ("serve/errors.py", "_request_error"), ("serve/work.py", "_start_process")}


def _positional(node: ast.FunctionDef) -> list[str]:
    names = [argument.arg for argument in node.args.posonlyargs + node.args.args]
    return names[1:] if names[:1] in (["self"], ["cls"]) else names


def _commands(tree: ast.Module) -> set[str]:
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("command" in ast.unparse(decorator) for decorator in node.decorator_list)}


def test_parameters_after_the_third_are_keyword_only():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        commands = _commands(tree) if relative == "cli/app.py" else set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(_positional(node)) > 3 \
                    and node.name not in commands and (relative, node.name) not in CALLED_BY_OTHERS:
                found.append(f"{relative}:{node.lineno} {node.name}({', '.join(_positional(node))})")
    assert not found, "\n".join(found)

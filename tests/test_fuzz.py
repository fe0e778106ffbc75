"""Random and mutated documents: nothing escapes but modelctl's own errors."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelctl.errors import SpecError
from modelctl.spec.loader import load_text
from modelctl.spec.validate import check_document

SPECS = sorted((Path(__file__).resolve().parent.parent / "specs").glob("*.yaml"))
SEED_TEXT = [path.read_text(encoding="utf-8") for path in SPECS]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["dense", "previous", "$units", "relu", "adam", "val_loss"]))
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)), max_leaves=25)


def _check(text: str) -> None:
    try:
        document = load_text(text, "fuzz.yaml")
    except SpecError:
        return
    for item in check_document(document):
        assert str(item).startswith("fuzz.yaml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text(text):
    _check(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["modelctl", "name", "seed", "data", "model", "training", "export",
                                        "evaluation", "other"]), values, max_size=6))
def test_random_documents(document):
    _check(yaml.safe_dump(document))


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, path + (index,))


def _mutate(spec: dict, data, replacements, sections=None, deletions: bool = False) -> dict:
    """`spec` with one to three values (under `sections`, default anywhere) replaced by drawings from
    `replacements`, or, with `deletions`, some keys removed."""
    paths = [path for path in _paths(spec) if path and (sections is None or path[0] in sections)]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = spec
        try:
            for part in path[:-1]:
                parent = parent[part]
            if deletions and isinstance(parent, dict) and data.draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(replacements)
        except (KeyError, IndexError, TypeError):
            continue
    return spec


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_shipped_specs(data):
    _check(yaml.safe_dump(_mutate(yaml.safe_load(data.draw(st.sampled_from(SEED_TEXT))), data, values)))


DATA_SPECS = [path for path, text in zip(SPECS, SEED_TEXT) if "data" in (yaml.safe_load(text) or {})]
DEEP_EXAMPLES = int(os.environ.get("MODELCTL_FUZZ_DEEP_EXAMPLES", "15"))
"""Mutated specs run through `train --dry-run` per test run; raise it for a longer search."""

plausible = st.one_of(
    st.sampled_from([0, 1, 2, 3, 7, 64, -1, 0.0, 0.5, 1.0, 1.5, -0.5, 1e-8, True, False, None, [2, 2], [1], []]),
    st.sampled_from(["relu", "softmax", "same", "valid", "causal", "mean", "previous", "input", "int", "one_hot",
                     "multi_hot", "tf_idf", "horizontal", "constant", "avg", "max", "mirrored", "auto"]),
    st.integers(-3, 300), st.floats(-2, 2, allow_nan=False))


@pytest.mark.slow
@settings(max_examples=DEEP_EXAMPLES, deadline=None, derandomize="MODELCTL_FUZZ_DEEP_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_accepted_mutants_go_through_the_deep_path_without_a_traceback(data, tmp_path_factory):
    from typer.testing import CliRunner

    from modelctl.cli.app import app
    from modelctl.spec.validate import validate_file

    source = data.draw(st.sampled_from(DATA_SPECS))
    spec = _mutate(yaml.safe_load(source.read_text(encoding="utf-8")), data, plausible,
                   sections=("data", "model", "training"), deletions=True)
    folder = tmp_path_factory.mktemp("mutant")
    path = folder / source.name
    # The shipped specs read ../examples/ relative to specs/; the mutant is written elsewhere.
    spec_text = yaml.safe_dump(spec, sort_keys=False).replace("../examples/", f"{source.parent.parent}/examples/")
    path.write_text(spec_text, encoding="utf-8")
    assume(not validate_file(path).errors)
    result = CliRunner().invoke(app, ["train", str(path), "--dry-run", "--quiet", "--output", str(folder / "runs")])
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"{spec_text}\n{result.output}\n{''.join(traceback.format_exception(result.exception))}"
    assert result.exit_code in (0, 1, 2), f"{spec_text}\n{result.output}"
    if result.exit_code:
        # A dry run may say which prepared-data cache entry it read before the error.
        assert "Traceback" not in result.output, result.output
        assert any(line.startswith("error: ") for line in result.output.splitlines()), result.output

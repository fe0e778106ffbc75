"""Random and mutated documents: nothing escapes but modelctl's own errors."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_shipped_specs(data):
    spec = yaml.safe_load(data.draw(st.sampled_from(SEED_TEXT)))
    paths = [path for path in _paths(spec) if path]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = spec
        try:
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = data.draw(values)
        except (KeyError, IndexError, TypeError):
            continue
    _check(yaml.safe_dump(spec))

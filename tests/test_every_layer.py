"""Every layer in the registry validates and builds from a spec, through the same path users take."""

from __future__ import annotations

import pytest
import yaml

from modelctl.model.build import build_model
from modelctl.registry.layers import LAYERS
from modelctl.spec.validate import load_spec

pytest.importorskip("keras")


def _spec_for(entry) -> dict:
    example = entry.meta["example"]
    shapes = example.get("input_shapes") or [example["input_shape"]]
    inputs = {f"in_{index}": {"shape": list(shape), "dtype": example.get("dtype", "float32")}
              for index, shape in enumerate(shapes)}
    item = {entry.name: example.get("args") or None}
    if len(shapes) > 1:
        item["inputs"] = list(inputs)
    return {"modelctl": 1, "name": f"layer-{entry.name}", "seed": 0,
            "model": {"inputs": inputs, "layers": [item]}}


@pytest.mark.parametrize("entry", list(LAYERS), ids=lambda entry: entry.name)
def test_layer_builds_from_a_spec(entry, tmp_path):
    if "example" not in entry.meta:
        pytest.fail(f"layer '{entry.name}' has no example in its meta")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(_spec_for(entry), sort_keys=False))
    model = build_model(load_spec(path))
    assert model.layers[-1].name == f"{entry.name}_1"

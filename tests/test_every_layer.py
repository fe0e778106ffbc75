"""Every layer in the registry validates and builds from a spec, through the same path users take."""

from __future__ import annotations

import pytest
import yaml

from modelctl.model.build import build_model
from modelctl.registry.layers import LAYERS
from modelctl.spec.validate import load_spec


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


RELOAD = """
import json, sys
import numpy as np
import modelctl

folder = sys.argv[1]
results = {}
for name in json.loads(open(f"{folder}/names.json").read()):
    model = modelctl.load_model(f"{folder}/{name}.keras")
    saved = np.load(f"{folder}/{name}.npz")
    inputs = {key.removeprefix("in:"): saved[key] for key in saved.files if key.startswith("in:")}
    # A one-input model takes the array itself: Keras warns about (and may one day refuse) a dict in its place.
    outputs = model(inputs if len(inputs) > 1 else next(iter(inputs.values())), training=False)
    outputs = outputs if isinstance(outputs, dict) else {"output": outputs}
    results[name] = max(float(np.max(np.abs(np.asarray(value) - saved[f"out:{key}"])))
                        for key, value in outputs.items())
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def reloaded(tmp_path_factory):
    """Layer name -> largest output difference after saving a one-layer model and loading it in a new process."""
    import json
    import os
    import subprocess
    import sys

    import numpy as np

    folder = tmp_path_factory.mktemp("saved-layers")
    rng = np.random.default_rng(0)
    for entry in LAYERS:
        path = folder / f"{entry.name}.yaml"
        path.write_text(yaml.safe_dump(_spec_for(entry), sort_keys=False))
        model = build_model(load_spec(path))
        inputs = {}
        for tensor in model.inputs:
            shape = (3, *tensor.shape[1:])
            inputs[tensor.name] = (rng.integers(1, 6, size=shape) if "int" in str(tensor.dtype)
                                   else rng.normal(size=shape)).astype(str(tensor.dtype))
        outputs = model(inputs if len(inputs) > 1 else next(iter(inputs.values())), training=False)
        outputs = outputs if isinstance(outputs, dict) else {"output": outputs}
        np.savez(folder / f"{entry.name}.npz", **{f"in:{key}": value for key, value in inputs.items()},
                 **{f"out:{key}": np.asarray(value) for key, value in outputs.items()})
        model.save(folder / f"{entry.name}.keras")
    (folder / "names.json").write_text(json.dumps([entry.name for entry in LAYERS]))
    done = subprocess.run([sys.executable, "-c", RELOAD, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("entry", list(LAYERS), ids=lambda entry: entry.name)
def test_layer_reloads_in_a_new_process_with_the_same_outputs(entry, reloaded):
    assert reloaded[entry.name] <= 1e-6

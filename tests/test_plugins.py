"""Plug-in layers: found through the `modelctl.layers` entry-point group, checked, built, saved and reloaded.

Nothing is installed: each test writes a distribution's metadata (`NAME.dist-info/`) into a
temporary folder on `sys.path`, which is all `importlib.metadata` reads.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelctl.registry.base import Entry, Registry
from modelctl.registry.layers import LAYERS
from modelctl.registry.plugins import GROUP, PluginError, import_plugin_classes, load_plugins, plugin_names

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plugin"
EXAMPLE_SOURCE = "entry point 'scale' (modelctl_example_plugin.entries:ENTRIES) of distribution " \
                 "'modelctl-example-plugin'"


def write_distribution(site: Path, name: str, entry_points: dict[str, str], modules: dict[str, str] = {}) -> None:
    """Write the metadata of an installed distribution `name`, and any plain modules it brings."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    lines = [f"[{GROUP}]", *(f"{key} = {value}" for key, value in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for module, text in modules.items():
        (site / f"{module}.py").write_text(text, encoding="utf-8")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path for distributions, with the example plug-in installed in it."""
    folder = tmp_path / "site"
    folder.mkdir()
    write_distribution(folder, "modelctl-example-plugin", {"scale": "modelctl_example_plugin.entries:ENTRIES"})
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(folder))
    for module in [name for name in sys.modules if name.startswith(("clashing_", "broken_", "odd_"))]:
        monkeypatch.delitem(sys.modules, module)
    return folder


@pytest.fixture
def registry():
    """A copy of the layer registry, so that tests do not change the one models are built from."""
    return Registry("layer", list(LAYERS))


def test_finds_the_example_plugin(site, registry):
    added = load_plugins(registry)
    assert [entry.name for entry in added] == ["scale"]
    assert registry.get("scale").target == "modelctl_example_plugin.scale:Scale"
    assert plugin_names(registry) == {"scale": EXAMPLE_SOURCE}


def test_loading_twice_adds_nothing_more(site, registry):
    load_plugins(registry)
    assert load_plugins(registry) == []
    assert len(registry) == len(LAYERS) + 1


def test_a_name_clash_with_a_built_in_layer_names_the_plugin(site, registry):
    write_distribution(site, "acme-layers", {"dense": "clashing_layers:DENSE"}, {
        "clashing_layers": "from modelctl.registry.base import Entry\n"
                           "DENSE = Entry('dense', 'keras.layers:Dense', 'Another dense.')\n",
    })
    with pytest.raises(PluginError) as raised:
        load_plugins(registry)
    assert str(raised.value) == (
        "plug-in entry point 'dense' (clashing_layers:DENSE) of distribution 'acme-layers' adds the layer 'dense', "
        "but that name is already taken by a built-in layer of modelctl. Rename the plug-in's layer (a prefix of "
        "its own, such as 'acme_dense', keeps names apart) or uninstall one of them")
    assert registry.get("dense").description != "Another dense."


def test_a_name_clash_between_plugins_names_both(site, registry):
    write_distribution(site, "other-scale", {"scale": "clashing_scale:ENTRY"}, {
        "clashing_scale": "from modelctl.registry.base import Entry\n"
                          "ENTRY = Entry('scale', 'keras.layers:Identity', 'Another scale.')\n",
    })
    with pytest.raises(PluginError) as raised:
        load_plugins(registry)
    assert str(raised.value).startswith(
        "plug-in entry point 'scale' (clashing_scale:ENTRY) of distribution 'other-scale' adds the layer 'scale', "
        f"but that name is already taken by plug-in {EXAMPLE_SOURCE}.")


def test_a_plugin_that_fails_to_import_names_the_plugin(site, registry):
    write_distribution(site, "broken-plugin", {"broken": "broken_plugin:ENTRIES"},
                       {"broken_plugin": "import a_module_that_is_not_installed\n"})
    with pytest.raises(PluginError) as raised:
        load_plugins(registry)
    assert str(raised.value) == (
        "plug-in entry point 'broken' (broken_plugin:ENTRIES) of distribution 'broken-plugin' failed to load: "
        "ModuleNotFoundError: No module named 'a_module_that_is_not_installed'. Fix or uninstall the distribution")
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)


@pytest.mark.parametrize("value, received", [
    ("{'type': 'dense'}", "dict"),
    ("[]", "an empty list"),
    ("['dense']", "str"),
])
def test_a_plugin_must_name_entries(site, registry, value, received):
    write_distribution(site, "odd-plugin", {"odd": "odd_plugin:ENTRIES"}, {"odd_plugin": f"ENTRIES = {value}\n"})
    with pytest.raises(PluginError) as raised:
        load_plugins(registry)
    assert str(raised.value) == (
        "plug-in entry point 'odd' (odd_plugin:ENTRIES) of distribution 'odd-plugin' must name a "
        f"modelctl.registry.base.Entry or a non-empty list of them. Received: {received}")


@pytest.mark.parametrize("entry, message", [
    ("Entry('My-Layer', 'odd_module:Layer', 'A layer.')",
     " gives the layer name 'My-Layer'; a name is lower-case letters, digits and underscores, starting with a "
     "letter, such as 'my_scale'"),
    ("Entry('my_layer', 'odd_module.Layer', 'A layer.')",
     ": layer 'my_layer' has target 'odd_module.Layer'; a target is 'package.module:ClassName'"),
])
def test_a_malformed_entry_is_refused(site, registry, entry, message):
    write_distribution(site, "odd-plugin", {"odd": "odd_plugin:ENTRY"}, {
        "odd_plugin": f"from modelctl.registry.base import Entry\nENTRY = {entry}\n"})
    with pytest.raises(PluginError) as raised:
        load_plugins(registry)
    assert str(raised.value) == \
        f"plug-in entry point 'odd' (odd_plugin:ENTRY) of distribution 'odd-plugin'{message}"


def test_loading_plugins_does_not_import_tensorflow(site):
    code = ("import sys; from modelctl.registry.layers import LAYERS; "
            "from modelctl.registry.plugins import load_plugins; "
            "assert [e.name for e in load_plugins(LAYERS)] == ['scale']; "
            "loaded = [name for name in ('keras', 'tensorflow') if name in sys.modules]; "
            "assert not loaded, loaded")
    paths = [str(site), str(EXAMPLE), *sys.path]
    subprocess.run([sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}; {code}"], check=True)


def test_plugin_layer_builds_saves_and_reloads(site, registry, tmp_path):
    import keras
    import numpy as np

    from modelctl.registry.values import keras_arguments

    load_plugins(registry)
    entry = registry.get("scale")
    arguments = keras_arguments(entry, {"initial_value": 0.5, "use_offset": True}, 0, build_layer=lambda inner: None)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, entry.load()(name="scale_1", **arguments)(inputs))
    assert model.count_params() == 8
    batch = np.arange(8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(batch)), batch * 0.5)
    model.save(tmp_path / "model.keras")
    import_plugin_classes(registry)
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(reloaded.get_layer("scale_1")).__name__ == "Scale"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(batch)), batch * 0.5)


def test_example_entries_describe_their_arguments():
    sys.path.insert(0, str(EXAMPLE))
    try:
        from modelctl_example_plugin.entries import ENTRIES
    finally:
        sys.path.remove(str(EXAMPLE))
    (entry,) = ENTRIES
    assert isinstance(entry, Entry)
    assert entry.defaults() == {"initial_value": 1.0, "use_offset": False}
    assert all(schema["description"] for schema in entry.args.values())

"""Entries from other packages, found through an entry-point group per family.

A plug-in package declares, in its `pyproject.toml`,

    [project.entry-points."modelctl.layers"]
    scale = "modelctl_example_plugin.entries:ENTRIES"

    [project.entry-points."modelctl.exporters"]
    keras = "modelctl_keras_format:ENTRY"

where the object named is an `Entry` or a list of them. Entries are plain data: what
`Entry.target` names (a plug-in layer's Keras class, an export format's module) is
imported only when it is used, so finding plug-ins never imports TensorFlow. Each family
says what its targets look like with a `Group`. See docs/plugins.md.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import weakref

from modelctl.errors import ModelctlError
from modelctl.registry.base import Entry, Registry, import_target

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""What a plug-in name looks like: lower-case snake_case, as the built-in names."""

TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
"""A `package.module:attribute` target."""

MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
"""A `package.module` target."""


@dataclasses.dataclass(frozen=True)
class Group:
    """The entry-point group one family's plug-ins are declared in, and what their entries' targets look like.

    Args:
        name: the entry-point group, such as `modelctl.layers`.
        target: the pattern every `Entry.target` of the group must match.
        target_form: how a target is written, for messages: `'package.module:ClassName'`.
        example_name: a well-formed name of the family, for messages: `my_scale`.
    """

    name: str
    target: re.Pattern
    target_form: str
    example_name: str


LAYER_GROUP = Group("modelctl.layers", TARGET, "'package.module:ClassName'", "my_scale")
"""Plug-in layers: each target is the Keras layer class (or a function returning one)."""

GROUP = LAYER_GROUP.name
"""The entry-point group plug-in layers are declared in."""

_loaded: weakref.WeakKeyDictionary[Registry, dict[str, str]] = weakref.WeakKeyDictionary()
"""Per registry: the names each plug-in added -> the plug-in that added them."""


class PluginError(ModelctlError):
    """A plug-in that cannot be loaded or whose entries do not fit in the registry."""


def describe(entry_point: importlib.metadata.EntryPoint) -> str:
    """Name a plug-in in messages: `entry point 'scale' (pkg.entries:ENTRIES) of distribution 'pkg-dist'`."""
    return f"entry point '{entry_point.name}' ({entry_point.value}) of distribution '{_distribution(entry_point)}'"


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str:
    return entry_point.dist.name if entry_point.dist is not None else "(unknown)"


def load_plugins(registry: Registry, group: Group = LAYER_GROUP) -> list[Entry]:
    """Add the entries of every installed plug-in of `group` to `registry`.

    Loading twice is harmless: a plug-in already added to this registry is skipped.

    Args:
        registry: the registry to extend, such as `modelctl.registry.layers.LAYERS`.
        group: the entry-point group to read and what its targets look like. Default `LAYER_GROUP`
            (`modelctl.layers`); export formats use `modelctl.registry.exporters.GROUP` (`modelctl.exporters`).

    Returns:
        The entries added by this call, ordered by distribution and entry-point name.

    Raises:
        PluginError: a plug-in fails to import, names something that is not an `Entry` or a list of
            them, gives a malformed entry, or uses a name the registry already has. The message names
            the plug-in's distribution and entry point.
    """
    origins = _loaded.setdefault(registry, {})
    added: list[Entry] = []
    done = set(origins.values())
    for entry_point in sorted(importlib.metadata.entry_points(group=group.name), key=_order):
        source = describe(entry_point)
        if source in done:
            continue
        entries = _entries_of(entry_point, source, family=registry.family, group=group)
        _check_names(registry, entries, entry_point, origins=origins)
        for entry in entries:
            registry.register(entry)
            origins[entry.name] = source
            added.append(entry)
        done.add(source)
    return added


def plugin_names(registry: Registry) -> dict[str, str]:
    """Names that plug-ins added to `registry` -> the plug-in that added each."""
    return dict(_loaded.get(registry, {}))


def import_plugin_classes(registry: Registry) -> None:
    """Import the target of every plug-in entry in `registry`, such as a layer's Keras class (this may import
    TensorFlow).

    Keras reloads a saved `.keras` model only when the classes in it are registered, which
    happens when their modules are imported; call this before `keras.saving.load_model`.

    Raises:
        PluginError: a plug-in's target cannot be imported.
    """
    for name, source in plugin_names(registry).items():
        entry = registry.get(name)
        try:
            import_target(entry.target)
        except Exception as error:
            raise PluginError(f"plug-in {source}: {registry.family} '{name}' names target {entry.target!r}, which "
                              f"cannot be imported: {type(error).__name__}: {error}") from error


def _order(entry_point: importlib.metadata.EntryPoint) -> tuple[str, str]:
    """Load plug-ins in a fixed order, so that the first of two clashing ones is always the same."""
    return (_distribution(entry_point), entry_point.name)


def _entries_of(entry_point: importlib.metadata.EntryPoint, source: str, *, family: str,
                group: Group) -> list[Entry]:
    try:
        value = entry_point.load()
    except Exception as error:  # a plug-in can fail in any way; its traceback stays chained
        raise PluginError(f"plug-in {source} failed to load: {type(error).__name__}: {error}. Fix or uninstall "
                          f"the distribution") from error
    entries = [value] if isinstance(value, Entry) else value if isinstance(value, (list, tuple)) else None
    if entries is None or not entries or not all(isinstance(entry, Entry) for entry in entries):
        kinds = type(value).__name__ if entries is None else \
            ", ".join(sorted({type(entry).__name__ for entry in entries})) or "an empty list"
        raise PluginError(f"plug-in {source} must name a modelctl.registry.base.Entry or a non-empty list of "
                          f"them. Received: {kinds}")
    for entry in entries:
        if not isinstance(entry.name, str) or not NAME.match(entry.name):
            raise PluginError(f"plug-in {source} gives the {family} name {entry.name!r}; a name is lower-case "
                              f"letters, digits and underscores, starting with a letter, such as "
                              f"'{group.example_name}'")
        if not isinstance(entry.target, str) or not group.target.match(entry.target):
            raise PluginError(f"plug-in {source}: {family} '{entry.name}' has target {entry.target!r}; a target is "
                              f"{group.target_form}")
    return list(entries)


def _check_names(registry: Registry, entries: list[Entry], entry_point: importlib.metadata.EntryPoint,
                 *, origins: dict[str, str]) -> None:
    source = describe(entry_point)
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise PluginError(f"plug-in {source} gives the {registry.family} name '{entry.name}' twice")
        seen.add(entry.name)
        if entry.name in registry:
            owner = origins.get(entry.name)
            holder = f"plug-in {owner}" if owner else f"a built-in {registry.family} of modelctl"
            raise PluginError(f"plug-in {source} adds the {registry.family} '{entry.name}', but that name is "
                              f"already taken by {holder}. Rename the plug-in's {registry.family} (a prefix of its "
                              f"own, such as 'acme_{entry.name}', keeps names apart) or uninstall one of them")

"""The registry shared by every family: layers, optimizers, schedules, losses, metrics, callbacks, exporters.

An `Entry` is plain data: its name in a spec, what builds it (an import path
such as `keras.layers:Dense`, loaded only when a model is built), and the JSON
Schema of each argument. Importing a registry never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Iterable, Mapping

from modelctl.errors import ModelctlError, did_you_mean, one_of
from modelctl.registry.args import is_required


@dataclasses.dataclass(frozen=True)
class Entry:
    """One buildable thing a spec can name.

    Args:
        name: the name a spec uses (`dense`, `adam`, `cosine_decay`).
        target: `module:attribute` of the class or function that builds it.
        description: one sentence shown in the schema and the docs.
        args: argument name -> JSON Schema fragment (see `modelctl.registry.args`).
        shorthand: the argument that a plain scalar fills (`dropout: 0.2` means `rate: 0.2`), or None.
        meta: facts a family needs beyond arguments (for example the label types a loss fits).
    """

    name: str
    target: str
    description: str
    args: Mapping[str, dict] = dataclasses.field(default_factory=dict)
    shorthand: str | None = None
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, schema in self.args.items() if is_required(schema))

    def takes(self, value: Any) -> bool:
        """Whether `value`, written under the entry's key, gives arguments: a mapping, null, or a scalar for an
        entry with a shorthand."""
        return value is None or isinstance(value, Mapping) or self.shorthand is not None

    def arguments(self, value: Any) -> dict:
        """The arguments `value` gives when written under the entry's key: a mapping as written, none for null,
        and a scalar fills the shorthand argument (`dropout: 0.2` is `{rate: 0.2}`).

        Raises:
            ValueError: `value` is a scalar and the entry has no shorthand (see `takes`).
        """
        if not self.takes(value):
            raise ValueError(f"Invalid value for {self.name}: it has no shorthand argument, so it takes a mapping "
                             f"or null. Received: {value!r}")
        if value is None:
            return {}
        return dict(value) if isinstance(value, Mapping) else {self.shorthand: value}

    def defaults(self) -> dict:
        return {name: schema["default"] for name, schema in self.args.items() if "default" in schema}

    def load(self) -> Any:
        """Import and return the target (this may import TensorFlow)."""
        return import_target(self.target)


class UnknownNameError(ModelctlError):
    """A name that no registry entry has."""


class Registry:
    """Entries of one family, by name.

    Args:
        family: the singular noun used in messages (`layer`, `optimizer`).
        entries: the entries; names must be unique.
    """

    def __init__(self, family: str, entries: Iterable[Entry] = ()):
        self.family = family
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: Entry) -> None:
        if entry.name in self._entries:
            raise ValueError(f"{self.family} '{entry.name}' is registered twice")
        self._entries[entry.name] = entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, identifier: str | Mapping | Entry) -> Entry:
        """Return the entry for a name, a config mapping with a `type` key, or an entry.

        Raises:
            UnknownNameError: no entry has that name; the message lists the known ones
                and suggests the closest.
        """
        if isinstance(identifier, Entry):
            return identifier
        name = identifier.get("type") if isinstance(identifier, Mapping) else identifier
        if name not in self._entries:
            raise UnknownNameError(self.unknown_message(name))
        return self._entries[name]

    def unknown_message(self, name: object) -> str:
        return (f"{name!r} is not a known {self.family}. Expected one of {one_of(self.names())}."
                f"{did_you_mean(name, self.names())}")


def import_target(target: str) -> Any:
    """Import `package.module:attribute` (the attribute may be dotted)."""
    module_name, _, attribute = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        value = getattr(value, part)
    return value

"""Read a YAML spec into plain Python objects, keeping where each value was written.

Only safe YAML is read: no Python tags, no timestamps (dates stay strings), no
duplicate keys. Every value and every mapping key keeps its line and column so
that any later error can point at it.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from modelctl.errors import Diagnostic, Location, SpecError, UsageError, json_path

MAX_BYTES = 5 * 1024 * 1024
"""Largest spec file read, in bytes. A spec is a page of YAML, not a data set."""

MAX_NODES = 100_000
"""Most values a document may expand to once aliases are followed (stops alias bombs)."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted."""

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
"""A YAML line break."""

_KEY_LINE = re.compile(r"""( *)((?:- +)*)('[^']*'|"[^"]*"|[^\s#'"?:,\[\]{}&*!|>%@`-][^:#]*?) *(:)(?: |$)""")
"""A line that starts with a mapping key, maybe after list dashes: indent, dashes, key, colon."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe loader (libyaml's when present, for speed) that leaves dates as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

Path_ = tuple  # a path into the document: ("model", "layers", 2, "units")


@dataclasses.dataclass
class Document:
    """A spec read from YAML.

    Attributes:
        source: the name used in messages (the path as the user wrote it).
        data: the document as plain dicts, lists and scalars.
        values: location of each value, by path.
        keys: location of each mapping key, by the path of its value.
        base: folder relative paths are read from when it is not the file's own (a run's copy of a spec);
            None for the file's folder.
        files: the files the document was merged from, bases first (`modelctl.spec.extends`); [source] for a
            file without `extends`.
    """

    source: str
    data: Any
    values: dict = dataclasses.field(default_factory=dict)
    keys: dict = dataclasses.field(default_factory=dict)
    base: Path | None = None
    files: list = dataclasses.field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the spec are resolved against."""
        return Path(self.base) if self.base is not None else Path(self.source).resolve().parent

    @property
    def spec(self):
        """The document as a typed, frozen `modelctl.spec.typed.Spec`, every default filled in from the schema.

        Read it once the document is valid. It is built from `data` on each access (under a millisecond), so it
        follows overrides applied to `data`; changing it changes nothing else.
        """
        from modelctl.spec.typed import typed

        return typed(self.data)

    def locate(self, path: Path_, key: bool = False) -> Location:
        """Location of the value (or its key) at `path`, else of its nearest written ancestor."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Location(self.source, 1, 1))

    def diagnostic(self, path: Path_, message: str, severity: str = "error", *, key: bool = False) -> Diagnostic:
        return Diagnostic(self.locate(path, key=key), json_path(path), message, severity)


def load_file(path: str | Path) -> Document:
    """Read the spec at `path`.

    Raises:
        UsageError: the file does not exist or cannot be read.
        SpecError: the file is not a readable YAML mapping.
    """
    source = str(path)
    file = Path(path)
    if not file.exists():
        raise UsageError(f"{source}: no such file")
    if file.is_dir():
        raise UsageError(f"{source}: is a directory, not a spec file")
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise _single(source, 1, 1,
                          message=f"the file is {size:,} bytes; a spec may be at most {MAX_BYTES:,} bytes")
        raw = file.read_bytes()
    except OSError as error:
        raise UsageError(f"{source}: cannot be read: {error.strerror}") from None
    return load_bytes(raw, source)


def load_bytes(raw: bytes, source: str) -> Document:
    """Decode `raw` as UTF-8 and read it as a spec document."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise _single(
            source, line, column, message=f"byte 0x{raw[error.start]:02x} is not UTF-8; save the spec as UTF-8 text"
        ) from None
    return load_text(text, source)


def load_text(text: str, source: str, expect_mapping: bool = True) -> Document:
    """Read YAML `text` as a document named `source`.

    Args:
        text: the YAML.
        source: name used in messages.
        expect_mapping: when True (the default) the document must be a mapping.
    """
    if len(text) > MAX_BYTES:
        raise _single(source, 1, 1,
                      message=f"the text is {len(text):,} characters; a spec may be at most {MAX_BYTES:,}")
    try:
        loader = _Loader(text)
    except UnicodeEncodeError as error:  # a lone surrogate, such as an undecodable byte in a command-line value
        raise _not_allowed(source, text, text[error.start]) from None
    except yaml.reader.ReaderError as error:  # the pure-Python reader checks every character up front
        raise _not_allowed(source, text, chr(error.character)) from None
    try:
        node = loader.get_single_node()
    except yaml.reader.ReaderError as error:  # libyaml checks characters as it reads
        raise _not_allowed(source, text, chr(error.character)) from None
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(source, text, error) from None
    except yaml.YAMLError as error:
        raise _single(source, 1, 1, message=f"YAML syntax: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise _single(source, 1, 1,
                      message=f"the document is nested too deeply (more than {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()
    if node is None:
        raise _single(source, 1, 1, message="the file is empty; a spec starts with `modelctl: 1`")
    document = Document(source, None)
    builder = _Builder(document, loader)
    document.data = builder.build(node, ())
    if expect_mapping and not isinstance(document.data, dict):
        kind = _kind(document.data)
        raise _single(source, node.start_mark.line + 1, node.start_mark.column + 1,
                      message=f"a spec is a mapping (keys such as modelctl, name, model); got {kind}")
    return document


class _Builder:
    """Turns composed YAML nodes into plain objects, recording positions."""

    def __init__(self, document: Document, loader: _Loader):
        self.document = document
        self.loader = loader
        self.count = 0
        self.stack: set[int] = set()

    def _location(self, node: yaml.Node) -> Location:
        return Location(self.document.source, node.start_mark.line + 1, node.start_mark.column + 1)

    def _fail(self, node: yaml.Node, path: Path_, message: str) -> SpecError:
        return SpecError([Diagnostic(self._location(node), json_path(path), message)])

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(node, path, f"the document expands to more than {MAX_NODES:,} values "
                                         "(aliases referring to aliases?); write it out plainly")
        if len(path) > MAX_DEPTH:
            raise self._fail(node, path, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.stack:
            raise self._fail(node, path, "an alias refers to a value that contains it; recursive YAML is not allowed")
        self.document.values.setdefault(path, self._location(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self.stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    raise self._fail(node, path, f"the tag {node.tag} is not allowed; a spec uses plain YAML")
                return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]
            if node.tag != _MAP:
                raise self._fail(node, path, f"the tag {node.tag} is not allowed; a spec uses plain YAML")
            return self._mapping(node, path)
        finally:
            self.stack.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag not in _PLAIN_TAGS:
            raise self._fail(node, path, f"the tag {node.tag} is not allowed; a spec uses plain YAML "
                                         "(strings, numbers, booleans, null, lists and mappings)")
        try:
            return self.loader.construct_object(node)
        except yaml.YAMLError as error:
            raise self._fail(node, path, f"cannot read value {node.value!r}: {error}") from None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        result: dict = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                raise self._fail(key_node, path, "mapping keys must be plain names")
            key = self.loader.construct_object(key_node)
            if not isinstance(key, str):
                raise self._fail(key_node, path + (str(key),),
                                 f"mapping keys must be names; got {_kind(key)} {key!r} (quote it to make it a name)")
            if key in result:
                first = self.document.keys[path + (key,)]
                raise self._fail(key_node, path + (key,),
                                 f"duplicate key '{key}' (first written at line {first.line}); "
                                 "YAML would silently keep only the last one")
            self.document.keys[path + (key,)] = self._location(key_node)
            result[key] = self.build(value_node, path + (key,))
        # Merged keys come after the written ones so that written keys keep their positions.
        for value_node in merges:
            for key, value in self._merge(value_node, path).items():
                result.setdefault(key, value)
        return result

    def _merge(self, node: yaml.Node, path: Path_) -> dict:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict = {}
        for source in sources:
            value = self.build(source, path)
            if not isinstance(value, dict):
                raise self._fail(source, path, f"`<<` merges mappings only; got {_kind(value)}")
            for key, item in value.items():
                merged.setdefault(key, item)
        return merged


def _single(source: str, line: int, column: int, *, message: str) -> SpecError:
    return SpecError([Diagnostic(Location(source, line, column), "$", message)])


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of `text[index]`, counting line breaks the way YAML does."""
    breaks = list(_BREAK.finditer(text, 0, index))
    start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, index - start + 1


def _not_allowed(source: str, text: str, character: str) -> SpecError:
    """The error for a character YAML does not allow, at its first occurrence (where reading stopped)."""
    line, column = _position(text, text.index(character))
    return _single(source, line, column, message=f"character U+{ord(character):04X} is not allowed in YAML; "
                                         "remove it or write it as an escape inside a double-quoted string")


def _syntax_error(source: str, text: str, error: yaml.MarkedYAMLError) -> SpecError:
    """One-line error for a YAML syntax problem, naming tabs and misaligned keys plainly."""
    mark = error.problem_mark or error.context_mark
    lines = _BREAK.split(text)
    line = lines[mark.line] if mark.line < len(lines) else ""
    if line[mark.column:mark.column + 1] == "\t":
        return _single(source, mark.line + 1, mark.column + 1, message="tabs cannot indent YAML; use spaces")
    if "expected a single document" in str(error.context or ""):
        return _single(source, mark.line + 1, mark.column + 1,
                       message="YAML syntax: the file holds several YAML documents; a spec is one document")
    misaligned = _misaligned_key(lines, mark.line, mark.column)
    if misaligned:
        return _single(source, mark.line + 1, misaligned[0] + 1, message=misaligned[1])
    problem = error.problem or error.context or "not valid YAML"
    return _single(source, mark.line + 1, mark.column + 1, message=f"YAML syntax: {problem}")


def _misaligned_key(lines: list[str], number: int, column: int) -> tuple[int, str] | None:
    """(column, message) when line `number` is a key that lines up with no mapping above it, else None.

    The parser only says "did not find expected key" (or "mapping values are not allowed")
    at such a line; the message names the key and the indents it could have.
    """
    match = _KEY_LINE.match(lines[number]) if number < len(lines) else None
    if not match or match.group(2) or column not in (match.start(3), match.start(4)):
        return None
    indent = len(match.group(1))
    candidates = []  # (indent, key, line) of the keys of each enclosing mapping, innermost first
    limit = len(lines[number]) + 1
    for above in range(number - 1, -1, -1):
        text = lines[above]
        stripped = text.lstrip(" ")
        if not stripped or stripped.startswith("#") or len(text) - len(stripped) >= limit:
            continue
        key = _KEY_LINE.match(text)
        if key and key.start(3) < limit:
            candidates.append((key.start(3), _unquote(key.group(3)), above + 1))
        limit = len(text) - len(stripped)
        if limit == 0:
            break
    if not candidates or any(spaces == indent for spaces, _, _ in candidates):
        return None
    deeper = [item for item in candidates if item[0] > indent]
    shallower = [item for item in candidates if item[0] < indent]
    choices = ([min(deeper)] if deeper else []) + ([max(shallower)] if shallower else [])
    expected = " or ".join(f"{_spaces(spaces)} like '{key}' (line {line})" for spaces, key, line in choices)
    return indent, (f"the key '{_unquote(match.group(3))}' is indented {_spaces(indent)}, which lines up with "
                    f"no key above it; indent it {expected}")


def _spaces(count: int) -> str:
    return f"{count} space" if count == 1 else f"{count} spaces"


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "'\"" and len(key) > 1 else key


def _kind(value: Any) -> str:
    """Name a value's type the way a YAML author thinks of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


kind_of = _kind

"""Metadata inside a `.tflite` flat buffer, and facts read from one.

The metadata is a `Metadata` entry of the TFLite schema named `modelctl`,
pointing at a buffer that holds UTF-8 JSON. Any flat buffer reader finds it;
interpreters ignore it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from modelctl.export.errors import ExportError
from modelctl.export.signature import to_json

METADATA_NAME = "modelctl"


def add_metadata(content: bytes, metadata: dict) -> bytes:
    """Return the flat buffer `content` with a `modelctl` metadata entry holding `metadata` as JSON.

    An existing `modelctl` entry is replaced.
    """
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(to_json(metadata).encode("utf-8"), dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [item for item in (model.metadata or []) if _name(item.name) != METADATA_NAME] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _name(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _model(content: bytes):
    from ai_edge_litert import schema_py_generated as schema

    return schema.Model.GetRootAs(content, 0)


def read_metadata(path: str | Path) -> dict:
    """The `modelctl` metadata of a `.tflite` file.

    Raises:
        ExportError: the file has no such entry.
    """
    content = Path(path).read_bytes()
    model = _model(content)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if _name(entry.Name()) == METADATA_NAME:
            buffer = model.Buffers(entry.Buffer())
            if buffer.Offset():  # large models keep buffers after the flat buffer
                data = content[buffer.Offset():buffer.Offset() + buffer.Size()]
            else:
                data = buffer.DataAsNumpy().tobytes()
            return json.loads(data.decode("utf-8"))
    raise ExportError(f"{path}: no '{METADATA_NAME}' metadata in this TFLite file")


def flex_ops(content: bytes) -> list[str]:
    """Sorted names of the Select TF (Flex) ops the model uses."""
    model = _model(content)
    names = set()
    for index in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(index).CustomCode()
        if code and _name(code).startswith("Flex"):
            names.add(_name(code))
    return sorted(names)

"""Export formats: the names `export.formats` can list, and the options each takes under its own key.

    export:
      formats: [saved_model, tflite]
      tflite: {quantize: float16}

Each entry's target is the format's module, which holds everything about the
format: `artifact_name(options)`, `recognizes(path)`, `export(model, path,
options, *, context)`, `read_metadata(path)` and `load(artifact)` (see
`modelctl.export.formats`). Adding a format is that module plus one entry here,
or, from another package, one entry point in the `modelctl.exporters` group
(see docs/plugins.md). Entry meta, all optional:

    artifact: what the artifact is on disk, for messages ("a .tflite file").
    needs_data: option -> value -> why that value needs the spec's data section
        (it draws examples from the training split); `modelctl validate` checks it.

Options named `quantize` are also set by `modelctl export --quantize`, and
`representative_examples` says how many training examples the export draws.
"""

from __future__ import annotations

import functools

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry
from modelctl.registry.plugins import MODULE, Group, load_plugins

GROUP = Group("modelctl.exporters", MODULE, "'package.module', the format's module", "my_format")
"""The entry-point group plug-in export formats are declared in; each target is the format's module."""


def _tflite_args() -> dict:
    return {
        "quantize": args.choice(["none", "dynamic", "float16", "int8"],
                                "Quantization: none (float32), dynamic (int8 weights, float activations), "
                                "float16 (float16 weights) or int8 (weights and activations, calibrated on "
                                "representative examples from the training split).", "none"),
        "select_tf_ops": args.boolean("Whether to allow TensorFlow ops that TFLite lacks (the app then needs the "
                                      "Select TF ops runtime).", False),
        "representative_examples": args.integer("Training examples used to calibrate int8 quantization.", 100,
                                                minimum=1),
    }


EXPORTERS = Registry("export format", [
    Entry("saved_model", "modelctl.export.saved_model",
          "TensorFlow SavedModel with a serving signature, for TF Serving and TensorFlow tools.",
          meta={"artifact": "a SavedModel folder"}),
    Entry("tflite", "modelctl.export.tflite", "TensorFlow Lite flat buffer, for mobile and embedded devices.",
          _tflite_args(),
          meta={"artifact": "a .tflite file",
                "needs_data": {"quantize": {"int8": "int8 quantization draws representative examples from the "
                                                    "training split"}}}),
    Entry("onnx", "modelctl.export.onnx", "ONNX model, for ONNX Runtime and other ONNX tools.",
          {"opset": args.integer("ONNX opset version.", 17, minimum=14, maximum=18)},
          meta={"artifact": "a .onnx file"}),
])
"""The built-in export formats; `exporters()` adds those of installed plug-ins."""


@functools.cache
def exporters() -> Registry:
    """`EXPORTERS` with the formats of every installed plug-in added (looked up once per process).

    Raises:
        PluginError: a plug-in cannot be loaded or clashes with a known format (see `load_plugins`).
    """
    load_plugins(EXPORTERS, GROUP)
    return EXPORTERS

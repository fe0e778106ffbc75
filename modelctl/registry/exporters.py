"""Export formats: the names `export.formats` can list, and the options each takes under its own key.

    export:
      formats: [saved_model, tflite]
      tflite: {quantize: float16}

Each target is a module of `modelctl.export`, one per format, with an `export`
function; `modelctl.export.export_formats` writes and verifies them.
"""

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry


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
    Entry("saved_model", "modelctl.export.saved_model:export",
          "TensorFlow SavedModel with a serving signature, for TF Serving and TensorFlow tools."),
    Entry("tflite", "modelctl.export.tflite:export", "TensorFlow Lite flat buffer, for mobile and embedded "
                                                     "devices.", _tflite_args()),
    Entry("onnx", "modelctl.export.onnx:export", "ONNX model, for ONNX Runtime and other ONNX tools.",
          {"opset": args.integer("ONNX opset version.", 17, minimum=14, maximum=18)}),
])

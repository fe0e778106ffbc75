"""A learned per-feature scale (and optional offset)."""

import keras


@keras.saving.register_keras_serializable(package="modelctl_example_plugin")
class Scale(keras.layers.Layer):
    """Multiplies each feature on the last axis by a learned scale: `y = x * scale (+ offset)`.

    Args:
        initial_value: value every scale starts from, a number. Default 1.0.
        use_offset: whether to add a learned offset per feature, starting at 0. Default False.
        **kwargs: base layer arguments (`name`, `trainable`, `dtype`).
    """

    def __init__(self, initial_value=1.0, use_offset=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(initial_value, bool) or not isinstance(initial_value, (int, float)):
            raise ValueError("Invalid value for argument `initial_value` of Scale. Expected a number. "
                             f"Received: initial_value={initial_value!r}")
        if not isinstance(use_offset, bool):
            raise ValueError("Invalid value for argument `use_offset` of Scale. Expected true or false. "
                             f"Received: use_offset={use_offset!r}")
        self.initial_value = float(initial_value)
        self.use_offset = use_offset
        self.supports_masking = True
        self.offset = None

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"Scale needs a known last axis. Received: input_shape={tuple(input_shape)}")
        self.scale = self.add_weight(shape=(features,), initializer=keras.initializers.Constant(self.initial_value),
                                     name="scale")
        if self.use_offset:
            self.offset = self.add_weight(shape=(features,), initializer="zeros", name="offset")

    def call(self, inputs):
        outputs = inputs * self.scale
        if self.offset is not None:
            outputs = outputs + self.offset
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "initial_value": self.initial_value, "use_offset": self.use_offset}

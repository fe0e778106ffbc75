"""modelctl: declarative YAML specs for TensorFlow models."""

__version__ = "0.1.0"

"""The version of modelctl, importable from every layer (the `modelctl` package itself sits above them all)."""

__version__ = "0.1.0"

"""An example modelctl plug-in: the `scale` layer.

`entries` holds the registry entries (plain data, no Keras import); `scale` holds the
Keras layer, imported only when a model is built or loaded.
"""

"""modelctl: declarative YAML specs for TensorFlow models.

    import modelctl

    model = modelctl.load_model("runs/iris")    # the newest completed run's model, ready to predict
"""

from modelctl.version import __version__

__all__ = ["__version__", "load_model"]


def load_model(path, compile: bool = False):
    """Load a model saved by modelctl: a `.keras` file, a run folder, or a spec's runs folder (its newest completed
    run).

    See `modelctl.model.saving.load_model`. Importing `modelctl` alone does not import TensorFlow; this does.
    """
    from modelctl.model.saving import load_model as load

    return load(path, compile=compile)

"""Image backbones from `keras.applications`, pretrained or not, frozen or partly fine-tuned.

    features = backbone("mobilenet_v2", weights="imagenet", pooling="avg", input_shape=(96, 96, 3))(images)

Pretrained ("imagenet") weights come from the Keras download cache, `~/.keras/models`
(or `$KERAS_HOME/models`); when the file is not there it has to be downloaded. Before
asking Keras to download, the download server is probed with a short connection
timeout, so a machine without internet access gets an immediate error that says how
to pass a local weights file instead of a long hang.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import urllib.parse
import urllib.request

from modelctl.errors import ModelctlError

DOWNLOAD_HOST = "storage.googleapis.com"
"""Where `keras.applications` downloads pretrained weights from (over HTTPS)."""

CONNECT_TIMEOUT_S = 3.0
"""How long the reachability probe of the download server waits."""

MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)
"""Square input sizes with their own MobileNetV2 weights; other sizes load the 224 ones."""


class BackboneError(ModelctlError, ValueError):
    """A backbone that cannot be made: weights that cannot be had, or arguments that do not fit.

    It is a `ValueError` as well, so the model builder reports it at the spec line of the layer.
    """


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One `keras.applications` network.

    Args:
        constructor: the `keras.applications` function.
        weights_stem: file name of its ImageNet weights in the Keras cache, without the suffix.
        no_top: what the weights file name adds when the classifier is left out.
    """

    constructor: str
    weights_stem: str
    no_top: str = "_notop"

    def weights_file(self, include_top: bool, input_shape: tuple | None) -> str:
        stem = self.weights_stem
        if "{rows}" in stem:
            rows = input_shape[0] if input_shape else None
            square = input_shape is not None and input_shape[0] == input_shape[1]
            stem = stem.format(rows=rows if square and rows in MOBILENET_V2_SIZES else 224)
        return stem + ("" if include_top else self.no_top) + ".h5"


ARCHITECTURES: dict[str, Architecture] = {
    "mobilenet_v2": Architecture("MobileNetV2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}",
                                 no_top="_no_top"),
    "mobilenet_v3_small": Architecture("MobileNetV3Small", "weights_mobilenet_v3_small_224_1.0_float",
                                       no_top="_no_top_v2"),
    "mobilenet_v3_large": Architecture("MobileNetV3Large", "weights_mobilenet_v3_large_224_1.0_float",
                                       no_top="_no_top_v2"),
    "resnet50": Architecture("ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels"),
    "resnet101": Architecture("ResNet101", "resnet101_weights_tf_dim_ordering_tf_kernels"),
    **{f"efficientnet_b{index}": Architecture(f"EfficientNetB{index}", f"efficientnetb{index}")
       for index in range(8)},
    "vgg16": Architecture("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels"),
    "vgg19": Architecture("VGG19", "vgg19_weights_tf_dim_ordering_tf_kernels"),
    "xception": Architecture("Xception", "xception_weights_tf_dim_ordering_tf_kernels"),
    "inception_v3": Architecture("InceptionV3", "inception_v3_weights_tf_dim_ordering_tf_kernels"),
    "densenet121": Architecture("DenseNet121", "densenet121_weights_tf_dim_ordering_tf_kernels"),
    "densenet169": Architecture("DenseNet169", "densenet169_weights_tf_dim_ordering_tf_kernels"),
    "densenet201": Architecture("DenseNet201", "densenet201_weights_tf_dim_ordering_tf_kernels"),
    "convnext_tiny": Architecture("ConvNeXtTiny", "convnext_tiny"),
    "convnext_small": Architecture("ConvNeXtSmall", "convnext_small"),
}
"""Architecture names a spec may use, in the order the docs list them."""

POOLINGS = (None, "avg", "max")


def backbone(architecture, weights="imagenet", include_top=False, *, pooling=None, trainable=False,
             fine_tune_last=0, input_shape=None, name=None, dtype=None):
    """Make a `keras.applications` network, to be called on images like a layer.

    Args:
        architecture: one of the names in `ARCHITECTURES` (`mobilenet_v2`, `resnet50`, `efficientnet_b0`
            ... `efficientnet_b7`, `convnext_tiny` ...). Required.
        weights: None for random initial weights, "imagenet" for weights pretrained on ImageNet
            (from the Keras cache, downloaded when missing), or the path of a local `.h5` or
            `.weights.h5` file saved from the same architecture. Default "imagenet".
        include_top: whether to keep the 1000-class ImageNet classifier; it then needs the
            architecture's own input size (224x224 for most). Default False.
        pooling: None (the default) for the last feature map (batch, h, w, channels), "avg" or "max"
            for a global pooling to (batch, channels); only without the classifier (`include_top=False`).
        trainable: whether every weight of the backbone is trained. Default False (frozen: a
            feature extractor).
        fine_tune_last: with `trainable=False`, how many of the backbone's last layers to unfreeze,
            an integer >= 0; batch normalization layers among them stay frozen, as Keras's
            transfer-learning guide recommends. Default 0.
        input_shape: the image shape without the batch dimension, (height, width, channels); the
            model builder passes its input's. None (the default) for any height and width with 3
            channels.
        name: the model's name (the spec item's name). None keeps the Keras name.
        dtype: a dtype or mixed-precision policy name for the backbone's layers; None (the default)
            follows the global policy.

    Raises:
        BackboneError: an argument out of range, a weights file that does not exist, or ImageNet
            weights that are not in the cache while the download server is unreachable.
    """
    spec = ARCHITECTURES.get(architecture)
    if spec is None:
        raise BackboneError(f"Invalid value for argument `architecture` of backbone. Expected one of "
                            f"{sorted(ARCHITECTURES)}. Received: architecture={architecture!r}")
    for argument, value in (("include_top", include_top), ("trainable", trainable)):
        if not isinstance(value, bool):
            raise BackboneError(f"Invalid value for argument `{argument}` of backbone. Expected true or false. "
                                f"Received: {argument}={value!r}")
    if pooling not in POOLINGS:
        raise BackboneError(f"Invalid value for argument `pooling` of backbone. Expected one of "
                            f"{list(POOLINGS)}. Received: pooling={pooling!r}")
    if include_top and pooling is not None:
        raise BackboneError(f"Argument `pooling` of backbone pools the last feature map, which `include_top: true` "
                            f"replaces with the ImageNet classifier. Received: include_top=True, "
                            f"pooling={pooling!r}; set pooling to null or include_top to false")
    if isinstance(fine_tune_last, bool) or not isinstance(fine_tune_last, int) or fine_tune_last < 0:
        raise BackboneError(f"Invalid value for argument `fine_tune_last` of backbone. Expected an integer >= 0. "
                            f"Received: fine_tune_last={fine_tune_last!r}")
    if trainable and fine_tune_last:
        raise BackboneError(f"Argument `fine_tune_last` of backbone unfreezes layers of a frozen backbone, but "
                            f"`trainable: true` already trains every layer. Received: trainable=True, "
                            f"fine_tune_last={fine_tune_last}; set trainable to false or fine_tune_last to 0")
    input_shape = _image_shape(input_shape)
    weights = _resolve_weights(weights, architecture, spec, include_top=include_top, input_shape=input_shape)

    import keras

    constructor = getattr(keras.applications, spec.constructor)
    # A local file is loaded here rather than by the constructor, so that its errors name the file.
    local_file = None if weights in (None, "imagenet") else weights
    previous_policy = keras.config.dtype_policy()
    if dtype is not None:
        keras.config.set_dtype_policy(dtype)
    try:
        # The Keras name is kept while building: EfficientNet and ConvNeXt derive the weights file from it.
        model = constructor(include_top=include_top, weights=None if local_file else weights,
                            input_shape=input_shape, pooling=pooling)
    except Exception as error:
        if "URL fetch failure" not in str(error):
            raise
        raise BackboneError(f"backbone '{architecture}': downloading its ImageNet weights failed ({error}); "
                            "pass a local file with `weights: path/to/file.h5`") from None
    finally:
        keras.config.set_dtype_policy(previous_policy)
    if local_file:
        _load_local_weights(model, local_file, architecture, include_top=include_top)
    if name is not None:
        model.name = name
    _freeze(model, trainable, fine_tune_last)
    return model


def _load_local_weights(model, path: str, architecture: str, *, include_top: bool) -> None:
    try:
        model.load_weights(path)
    except (ValueError, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BackboneError(f"backbone weights file {path} cannot be loaded into '{architecture}' "
                            f"(include_top={include_top}): {reason}. Expected weights saved from the same "
                            f"architecture and include_top") from error


def _image_shape(input_shape) -> tuple | None:
    if input_shape is None:
        return None
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise BackboneError(f"backbone expects images (height, width, channels) without the batch dimension. "
                            f"Received: input_shape={input_shape}; add reshape before it to make images")
    return input_shape


def _resolve_weights(weights, architecture: str, spec: Architecture, *, include_top: bool,
                     input_shape: tuple | None):
    """Return what the Keras constructor takes as `weights`, or raise when it cannot be had."""
    if weights is None:
        return None
    if weights == "imagenet":
        _check_imagenet_available(architecture, spec.weights_file(include_top, input_shape))
        return weights
    if not isinstance(weights, str) or not weights.endswith(".h5"):
        raise BackboneError(f"Invalid value for argument `weights` of backbone. Expected null, 'imagenet' or the "
                            f"path of a .h5 or .weights.h5 file. Received: weights={weights!r}")
    path = os.path.abspath(os.path.expanduser(weights))
    if not os.path.isfile(path):
        raise BackboneError(f"backbone weights file {weights!r} does not exist (looked for {path}). "
                            "Expected null, 'imagenet' or the path of an existing .h5 or .weights.h5 file")
    return path


def cache_dirs() -> list[str]:
    """Folders Keras looks in for downloaded weights: `$KERAS_HOME/models` or `~/.keras/models`, else /tmp."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return [os.path.join(home, "models"), os.path.join("/tmp", ".keras", "models")]


def _check_imagenet_available(architecture: str, file_name: str) -> None:
    """Fail at once when the weights are not cached and the download server cannot be reached."""
    if any(os.path.isfile(os.path.join(folder, file_name)) for folder in cache_dirs()):
        return
    host, port = _download_endpoint()
    reason = unreachable(host, port, CONNECT_TIMEOUT_S)
    if reason is None:
        return
    raise BackboneError(
        f"backbone '{architecture}' with `weights: imagenet` needs {file_name} downloaded from the internet "
        f"({DOWNLOAD_HOST}), which is not reachable from this machine ({host}:{port}: {reason}), and it is not in "
        f"the Keras cache {cache_dirs()[0]}. Pass a local file instead: `weights: path/to/file.h5` (the same "
        f"file copied from a machine with internet access, or weights saved from this architecture), copy the "
        f"file into {cache_dirs()[0]}, or use `weights: null` for random initial weights")


def _download_endpoint() -> tuple[str, int]:
    """The host and port a download connects to first: the HTTPS proxy when one is set."""
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(DOWNLOAD_HOST):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parsed.hostname:
            return parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    return DOWNLOAD_HOST, 443


def unreachable(host: str, port: int, timeout: float) -> str | None:
    """Why a TCP connection to `host:port` fails within `timeout` seconds, or None when it succeeds.

    The attempt runs in a thread so that a slow name lookup, which the socket timeout
    does not cover, cannot hold the caller longer than `timeout` either.
    """
    outcome: dict[str, str | None] = {}

    def attempt():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome["reason"] = None
        except OSError as error:
            outcome["reason"] = str(error) or type(error).__name__

    thread = threading.Thread(target=attempt, name="modelctl-reachability", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome.get("reason", f"no answer within {timeout:g} s")


def _freeze(model, trainable: bool, fine_tune_last: int) -> None:
    """Set which layers train: all, none, or the last `fine_tune_last` apart from batch normalization."""
    import keras

    model.trainable = trainable or fine_tune_last > 0
    if trainable or not fine_tune_last:
        return
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if fine_tune_last > len(layers):
        raise BackboneError(f"Invalid value for argument `fine_tune_last` of backbone. '{model.name}' has "
                            f"{len(layers)} layers. Received: fine_tune_last={fine_tune_last}")
    for index, layer in enumerate(layers):
        tuned = index >= len(layers) - fine_tune_last
        layer.trainable = tuned and not isinstance(layer, keras.layers.BatchNormalization)

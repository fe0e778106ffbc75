"""Ready-made blocks: Keras layers that make common architectures one spec item each.

Importing this package registers every block with Keras serialization, so a saved
`.keras` model that uses them reloads with `keras.saving.load_model` once
`modelctl.model.blocks` has been imported.

    TransformerEncoder   self-attention and feed-forward, each with a residual and layer normalization
    PositionalEmbedding  token and position embedding, or position encodings added to vectors
    ResidualConvBlock    two convolutions with a (projected) shortcut, for images

`modelctl.model.blocks.backbone.backbone()` makes a keras.applications network,
pretrained or not, frozen or fine-tuned; it returns a plain Keras model, so it
needs no registration.
"""

from modelctl.model.blocks.positional import PositionalEmbedding
from modelctl.model.blocks.residual import ResidualConvBlock
from modelctl.model.blocks.transformer import TransformerEncoder

__all__ = ["PositionalEmbedding", "ResidualConvBlock", "TransformerEncoder"]

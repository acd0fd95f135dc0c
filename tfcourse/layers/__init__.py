"""Layers from the notes, as Keras 3 layers (registered serializable under "tfcourse").

Introduced in lesson L06 (`lessons/06_normalization.py`); Maxout in lesson L02.

    BatchNormalization          drop-in for keras.layers.BatchNormalization (notes' algorithm + fused path)
    LocalResponseNormalization  AlexNet LRN, float16/32/64, channels-last/first
    GroupNormalization          statistics per example and group of channels
    WeightNormalization         W = g * v / ||v|| wrapper for Dense and (transposed, depthwise, separable) Conv
    batch_norm_train            BN's training forward pass with its hand-derived backward pass
    Maxout                      max over groups of linear units
    BahdanauAttention           additive attention v . tanh(W_q q + W_k k) (lesson L16)
    SimpleRNNCell               RNN cell as one linear layer on [h, x] (lesson L09)
    SpaceToDepthConv2D          a strided Conv2D as a stride-1 conv on space-to-depth blocks (lesson L12)
"""

from tfcourse.layers.additive_attention import BahdanauAttention
from tfcourse.layers.batch_normalization import BatchNormalization, batch_norm_train
from tfcourse.layers.group_normalization import GroupNormalization
from tfcourse.layers.local_response_normalization import (
    LocalResponseNormalization,
    local_response_normalization_reference,
)
from tfcourse.layers.maxout import Maxout
from tfcourse.layers.simple_rnn_cell import SimpleRNNCell
from tfcourse.layers.space_to_depth_conv import SpaceToDepthConv2D
from tfcourse.layers.weight_normalization import WeightNormalization

__all__ = [
    "BahdanauAttention",
    "BatchNormalization",
    "GroupNormalization",
    "LocalResponseNormalization",
    "Maxout",
    "SimpleRNNCell",
    "SpaceToDepthConv2D",
    "WeightNormalization",
    "batch_norm_train",
    "local_response_normalization_reference",
]

"""A PNG grid of the first convolution layer's filters (notes 001 §3.5).

Introduced in lesson L05.
"""

import io
from pathlib import Path

import keras
import numpy as np

from tfcourse._atomic import atomic_write_bytes
from tfcourse._validation import check_positive_int


def filter_grid(kernel, columns=8, padding=1):
    """Tile a Conv2D kernel (kh, kw, in, out) into one image, each filter min-max scaled (L05).

    Introduced in lesson L05.

        filter f = kernel[:, :, :, f]     (RGB when in == 3, else its first input channel)
        f_scaled = (f - min f) / (max f - min f)       (0.5 everywhere when f is constant)
        tile the out filters row by row, `columns` per row, `padding` pixels of 1.0 between

    Returns a float array (H, W) or (H, W, 3) in [0, 1].
    """
    kernel = np.asarray(kernel, dtype="float64")
    if kernel.ndim != 4:
        raise ValueError(f"`kernel` must have shape (height, width, in, out). Received shape {kernel.shape}")
    columns = check_positive_int("columns", columns)
    kh, kw, channels_in, count = kernel.shape
    rgb = channels_in == 3
    columns = min(columns, count)
    rows = -(-count // columns)
    shape = (rows * (kh + padding) + padding, columns * (kw + padding) + padding) + ((3,) if rgb else ())
    grid = np.ones(shape)
    for index in range(count):
        f = kernel[:, :, :, index] if rgb else kernel[:, :, 0, index]
        span = f.max() - f.min()
        f = (f - f.min()) / span if span > 0 else np.full_like(f, 0.5)
        top = padding + (index // columns) * (kh + padding)
        left = padding + (index % columns) * (kw + padding)
        grid[top:top + kh, left:left + kw] = f
    return grid


class FilterImages(keras.callbacks.Callback):
    """Draw the first Conv2D layer's filters as a PNG grid at the end of training (lesson L05).

    Introduced in lesson L05 (notes 001 §3.5: smooth, structured first-layer filters are a
    sign of a well-trained network; noisy ones of too little training or regularization).
    The grid is `filter_grid(kernel)`, written atomically; with `every_epoch=True` it is
    redrawn after every epoch too.

    Args:
        path: the PNG file.
        layer_name: the Conv2D layer; defaults to the model's first Conv2D.
        every_epoch: bool. Defaults to False.
        scale: int >= 1, pixels per filter weight in the PNG. Defaults to 8.
    """

    def __init__(self, path, layer_name=None, every_epoch=False, scale=8):
        super().__init__()
        self.path = Path(path)
        self.layer_name = layer_name
        self.every_epoch = bool(every_epoch)
        self.scale = check_positive_int("scale", scale)

    def _layer(self):
        if self.layer_name is not None:
            return self.model.get_layer(self.layer_name)
        for layer in self.model.layers:
            if isinstance(layer, keras.layers.Conv2D):
                return layer
        raise ValueError("FilterImages: the model has no keras.layers.Conv2D layer.")

    def write(self):
        """Write the PNG now; returns the grid array."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        grid = filter_grid(keras.ops.convert_to_numpy(self._layer().kernel))
        big = np.kron(grid, np.ones((self.scale, self.scale) + ((1,) if grid.ndim == 3 else ())))
        buffer = io.BytesIO()
        plt.imsave(buffer, big, cmap=None if grid.ndim == 3 else "gray", vmin=0.0, vmax=1.0, format="png")
        atomic_write_bytes(self.path, buffer.getvalue())
        return grid

    def on_epoch_end(self, epoch, logs=None):
        if self.every_epoch:
            self.write()

    def on_train_end(self, logs=None):
        self.write()

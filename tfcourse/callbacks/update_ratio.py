"""||update|| / ||weights|| per variable, the notes' ~1e-3 rule of thumb (notes 001 §3).

Introduced in lesson L05.
"""

import json
import warnings
from pathlib import Path

import keras
import numpy as np

from tfcourse._atomic import atomic_write_text
from tfcourse._validation import check_positive


class UpdateRatioMonitor(keras.callbacks.Callback):
    """Ratio of one optimizer update to the weights, per trainable variable, each epoch (L05).

    Introduced in lesson L05 (notes 001 §3: "the update / weight ratio should be about 1e-3;
    much lower means the learning rate is too small, much higher means too large").
    Measured on the first training step of each epoch:

        w0 = weights before the step, w1 = weights after it
        ratio[v] = ||w1[v] - w0[v]||_2 / ||w0[v]||_2          (inf when ||w0|| = 0)

    Written to `logs` as "update_ratio/<variable path>" (so a later
    `keras.callbacks.TensorBoard` or CSVLogger records it), kept in `self.history`
    ([{variable: ratio}, ...] per epoch) and, with `json_path`, rewritten atomically to that
    JSON file each epoch. A ratio outside [low, high] warns. With `steps_per_execution > 1`
    the first "step" is the first execution, i.e. that many optimizer steps.

    Args:
        low, high: floats > 0, low < high, the accepted band. Defaults to 1e-4 and 1e-2.
        json_path: optional path of the JSON file.
    """

    def __init__(self, low=1e-4, high=1e-2, json_path=None):
        super().__init__()
        self.low = float(check_positive("low", low))
        self.high = float(check_positive("high", high))
        if not self.low < self.high:
            raise ValueError(f"`low` must be smaller than `high`. Received: low={low}, high={high}")
        self.json_path = None if json_path is None else Path(json_path)
        self.history = []
        self._before = None
        self._ratios = None

    def on_train_begin(self, logs=None):
        self.history = []

    def on_epoch_begin(self, epoch, logs=None):
        self._ratios = None
        self._before = [np.array(keras.ops.convert_to_numpy(v)) for v in self.model.trainable_variables]

    def on_train_batch_end(self, batch, logs=None):
        if self._before is None:
            return
        ratios = {}
        for variable, before in zip(self.model.trainable_variables, self._before):
            after = keras.ops.convert_to_numpy(variable)
            weight_norm = float(np.linalg.norm(before))
            update_norm = float(np.linalg.norm(after - before))
            ratios[variable.path] = update_norm / weight_norm if weight_norm > 0 else float("inf")
        self._ratios, self._before = ratios, None

    def on_epoch_end(self, epoch, logs=None):
        if self._ratios is None:
            return
        self.history.append(self._ratios)
        if logs is not None:
            logs.update({f"update_ratio/{path}": ratio for path, ratio in self._ratios.items()})
        outside = {p: r for p, r in self._ratios.items() if not self.low <= r <= self.high}
        if outside:
            shown = ", ".join(f"{p}={r:.2e}" for p, r in outside.items())
            warnings.warn(
                f"UpdateRatioMonitor: epoch {epoch + 1}: update/weight ratio outside [{self.low:g}, {self.high:g}]: "
                f"{shown} (about 1e-3 is healthy; lower: learning rate too small, higher: too large).",
                stacklevel=2,
            )
        if self.json_path is not None:
            atomic_write_text(self.json_path, json.dumps(self.history, indent=1) + "\n")

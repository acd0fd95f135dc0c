"""Which way a monitored quantity should move, and what counts as an improvement (private).

Shared by `EarlyStopping` and `ReduceLROnPlateau`; the rules are Keras's
(keras/src/callbacks/monitor_callback.py), reimplemented on public API only.
"""

import numpy as np

from tfcourse._validation import check_in_range, check_one_of

MODES = ("auto", "min", "max")

# Metric names (without "val_") that improve upward; Keras reads the same from each
# metric's direction, here it comes from the name.
_UPWARD = ("acc", "accuracy", "auc", "precision", "recall", "f1_score", "fbeta_score", "r2_score", "iou")
_DOWNWARD = ("loss", "error", "crossentropy", "hinge", "mse", "mae", "mape", "msle", "kl_divergence",
             "poisson", "log_cosh", "logcosh")


def check_monitor_arguments(monitor, mode, min_delta):
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"`monitor` must be the name of a logged quantity. Received: monitor={monitor!r}")
    check_one_of("mode", mode, MODES)
    return abs(float(check_in_range("min_delta", min_delta)))


def resolve_direction(monitor, mode, owner):
    """'min' or 'max' for `monitor` under `mode` ('auto' infers it from the name)."""
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith(_DOWNWARD):
        return "min"
    if name.endswith(_UPWARD):
        return "max"
    raise ValueError(
        f"{owner} received monitor={monitor!r}, but cannot tell whether it should be maximized "
        "or minimized. Pass `mode='max'` or `mode='min'`."
    )


def improves(current, reference, direction, min_delta):
    """Is `current` better than `reference` by more than `min_delta`? (None: always.)

        min:  current + min_delta < reference
        max:  current - min_delta > reference

    Compared in float32, the precision the metrics are computed in (and Keras's).
    """
    if reference is None:
        return True
    if direction == "min":
        return bool(np.float32(current + min_delta) < np.float32(reference))
    return bool(np.float32(current - min_delta) > np.float32(reference))

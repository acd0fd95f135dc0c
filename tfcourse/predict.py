"""Deprecated home of the `tfcourse predict` functions: use `tfcourse.serving` (lesson L11).

Kept for one release; the names below are `tfcourse.serving`'s own.
"""

from tfcourse.serving.images import IMAGE_SIZE, load_image, to_mnist
from tfcourse.serving.prediction import Prediction, load_model, predict
from tfcourse.serving.versions import PredictError, resolve_model_dir

__all__ = [
    "IMAGE_SIZE",
    "PredictError",
    "Prediction",
    "load_image",
    "load_model",
    "predict",
    "resolve_model_dir",
    "to_mnist",
]

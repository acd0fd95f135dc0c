"""Classifying image files with an exported SavedModel (`tfcourse predict`, lesson L11).

    folder = resolve_model_dir(model)                  # latest integer version
    loaded = tf.saved_model.load(folder)               # TensorFlow only, no tfcourse classes
    (H, W, C) = input shape of loaded.signatures["serving_uint8"]
    images = [load_image(path, (H, W, C)) for path in paths]     # see tfcourse.serving.images
    outputs = signature(images=images)                 # probabilities, class_id, class_name
    class_names = <folder>/assets.extra/class_names.txt

The SavedModel is the one `tfcourse.serving.export` wrote.
"""

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from tfcourse.serving.images import load_image
from tfcourse.serving.versions import PredictError, read_class_names, resolve_model_dir

SIGNATURE = "serving_uint8"


@dataclasses.dataclass
class Prediction:
    """One image's prediction (lesson L11): path, class_id, probability, probabilities, class_name."""

    path: Path
    class_id: int
    probability: float
    probabilities: np.ndarray
    class_name: Optional[str] = None


def load_model(model):
    """Load an exported SavedModel (with its `serving_uint8` signature) with TensorFlow only (L11).

    The class names stored beside it are set as `loaded.class_names` (None for older exports).
    """
    import tensorflow as tf

    folder = resolve_model_dir(model)
    loaded = tf.saved_model.load(str(folder))
    if SIGNATURE not in loaded.signatures:
        raise PredictError(f"{folder} has no '{SIGNATURE}' signature; export it with tfcourse.serving.export")
    loaded.class_names = read_class_names(folder)
    return loaded


def image_shape(loaded):
    """(H, W, C) of the images the `serving_uint8` signature of a loaded SavedModel takes (L11)."""
    spec = loaded.signatures[SIGNATURE].structured_input_signature[1]["images"]
    return tuple(int(d) for d in spec.shape[1:])


def predict(model, paths):
    """Classify each image file in `paths` with the SavedModel at `model` (lesson L11).

    Returns one `Prediction` per path, in order, with the class name stored at export.
    """
    import tensorflow as tf

    paths = [Path(p) for p in paths]
    if not paths:
        raise PredictError("no image paths given")
    loaded = model if hasattr(model, "signatures") else load_model(model)
    shape = image_shape(loaded)
    images = np.stack([load_image(p, shape) for p in paths])
    outputs = loaded.signatures[SIGNATURE](images=tf.constant(images))
    probabilities = outputs["probabilities"].numpy()
    class_ids = outputs["class_id"].numpy()
    names = getattr(loaded, "class_names", None)
    return [
        Prediction(path, int(c), float(p[int(c)]), p, names[int(c)] if names else str(int(c)))
        for path, c, p in zip(paths, class_ids, probabilities)
    ]

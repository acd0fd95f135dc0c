"""Classifying digit images with an exported SavedModel (`tfcourse predict`).

Introduced in lesson L11. An image of any size is converted the way MNIST was made:

    gray = grayscale(image)                      # PNG/JPEG, any mode (alpha -> on white)
    if border of gray is bright: gray = 255 - gray   # dark-on-light -> white-on-black
    if size != 28x28:
        crop to the digit's bounding box, scale its longer side to 20 pixels,
        paste into a black 28x28 image so that its centre of mass is at the centre
    probabilities = SavedModel.signatures["serving_uint8"](images=gray[None, :, :, None])

The SavedModel is the one `tfcourse.training.export` wrote; only TensorFlow is needed.
"""

import dataclasses
import re
from pathlib import Path

import numpy as np

IMAGE_SIZE = 28
_DIGIT_BOX = 20
_FORMATS = ("PNG", "JPEG")


class PredictError(ValueError):
    """A bad model folder or image path, with a message that says what to fix (lesson L11)."""


@dataclasses.dataclass
class Prediction:
    """One image's prediction (lesson L11): path, class_id, probability, probabilities."""

    path: Path
    class_id: int
    probability: float
    probabilities: np.ndarray


def _center_of_mass_shift(image):
    total = image.sum()
    if total == 0:
        return 0, 0
    rows, cols = np.indices(image.shape)
    cy = (rows * image).sum() / total
    cx = (cols * image).sum() / total
    center = (IMAGE_SIZE - 1) / 2
    return int(round(center - cy)), int(round(center - cx))


def to_mnist(gray):
    """Convert a 2-D uint8 grayscale array of any size to a 28x28 white-on-black digit (lesson L11)."""
    from PIL import Image

    gray = np.asarray(gray, dtype=np.uint8)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ValueError(f"`gray` must be a 2-D image. Received shape: {gray.shape}")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 127:
        gray = 255 - gray
    if gray.shape == (IMAGE_SIZE, IMAGE_SIZE):
        return gray
    mask = gray > 32
    if not mask.any():
        return np.asarray(Image.fromarray(gray).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
    rows, cols = np.nonzero(mask)
    digit = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height, width = digit.shape
    scale = _DIGIT_BOX / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.asarray(Image.fromarray(digit).resize(new_size, Image.LANCZOS))
    canvas = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    top, left = (IMAGE_SIZE - digit.shape[0]) // 2, (IMAGE_SIZE - digit.shape[1]) // 2
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    dy, dx = _center_of_mass_shift(canvas.astype(np.float64))
    # Shift (within the frame) so the centre of mass sits in the middle, as MNIST did.
    dy = int(np.clip(dy, -top, IMAGE_SIZE - top - digit.shape[0]))
    dx = int(np.clip(dx, -left, IMAGE_SIZE - left - digit.shape[1]))
    return np.roll(canvas, (dy, dx), axis=(0, 1))


def load_image(path):
    """Read a PNG or JPEG file as a (28, 28, 1) uint8 MNIST-style digit (lesson L11).

    Raises `PredictError` when the file is missing, not a file, or not a PNG/JPEG image.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise PredictError(f"image not found: {path}")
    if not path.is_file():
        raise PredictError(f"not a file: {path}")
    try:
        with Image.open(path) as image:
            if image.format not in _FORMATS:
                raise PredictError(f"{path} is a {image.format} image; expected PNG or JPEG")
            image.load()
            if image.mode in ("RGBA", "LA") or "transparency" in image.info:
                background = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, image.convert("RGBA"))
            gray = np.asarray(image.convert("L"))
    except UnidentifiedImageError as error:
        raise PredictError(f"{path} is not a PNG or JPEG image") from error
    except OSError as error:
        raise PredictError(f"cannot read image {path}: {error}") from error
    return to_mnist(gray)[:, :, None]


def resolve_model_dir(model):
    """`saved_models/<name>` -> its highest integer version folder; a version folder as is (L11)."""
    model = Path(model)
    if not model.is_dir():
        raise PredictError(f"model folder not found: {model}")
    if (model / "saved_model.pb").is_file():
        return model
    versions = [p for p in model.iterdir() if p.is_dir() and re.fullmatch(r"\d+", p.name)]
    versions = [p for p in versions if (p / "saved_model.pb").is_file()]
    if not versions:
        raise PredictError(
            f"{model} holds no SavedModel: expected saved_model.pb or integer version folders "
            "(as written by tfcourse.training.export)"
        )
    return max(versions, key=lambda p: int(p.name))


def load_model(model):
    """Load an exported SavedModel's `serving_uint8` signature with TensorFlow only (lesson L11)."""
    import tensorflow as tf

    folder = resolve_model_dir(model)
    loaded = tf.saved_model.load(str(folder))
    if "serving_uint8" not in loaded.signatures:
        raise PredictError(
            f"{folder} has no 'serving_uint8' signature; export it with tfcourse.training.export"
        )
    return loaded


def predict(model, paths):
    """Classify each image file in `paths` with the SavedModel at `model` (lesson L11).

    Returns one `Prediction` per path, in order. Every path is checked before the model is loaded.
    """
    import tensorflow as tf

    paths = [Path(p) for p in paths]
    if not paths:
        raise PredictError("no image paths given")
    images = np.stack([load_image(p) for p in paths])
    loaded = model if hasattr(model, "signatures") else load_model(model)
    outputs = loaded.signatures["serving_uint8"](images=tf.constant(images))
    probabilities = outputs["probabilities"].numpy()
    class_ids = outputs["class_id"].numpy()
    return [
        Prediction(path, int(c), float(p[int(c)]), p)
        for path, c, p in zip(paths, class_ids, probabilities)
    ]

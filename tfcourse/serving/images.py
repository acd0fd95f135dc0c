"""Reading PNG/JPEG files as the images a model was trained on (`tfcourse predict`, lesson L11).

A grayscale model (C == 1) gets an image converted the way MNIST was made:

    gray = grayscale(image)                          # any mode (alpha -> on white)
    if border of gray is bright: gray = 255 - gray   # dark-on-light -> white-on-black
    if size != (H, W):
        crop to the object's bounding box, scale its longer side to 20/28 of the frame,
        paste into a black (H, W) image so that its centre of mass is at the centre

An image already of the model's size is used unchanged (e.g. a Fashion-MNIST test image).
A colour model (C == 3) gets the RGB image resized to (H, W).
"""

from pathlib import Path

import numpy as np

from tfcourse.serving.versions import PredictError

IMAGE_SIZE = 28
_BOX_FRACTION = 20 / 28  # MNIST: a 20x20 box inside the 28x28 frame
_FORMATS = ("PNG", "JPEG")


def _center_of_mass_shift(image):
    total = image.sum()
    if total == 0:
        return 0, 0
    rows, cols = np.indices(image.shape)
    cy = (rows * image).sum() / total
    cx = (cols * image).sum() / total
    return int(round((image.shape[0] - 1) / 2 - cy)), int(round((image.shape[1] - 1) / 2 - cx))


def to_mnist(gray, size=(IMAGE_SIZE, IMAGE_SIZE)):
    """Convert a 2-D uint8 grayscale array of any size to a white-on-black `size` image (L11).

    Introduced in lesson L11 (see the module docstring for the steps).
    """
    from PIL import Image

    gray = np.asarray(gray, dtype=np.uint8)
    height, width = size
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ValueError(f"`gray` must be a 2-D image. Received shape: {gray.shape}")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 127:
        gray = 255 - gray
    if gray.shape == (height, width):
        return gray
    mask = gray > 32
    if not mask.any():
        return np.asarray(Image.fromarray(gray).resize((width, height), Image.BILINEAR))
    rows, cols = np.nonzero(mask)
    obj = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = _BOX_FRACTION * min(height, width) / max(obj.shape)
    new_size = (max(1, round(obj.shape[1] * scale)), max(1, round(obj.shape[0] * scale)))
    obj = np.asarray(Image.fromarray(obj).resize(new_size, Image.LANCZOS))
    canvas = np.zeros((height, width), np.uint8)
    top, left = (height - obj.shape[0]) // 2, (width - obj.shape[1]) // 2
    canvas[top : top + obj.shape[0], left : left + obj.shape[1]] = obj
    dy, dx = _center_of_mass_shift(canvas.astype(np.float64))
    # Shift (within the frame) so the centre of mass sits in the middle, as MNIST did.
    dy = int(np.clip(dy, -top, height - top - obj.shape[0]))
    dx = int(np.clip(dx, -left, width - left - obj.shape[1]))
    return np.roll(canvas, (dy, dx), axis=(0, 1))


def _open(path):
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
            return image.convert("RGB")
    except UnidentifiedImageError as error:
        raise PredictError(f"{path} is not a PNG or JPEG image") from error
    except OSError as error:
        raise PredictError(f"cannot read image {path}: {error}") from error


def load_image(path, shape=(IMAGE_SIZE, IMAGE_SIZE, 1)):
    """Read a PNG or JPEG file as a uint8 image of `shape` (H, W, C), C 1 or 3 (lesson L11).

    Raises `PredictError` when the file is missing, not a file, or not a PNG/JPEG image.
    """
    from PIL import Image

    height, width, channels = shape
    image = _open(path)
    if channels == 1:
        return to_mnist(np.asarray(image.convert("L")), (height, width))[:, :, None]
    if channels == 3:
        if image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
        return np.asarray(image)
    raise PredictError(f"cannot read images for a model with {channels} channels (1 or 3 supported)")

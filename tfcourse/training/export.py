"""Exporting a trained model as a versioned SavedModel that TF Serving can load.

Introduced in lesson L11.

    saved_models/<name>/<version>/      # what TF Serving watches (integer versions)
        saved_model.pb, variables/      # model.export-style SavedModel, signatures below
        model.keras                     # the same model in Keras format (for training on)

Serving signatures (all return {"probabilities": float32 (N, C), "class_id": int64 (N,)}):
    serving_default     float32 images (N, 28, 28, 1) in [0, 1] (as tfcourse.data "scale")
    serving_float_hw    float32 images (N, 28, 28)    in [0, 1]
    serving_uint8       uint8   images (N, 28, 28, 1) in 0..255
    serving_uint8_hw    uint8   images (N, 28, 28)    in 0..255

    x = uint8 / 255 (uint8 inputs) ; x = reshape(x, model input shape)
    probabilities = model(x)            (softmax(model(x)) if the model outputs logits)
    class_id = argmax(probabilities)

The version folder is written to a temporary folder and renamed into place, so a reader
never sees a half-written version, and an existing version is never overwritten.
"""

import re
from pathlib import Path

import keras
import tensorflow as tf

from tfcourse._atomic import atomic_directory
from tfcourse._validation import check_positive_int

IMAGE_SIZE = 28


def next_version(model_root):
    """1 + the largest integer version folder under `model_root` (1 if none) (lesson L11)."""
    model_root = Path(model_root)
    versions = [int(p.name) for p in model_root.glob("*") if p.is_dir() and re.fullmatch(r"\d+", p.name)]
    return max(versions, default=0) + 1


def _outputs_probabilities(model):
    last = model.layers[-1] if model.layers else None
    activation = getattr(last, "activation", None)
    return activation is keras.activations.softmax or getattr(activation, "__name__", "") == "softmax"


def export(model, name, *, root="saved_models", version=None, from_logits=None):
    """Write `model` to `<root>/<name>/<version>/` (SavedModel + model.keras); return that path.

    Introduced in lesson L11.

    name:        model name, a folder name of letters, digits, "_", "-" and ".".
    version:     integer >= 1; None picks the next free integer. An existing version raises
                 FileExistsError (versions are never overwritten).
    from_logits: True if the model outputs logits (softmax is added in the signature);
                 None guesses from the last layer's activation (softmax -> False).
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: model={type(model).__name__}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError(
            "`name` must be a folder name of letters, digits, '_', '-' and '.'. "
            f"Received: name={name!r}"
        )
    model_root = Path(root) / name
    if version is None:
        version = next_version(model_root)
    version = check_positive_int("version", version)
    if from_logits is None:
        from_logits = not _outputs_probabilities(model)
    input_shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if input_shape is None:
        raise ValueError("`model` must be built (called on data or given an Input) before export.")

    def serve(images):
        x = tf.cast(images, "float32")
        if images.dtype == tf.uint8:
            x = x / 255.0
        x = tf.reshape(x, (-1, *input_shape))
        outputs = model(x, training=False)
        outputs = tf.cast(outputs, "float32")
        probabilities = tf.nn.softmax(outputs, axis=-1) if from_logits else outputs
        return {"probabilities": probabilities, "class_id": tf.argmax(probabilities, axis=-1)}

    specs = {
        "serving_default": tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 1), tf.float32, name="images"),
        "serving_float_hw": tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE), tf.float32, name="images"),
        "serving_uint8": tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 1), tf.uint8, name="images"),
        "serving_uint8_hw": tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE), tf.uint8, name="images"),
    }
    final = model_root / str(version)
    with atomic_directory(final) as tmp:
        archive = keras.export.ExportArchive()
        archive.track(model)
        for endpoint, spec in specs.items():
            archive.add_endpoint(name=endpoint, fn=serve, input_signature=[spec])
        archive.write_out(str(tmp), verbose=False)
        model.save(tmp / "model.keras")
    return final

"""Exporting a trained classifier as a versioned SavedModel that TF Serving can load.

Introduced in lesson L11.

    saved_models/<name>/<version>/      # what TF Serving watches (integer versions)
        saved_model.pb, variables/      # model.export-style SavedModel, signatures below
        assets.extra/class_names.txt    # one class name per line (read by `tfcourse predict`)
        model.keras                     # the same model in Keras format (for training on)

The image layout (H, W, C) is read from the model's input: (H, W, C) as is, (H, W) (e.g. an
RNN reading rows) as (H, W, 1), a flat (D,) input as a square (sqrt(D), sqrt(D), 1) image unless
`image_shape` says otherwise. Serving signatures (all return {"probabilities": float32 (N, K),
"class_id": int64 (N,), "class_name": string (N,)}):

    serving_default     float32 images (N, H, W, C) in [0, 1] (as tfcourse.data "scale")
    serving_uint8       uint8   images (N, H, W, C) in 0..255
    serving_float_hw    float32 images (N, H, W)    in [0, 1]     (only when C == 1)
    serving_uint8_hw    uint8   images (N, H, W)    in 0..255     (only when C == 1)

    x = uint8 / 255 (uint8 inputs) ; x = reshape(x, model input shape), cast to its dtype
    probabilities = model(x)            if the model ends in softmax ("probabilities")
                  = softmax(model(x))   if it outputs logits          ("logits")
    class_id = argmax(probabilities) ; class_name = class_names[class_id]

Whether the model ends in softmax is read from its output layer, never guessed from data:
keras.layers.Softmax, Activation("softmax") or a built-in layer with activation="softmax" mean
"probabilities"; another built-in layer with an `activation` means "logits"; Dropout-like
layers are looked through; anything else (a custom layer, Lambda, Flatten...) needs `output=`.
The version folder is written to a temporary folder and renamed into place, so a reader
never sees a half-written version, and an existing version is never overwritten.
"""

import math
import re
from pathlib import Path

import keras
import tensorflow as tf

from tfcourse._atomic import atomic_directory
from tfcourse._validation import check_one_of, check_positive_int
from tfcourse.serving.versions import CLASS_NAMES_FILE, next_version

OUTPUT_KINDS = ("logits", "probabilities")
_NOT_BUILT = (
    "`model` must have known inputs and outputs before export: build it from keras.Input "
    "(a Sequential or Functional model; a subclassed model has no input signature to serve)."
)
# Identity at inference: the output kind is the kind of their input.
_PASS_THROUGH = (
    keras.layers.Dropout,
    keras.layers.AlphaDropout,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.ActivityRegularization,
    keras.layers.Identity,
)


def _is_softmax(activation):
    return activation is keras.activations.softmax or getattr(activation, "__name__", "") == "softmax"


def _producer(model, tensor):
    for layer in reversed(model.layers):
        try:
            if layer.output is tensor:
                return layer
        except (AttributeError, ValueError):  # a layer used several times has no single output
            continue
    return None


def _layer_output_kind(model, layer):
    if isinstance(layer, keras.Model):
        return classifier_output(layer)
    if isinstance(layer, keras.layers.Softmax):
        return "probabilities"
    built_in = type(layer).__module__.startswith("keras.")
    if built_in and isinstance(layer, _PASS_THROUGH):
        previous = _producer(model, layer.input)
        if previous is not None:
            return _layer_output_kind(model, previous)
    elif built_in and hasattr(layer, "activation"):
        return "probabilities" if _is_softmax(layer.activation) else "logits"
    raise ValueError(
        f"Cannot tell whether the output layer {layer.name!r} ({type(layer).__name__}) returns logits "
        'or probabilities. Pass output="logits" or output="probabilities" to export.'
    )


def classifier_output(model):
    """"probabilities" if `model` ends in softmax, "logits" otherwise, read from its layers (L11).

    Introduced in lesson L11. The output layer decides (data is never inspected):

        Softmax layer, Activation("softmax"), built-in layer with activation=softmax -> "probabilities"
        built-in layer with another activation (Dense(10), Conv2D(..., "relu"))     -> "logits"
        Dropout / GaussianNoise / Identity / ActivityRegularization   -> the kind of its input
        anything else (custom layer, Lambda, Flatten, ...)   -> ValueError (pass `output=` to export)
    """
    outputs = getattr(model, "outputs", None)
    if not model.layers or not outputs:
        raise ValueError(_NOT_BUILT)
    layer = _producer(model, outputs[0]) or model.layers[-1]
    return _layer_output_kind(model, layer)


def _image_shape(input_shape, image_shape):
    size = math.prod(input_shape)
    if image_shape is not None:
        image_shape = tuple(int(d) for d in image_shape)
        if len(image_shape) == 2:
            image_shape += (1,)
        if len(image_shape) != 3 or math.prod(image_shape) != size:
            raise ValueError(
                "`image_shape` must be (H, W) or (H, W, C) with as many values as the model input "
                f"{input_shape}. Received: image_shape={image_shape}"
            )
        return image_shape
    if len(input_shape) == 3:
        return input_shape
    if len(input_shape) == 2:
        return (*input_shape, 1)
    side = math.isqrt(size)
    if len(input_shape) == 1 and side * side == size:
        return (side, side, 1)
    raise ValueError(
        f"Cannot read an image layout from the model input shape {input_shape}. "
        "Pass image_shape=(H, W) or (H, W, C)."
    )


def _model_input(model):
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(_NOT_BUILT)
    if len(inputs) != 1:
        raise ValueError(f"`model` must have one input to be served as images. Received: {len(inputs)} inputs")
    input_shape = tuple(inputs[0].shape[1:])
    if any(d is None for d in input_shape):
        raise ValueError(f"`model` must have a fully known input shape to export. Received: {input_shape}")
    dtype = tf.as_dtype(inputs[0].dtype)
    if not (dtype.is_floating or dtype == tf.uint8):
        raise ValueError(f"`model` input must be floating point or uint8. Received: dtype={dtype.name}")
    return input_shape, dtype


def _class_names(model, class_names):
    num_classes = model.outputs[0].shape[-1]
    if class_names is None:
        return tuple(str(i) for i in range(num_classes))
    class_names = tuple(str(name) for name in class_names)
    if len(class_names) != num_classes or any("\n" in name or not name for name in class_names):
        raise ValueError(
            f"`class_names` must be {num_classes} non-empty one-line names, one per model output. "
            f"Received: class_names={class_names}"
        )
    return class_names


def _serving_fn(model, input_shape, input_dtype, output, class_names):
    names = tf.constant(class_names)

    def serve(images):
        if input_dtype == tf.uint8:
            x = images if images.dtype == tf.uint8 else tf.cast(tf.round(images * 255.0), tf.uint8)
        else:
            x = tf.cast(images, input_dtype)
            if images.dtype == tf.uint8:
                x = x / 255.0
        x = tf.reshape(x, (-1, *input_shape))
        outputs = tf.cast(model(x, training=False), "float32")
        probabilities = tf.nn.softmax(outputs, axis=-1) if output == "logits" else outputs
        class_id = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "class_id": class_id, "class_name": tf.gather(names, class_id)}

    return serve


def _signature_specs(image_shape):
    height, width, channels = image_shape
    specs = {
        "serving_default": tf.TensorSpec((None, height, width, channels), tf.float32, name="images"),
        "serving_uint8": tf.TensorSpec((None, height, width, channels), tf.uint8, name="images"),
    }
    if channels == 1:
        specs["serving_float_hw"] = tf.TensorSpec((None, height, width), tf.float32, name="images")
        specs["serving_uint8_hw"] = tf.TensorSpec((None, height, width), tf.uint8, name="images")
    return specs


def export(model, name, *, root="saved_models", version=None, class_names=None, output=None,
           image_shape=None, from_logits=None):
    """Write `model` to `<root>/<name>/<version>/` (SavedModel + model.keras); return that path.

    Introduced in lesson L11.

    name:        model name, a folder name of letters, digits, "_", "-" and ".".
    version:     integer >= 1; None picks the next free integer. An existing version raises
                 FileExistsError (versions are never overwritten).
    class_names: one name per output class (e.g. tfcourse.data.class_names("fashion_mnist"));
                 None stores "0", "1", ...
    output:      "logits" (softmax is added in the signatures) or "probabilities" (the model
                 ends in softmax); None reads it from the output layer (`classifier_output`).
    image_shape: (H, W) or (H, W, C) of the served images when the model's input is not an
                 image (e.g. a flat (784,) input; default: a square single-channel image).
    from_logits: deprecated spelling of output ("logits" if True, "probabilities" if False).
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
    if from_logits is not None:
        if output is not None:
            raise ValueError("Pass `output` or the deprecated `from_logits`, not both.")
        output = "logits" if from_logits else "probabilities"
    input_shape, input_dtype = _model_input(model)
    output = classifier_output(model) if output is None else check_one_of("output", output, OUTPUT_KINDS)
    class_names = _class_names(model, class_names)
    serve = _serving_fn(model, input_shape, input_dtype, output, class_names)
    specs = _signature_specs(_image_shape(input_shape, image_shape))

    final = model_root / str(version)
    with atomic_directory(final) as tmp:
        archive = keras.export.ExportArchive()
        archive.track(model)
        for endpoint, spec in specs.items():
            archive.add_endpoint(name=endpoint, fn=serve, input_signature=[spec])
        archive.write_out(str(tmp), verbose=False)
        (tmp / CLASS_NAMES_FILE).parent.mkdir(parents=True, exist_ok=True)
        (tmp / CLASS_NAMES_FILE).write_text("\n".join(class_names) + "\n", encoding="utf-8")
        model.save(tmp / "model.keras")
    return final

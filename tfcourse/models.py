"""The course's reference MNIST models, shared by lessons, benchmarks and tests.

Introduced in the quickstart (lesson L00, the `make demo` flagship); lesson L07 builds the
CNN up layer by layer.

    mnist_cnn:  [Conv 3x3 (f1) -> ReLU -> MaxPool 2x2] -> [Conv 3x3 (f2) -> ReLU -> MaxPool 2x2]
                -> Flatten -> Dropout -> Dense(10) logits
    mnist_mlp:  [Flatten] -> Dense(h1, act) -> ... -> Dense(10) logits
    fast_mnist_cnn: [Conv 5x5 (f1) -> [BN] -> ReLU -> MaxPool 2x2] -> [Conv 5x5 (f2) -> [BN] -> ReLU
                -> MaxPool 2x2] -> Flatten -> Dense(units) -> ReLU -> Dense(10) logits
                (the fast MNIST record recipe's network, lesson L12)
"""

import numbers

import keras

from tfcourse._validation import check_bool, check_in_range, check_one_of, check_positive_int

__all__ = ["fast_mnist_cnn", "lenet5", "mnist_cnn", "mnist_mlp", "multiply_adds"]


def mnist_cnn(filters=(32, 64), dropout=0.25, name="mnist_cnn"):
    """The small LeNet-style CNN on (28, 28, 1) images, returning 10 logits.

    Introduced in lesson L00 (lesson L07 develops the CNN).

    Args:
        filters: channels of the two 3x3 convolutions, each an integer >= 1.
        dropout: dropout rate before the classifier, in [0, 1); 0 leaves the layer out
            (each replica of a tf.distribute run draws its own masks, so L11 uses 0).
        name: model name.
    """
    if len(filters) != 2:
        raise ValueError(f"`filters` must hold 2 integers. Received: filters={filters!r}")
    first, second = (check_positive_int("filters", f) for f in filters)
    check_in_range("dropout", dropout, 0, 1, high_inclusive=False)
    layers = [
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(first, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(second, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
    ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers, name=name)


def mnist_mlp(hidden_units=(256,), activation="relu", input_shape=(784,), name="mnist_mlp"):
    """A multi-layer perceptron returning 10 logits; images are flattened first if 2-D+.

    Introduced in lesson L00 (lesson L02 develops the MLP).

    Args:
        hidden_units: width of each hidden layer (integers >= 1); () gives softmax regression.
        activation: activation of the hidden layers (any Keras activation name or callable).
        input_shape: (784,) for flattened pipelines, (28, 28, 1) for image pipelines.
        name: model name.
    """
    units = [check_positive_int("hidden_units", u) for u in hidden_units]
    layers = [keras.Input(tuple(input_shape))]
    if len(input_shape) > 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(u, activation=activation) for u in units]
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers, name=name)


def check_stage_filters(filters):
    """`fast_mnist_cnn`'s `filters`, as a list: a tuple or list of at least 2 integers >= 1, one per
    stage (whether the stages leave a map is checked when the model is built)."""
    stages = isinstance(filters, (tuple, list)) and len(filters) >= 2
    if not (stages and all(isinstance(f, numbers.Integral) and not isinstance(f, bool) and f >= 1 for f in filters)):
        raise ValueError(
            f"`filters` must be a tuple or list of at least 2 integers >= 1, one per stage. Received: filters={filters!r}"
        )
    return [int(f) for f in filters]


def fast_mnist_cnn(filters=(16, 32), dense_units=128, batch_norm=False, augment_shift=0.0, strided_stem=False,
                   kernel_size=5, padding="valid", name="fast_mnist_cnn"):  # fmt: skip
    """The fast MNIST recipe's CNN: a few convolution stages and a dense layer, 10 logits.

    Introduced in lesson L12 (the time-to-accuracy record; also the `make demo` model of L00).

        x -> per stage: Conv kxk (f_i, padding) -> [BN] -> ReLU -> MaxPool 2x2
                 5x5 valid (the default, two stages):   28 -> 24 -> 12 -> 8 -> 4
                 3x3 same (three stages, Fashion-MNIST): 28 -> 28 -> 14 -> 14 -> 7 -> 7 -> 3
             (strided_stem: the first stage is Conv 6x6 stride 2 (f1, valid) -> [BN] -> ReLU, 28 -> 12)
          -> Flatten -> Dense(units) -> ReLU -> Dense(10, float32 under any policy)

    The default has about 2.3x fewer multiply-adds than `mnist_cnn`'s 3x3 (32, 64) stages. The
    strided stem sees the same 6x6 window per output as conv 5x5 + pool 2x2, with a quarter of
    the first convolution's multiply-adds and no 24x24 ReLU or pooling to run and differentiate.
    3x3 'same' stages keep more of the map for fewer multiply-adds per stage, and leave room for
    a third stage (the Fashion-MNIST recipe).

    Args:
        filters: channels of the convolutions, one integer >= 1 per stage, at least 2 stages;
            each stage's map must stay at least 1x1 after its pool.
        dense_units: width of the hidden dense layer, an integer >= 1.
        batch_norm: batch normalization after each convolution (the convolution then has no
            bias: BN's beta replaces it). On the TensorFlow backend the layer is
            `tfcourse.layers.BatchNormalization`, whose fused kernel took less than half the
            time of Keras's unfused layer here (lesson L12); on other backends Keras's own.
        augment_shift: random translation during training, as a fraction of the image side
            in [0, 0.5) (0.1 = up to 2.8 pixels); 0 leaves the layer out. Inactive at inference.
        kernel_size: kernel side of each convolution except a strided stem, an integer >= 1.
        padding: "valid" or "same", the padding of each convolution except a strided stem.
        strided_stem: the first stage as one 6x6 convolution with stride 2 instead of a 5x5
            convolution and a 2x2 max-pool (both give 12x12 maps). On the TensorFlow backend it
            is `tfcourse.layers.SpaceToDepthConv2D`, the same convolution with the same
            weights, which oneDNN runs faster on a one-channel image; elsewhere Keras's Conv2D.
        name: model name.
    """
    filters = check_stage_filters(filters)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    check_one_of("padding", padding, ("valid", "same"))
    check_bool("strided_stem", strided_stem)
    side = 28
    for stage in range(len(filters)):
        if strided_stem and stage == 0:
            side = 12
            continue
        side = (side - kernel_size + 1 if padding == "valid" else side) // 2
        if side < 1:
            raise ValueError(
                f"Stage {stage + 1} of {len(filters)} leaves no map: the 28x28 image shrinks below 1x1 with "
                f"{padding!r} {kernel_size}x{kernel_size} convolutions and 2x2 pools. Received: "
                f"filters={tuple(filters)}, kernel_size={kernel_size}, padding={padding!r}"
            )
    dense_units = check_positive_int("dense_units", dense_units)
    check_bool("batch_norm", batch_norm)
    check_in_range("augment_shift", augment_shift, 0, 0.5, high_inclusive=False)
    normalization = _batch_normalization_layer() if batch_norm else None
    layers = [keras.Input((28, 28, 1))]
    if augment_shift:
        layers.append(_random_translation_layer(augment_shift))
    for stage, channels in enumerate(filters):
        strided = strided_stem and stage == 0
        if strided:
            layers.append(_strided_stem_layer()(channels, 6, 2, use_bias=not batch_norm))
        else:
            layers.append(keras.layers.Conv2D(channels, kernel_size, padding=padding, use_bias=not batch_norm))
        if batch_norm:
            layers.append(normalization())
        layers.append(keras.layers.ReLU())
        if not strided:
            layers.append(keras.layers.MaxPooling2D())
    # float32 logits under a mixed policy too (Keras's mixed-precision guide): exported models
    # and argmax then see full-precision scores, not bfloat16's 8-bit mantissa. Made before the
    # hidden Dense: unseeded initializers draw their seeds as layers are made, and the recipes'
    # measured numbers (benchmarks/results) come from this order.
    logits = keras.layers.Dense(10, dtype="float32")
    layers += [keras.layers.Flatten(), keras.layers.Dense(dense_units, activation="relu"), logits]
    return keras.Sequential(layers, name=name)


def _random_translation_layer(shift):
    """Keras's RandomTranslation, marked XLA-compilable on JAX.

    Keras marks the layer `supports_jit=False` (TensorFlow's XLA lacks its image op), and one such
    layer makes `jit_compile="auto"` run the whole train step op by op, which on JAX means every op
    dispatched from Python: on an H100 the BN + shifts recipe did not finish one seed in 3 minutes.
    JAX traces the layer (a jitted call took 0.5 ms per 256 images there), so on JAX it is allowed.
    """
    layer = keras.layers.RandomTranslation(shift, shift, fill_mode="constant")
    if keras.backend.backend() == "jax":
        layer.supports_jit = True
    return layer


def _strided_stem_layer():
    """tfcourse's space-to-depth convolution on TensorFlow; Keras's Conv2D (same weights) on JAX."""
    if keras.backend.backend() != "tensorflow":
        return lambda filters, kernel_size, strides, use_bias: keras.layers.Conv2D(
            filters, kernel_size, strides=strides, use_bias=use_bias
        )
    from tfcourse.layers import SpaceToDepthConv2D  # imports TensorFlow

    return SpaceToDepthConv2D


def _batch_normalization_layer():
    """tfcourse's fused BN class on TensorFlow; Keras's on the backends it does not support (JAX)."""
    if keras.backend.backend() != "tensorflow":
        return keras.layers.BatchNormalization
    from tfcourse.layers import BatchNormalization  # imports TensorFlow

    return BatchNormalization


def lenet5(input_shape=(32, 32, 1), classes=10, name="lenet5"):
    """LeNet-5 (LeCun et al., 1998) as a Keras model returning `classes` logits.

    Introduced in lesson L07 (share of parameters in the fully connected layers); lesson L08
    puts it in the table of classic networks.

        [ZeroPadding 2 if the input is 28x28: LeCun padded MNIST digits to 32x32]
        C1 Conv 5x5 (6) tanh -> S2 AvgPool 2x2 -> C3 Conv 5x5 (16) tanh -> S4 AvgPool 2x2
        -> Flatten (5*5*16 = 400) -> F5 Dense 120 tanh -> F6 Dense 84 tanh -> Dense(classes)
        parameters (10 classes): 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706

    Args:
        input_shape: (32, 32, C) or (28, 28, C) images (28x28 is zero-padded to 32x32).
        classes: number of output logits, an integer >= 1.
        name: model name.
    """
    classes = check_positive_int("classes", classes)
    if len(input_shape) != 3 or tuple(input_shape[:2]) not in ((32, 32), (28, 28)):
        raise ValueError(
            f"`input_shape` must be (32, 32, C) or (28, 28, C). Received: input_shape={input_shape!r}"
        )
    layers = [keras.Input(tuple(input_shape))]
    if tuple(input_shape[:2]) == (28, 28):
        layers.append(keras.layers.ZeroPadding2D(2))
    layers += [
        keras.layers.Conv2D(6, 5, activation="tanh", name="C1"),
        keras.layers.AveragePooling2D(2, name="S2"),
        keras.layers.Conv2D(16, 5, activation="tanh", name="C3"),
        keras.layers.AveragePooling2D(2, name="S4"),
        keras.layers.Flatten(),
        keras.layers.Dense(120, activation="tanh", name="F5"),
        keras.layers.Dense(84, activation="tanh", name="F6"),
        keras.layers.Dense(classes, name="output"),
    ]
    return keras.Sequential(layers, name=name)


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def multiply_adds(model):
    """Multiply-adds of one forward pass for one example, read from the layers' shapes.

    Introduced in lesson L08 (the 1x1 bottleneck and the table of classic networks); lesson
    L07 uses it too.

        Conv (1-D, 2-D, 3-D): prod(output spatial dims) * prod(kernel shape)
                              = out_h * out_w * k_h * k_w * (C_in / groups) * C_out
        Dense:                prod(leading output dims) * in_units * units
        every other layer:    0 (pooling, normalization, activations and additions cost
                              O(activations), not O(weights), and are left out)

    Args:
        model: a built Keras model (nested models are walked into).
    """
    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(f"`model` must be a built keras.Model. Received: model={model!r}")
    convolutions = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.Dense)
    if keras.backend.backend() == "tensorflow":
        from tfcourse.layers import SpaceToDepthConv2D  # imports TensorFlow

        convolutions += (SpaceToDepthConv2D,)
    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, convolutions):
            positions = 1
            for size in layer.output.shape[1:-1]:
                positions *= int(size)
            weights = 1
            for size in layer.kernel.shape:
                weights *= int(size)
            total += positions * weights
    return total

"""The course's reference MNIST models, shared by lessons, benchmarks and tests.

Introduced in the quickstart (lesson L00, the `make demo` flagship); lesson L07 builds the
CNN up layer by layer.

    mnist_cnn:  [Conv 3x3 (f1) -> ReLU -> MaxPool 2x2] -> [Conv 3x3 (f2) -> ReLU -> MaxPool 2x2]
                -> Flatten -> Dropout -> Dense(10) logits
    mnist_mlp:  [Flatten] -> Dense(h1, act) -> ... -> Dense(10) logits
"""

import keras

from tfcourse._validation import check_in_range, check_positive_int

__all__ = ["mnist_cnn", "mnist_mlp"]


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

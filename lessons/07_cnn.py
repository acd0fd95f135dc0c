"""Convolutional networks: the arithmetic of a conv layer, edges, pooling, and a 99%+ MNIST CNN.

What you will learn:
- the notes' arithmetic, read from real Keras layers: a 32x32x3 input with six 5x5 kernels
  gives 28x28x6, 28 = (32 - 5)/1 + 1, with 5*5*3*6 = 450 weights and 6 biases; one kernel
  sums over all input channels into one output channel; with padding p and stride s the
  output side is floor((n + 2p - f)/s) + 1 [000 CNN, 004 outline 3.1];
- edge detection with a vertical-edge kernel and the Sobel kernels through `tf.nn.conv2d`,
  on the outline's 6x6 example and on a real digit [004 outline 3.1];
- pooling: no parameters, windows that do not overlap, downsampling [000];
- where the parameters are: the notes say the fully connected layers hold 60-80% of them
  [000]; we measure LeNet-5, the quickstart CNN and this lesson's networks;
- a LeNet-style network, then this lesson's best CNN (batch norm + Adam + a short cosine
  schedule), and what its first-layer filters look like [001 §3.5, 003].

Runtime: under 5 minutes on 2 idle CPU cores (README's lessons table has the measured median of 3 seeds;
`--quick`: about 50 s, 6,000 training images, 2 epochs).
Expected (checked by tests/lessons/test_07_cnn.py on `--quick`): every number of the
arithmetic exactly (28, 450 + 6, the padded formula for every case, the 6x6 edge map
[[0, 30, 30, 0]] x 4, the Sobel-x response 0 on horizontal stripes, 0 pooling parameters,
each pixel in exactly one 2x2 window, LeNet-5's 61,706 parameters of which 95.8% are in F5,
F6 and the output layer); `--quick` CNN test accuracy > 0.85.
Expected (checked by benchmarks/lessons.py on the full run): MNIST test accuracy >= 0.992 in
5 epochs (the keras-io MNIST convnet needs 15 epochs for ~0.992); with `--dataset
fashion_mnist` the same CNN reaches >= 0.91, exported as `07_cnn_fashion_mnist`.
Notes followed: 000 (CNN, pooling, FC layer), 003 (LeNet-style network), 004 outline 3.1,
001 §3.5 (first-layer filters).
"""

# %% Setup
import math

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tfcourse
from tfcourse.data import class_names, load_arrays, load_splits
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.models import lenet5, mnist_cnn, multiply_adds
from tfcourse.training import export, train

parser = lesson_parser(__doc__)
parser.add_argument("--dataset", choices=("mnist", "fashion_mnist"), default="mnist", help="training data")
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)
STEM = "07_cnn" if args.dataset == "mnist" else "07_cnn_fashion_mnist"
out = output_dir(args, STEM)
results = {"dataset": args.dataset}
TRAIN_LIMIT = 6_000 if args.quick else None
VALIDATION = 1_000 if args.quick else 5_000
EPOCHS = 2 if args.quick else 5
KERAS_IO_CONVNET_EPOCHS = 15  # keras-io examples/vision/mnist_convnet.py: 15 epochs, ~99.2%
BATCH_SIZE = 128

# %% 1. The notes' conv layer: 32x32x3 input, six 5x5 kernels
# The layer itself tells us its output shape and its weights; we compare them to the formulas.
conv = keras.layers.Conv2D(6, 5)
images = np.random.RandomState(args.seed).rand(1, 32, 32, 3).astype("float32")
feature_maps = conv(images).numpy()
results["conv_output_shape"] = list(feature_maps.shape[1:])
results["conv_output_side_formula"] = (32 - 5) // 1 + 1
results["conv_kernel_weights"] = int(np.prod(conv.kernel.shape))
results["conv_kernel_weights_formula"] = 5 * 5 * 3 * 6
results["conv_biases"] = int(np.prod(conv.bias.shape))
results["conv_parameters"] = conv.count_params()
print(f"32x32x3 * six 5x5 kernels -> {feature_maps.shape[1:]}, {results['conv_kernel_weights']} weights "
      f"+ {results['conv_biases']} biases")

# One kernel covers all 3 input channels: output channel k at (i, j) is the sum over the
# 5x5x3 window of window * kernel[..., k], plus bias k. Computed here by hand for every
# position of channel 0, and as the sum of three one-channel convolutions.
kernel, bias = conv.kernel.numpy(), conv.bias.numpy()
by_hand = np.array([[np.sum(images[0, i:i + 5, j:j + 5, :] * kernel[..., 0]) + bias[0]
                     for j in range(28)] for i in range(28)])
per_channel = sum(
    tf.nn.conv2d(images[..., c:c + 1], kernel[:, :, c:c + 1, 0:1], strides=1, padding="VALID").numpy()[0, ..., 0]
    for c in range(3)
) + bias[0]
results["one_kernel_sums_channels_max_error_by_hand"] = float(np.abs(by_hand - feature_maps[0, ..., 0]).max())
results["one_kernel_sums_channels_max_error_per_channel_sum"] = float(np.abs(per_channel - feature_maps[0, ..., 0]).max())

# The padded formula: side = floor((n + 2p - f) / s) + 1, against ZeroPadding2D(p) + Conv2D(f, s).
padding_cases = [(32, 5, 0, 1), (32, 5, 2, 1), (28, 3, 1, 1), (28, 3, 1, 2), (227, 11, 0, 4), (7, 3, 0, 2), (6, 3, 0, 1)]
padding_rows = []
for n, f, p, s in padding_cases:
    layer_stack = keras.Sequential(
        [keras.Input((n, n, 1)), keras.layers.ZeroPadding2D(p), keras.layers.Conv2D(1, f, strides=s)]
    )
    measured = layer_stack.output_shape[1]
    formula = math.floor((n + 2 * p - f) / s) + 1
    padding_rows.append({"n": n, "f": f, "p": p, "s": s, "layer": measured, "formula": formula})
results["padded_formula_cases"] = padding_rows
results["padded_formula_all_match"] = all(row["layer"] == row["formula"] for row in padding_rows)
# "same" padding is p = (f - 1) / 2 at stride 1: the side is kept.
results["same_padding_keeps_side"] = keras.layers.Conv2D(1, 5, padding="same").compute_output_shape((1, 32, 32, 3))[1]
print("n   f  p  s | layer  (n+2p-f)/s+1")
for row in padding_rows:
    print(f"{row['n']:<3} {row['f']:<2} {row['p']} {row['s']} | {row['layer']:>5}  {row['formula']:>5}")

# %% 2. Edge detection with tf.nn.conv2d: a vertical-edge kernel and Sobel
# The outline's example: a 6x6 image, bright (10) on the left half, dark (0) on the right; the
# vertical-edge kernel [[1, 0, -1]] x 3 answers 30 where the edge is and 0 elsewhere.
vertical = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], "float32")
sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], "float32")  # responds to vertical edges
sobel_y = sobel_x.T  # responds to horizontal edges


def filter2d(image, kernel):
    """One-channel image (H, W), one 3x3 kernel -> the valid cross-correlation (H-2, W-2)."""
    return tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], strides=1, padding="VALID").numpy()[0, :, :, 0]


step = np.zeros((6, 6), "float32")
step[:, :3] = 10.0
edge_map = filter2d(step, vertical)
results["edge_6x6_vertical_output"] = edge_map.tolist()
print("6x6 half-bright image * vertical-edge kernel:\n", edge_map)
stripes = np.zeros((6, 6), "float32")
stripes[:3, :] = 10.0  # a horizontal edge only
results["sobel_x_on_horizontal_edge_max_abs"] = float(np.abs(filter2d(stripes, sobel_x)).max())
results["sobel_y_on_horizontal_edge_max_abs"] = float(np.abs(filter2d(stripes, sobel_y)).max())

test_images, test_labels = load_arrays(args.dataset, "test")
digit = test_images[0, :, :, 0].astype("float32") / 255.0
responses = {"vertical edge": filter2d(digit, vertical), "Sobel x": filter2d(digit, sobel_x),
             "Sobel y": filter2d(digit, sobel_y)}
magnitude = np.hypot(responses["Sobel x"], responses["Sobel y"])
results["digit_sobel_x_equals_vertical_plus_centre_row"] = float(
    np.abs(responses["Sobel x"] - responses["vertical edge"]
           - filter2d(digit, np.array([[0, 0, 0], [1, 0, -1], [0, 0, 0]], "float32"))).max()
)
fig, axes = plt.subplots(1, 5, figsize=(14, 3))
for ax, (title, picture) in zip(axes, [("input", digit), *responses.items(), ("Sobel magnitude", magnitude)]):
    ax.imshow(picture, cmap="gray" if title in ("input", "Sobel magnitude") else "RdBu")
    ax.set_title(title)
    ax.axis("off")
save_figure(fig, out / "edges.png")

# %% 3. Pooling: no parameters, no overlap, downsampling
# The gradient of sum(pool(x)) with respect to x counts how many windows use each pixel.
pool = keras.layers.MaxPooling2D(2)
grid = tf.constant(np.random.RandomState(args.seed).rand(1, 28, 28, 1).astype("float32"))
results["pool_parameters"] = pool.count_params()
results["pool_output_side"] = pool(grid).shape[1]
for name, layer in [("avg_2x2", keras.layers.AveragePooling2D(2)),
                    ("avg_3x3_stride2", keras.layers.AveragePooling2D(3, strides=2))]:
    with tf.GradientTape() as tape:
        tape.watch(grid)
        pooled = layer(grid)
        total = tf.reduce_sum(pooled)
    windows_per_pixel = (tape.gradient(total, grid).numpy() * layer.pool_size[0] * layer.pool_size[1]).round().astype(int)
    results[f"pool_{name}_windows_per_pixel_min"] = int(windows_per_pixel.min())
    results[f"pool_{name}_windows_per_pixel_max"] = int(windows_per_pixel.max())
with tf.GradientTape() as tape:
    tape.watch(grid)
    total = tf.reduce_sum(pool(grid))
winners = tape.gradient(total, grid).numpy()
results["maxpool_pixels_passing_gradient"] = int((winners != 0).sum())  # one winner per window
results["maxpool_windows"] = 14 * 14
print(f"2x2 max pooling: {results['pool_parameters']} parameters, 28 -> {results['pool_output_side']}, "
      f"each pixel in {results['pool_avg_2x2_windows_per_pixel_min']}..{results['pool_avg_2x2_windows_per_pixel_max']} "
      f"windows (3x3 stride 2 overlaps: up to {results['pool_avg_3x3_stride2_windows_per_pixel_max']})")


# %% 4. The networks: LeNet-style, then the lesson's best CNN
# The LeNet-style net is LeNet-5 itself (tanh, average pooling), the digits padded to 32x32.
# The best CNN: a 3x3 convolution per stage, batch norm before each ReLU, max pooling, a
# 128-unit hidden layer with dropout. A short cosine schedule lets Adam start fast and land.
# BN's moving statistics use momentum 0.9: our runs are a few hundred steps (Keras's 0.99
# needs thousands, see lesson L06).
def best_cnn(classes=10):
    """conv(32) -> pool -> conv(64) -> pool -> dense(128) -> dropout -> dense(classes), BN + ReLU."""

    def bn_relu():
        return [keras.layers.BatchNormalization(momentum=0.9), keras.layers.ReLU()]

    return keras.Sequential(
        [keras.Input((28, 28, 1)),
         keras.layers.Conv2D(32, 3, padding="same", use_bias=False), *bn_relu(), keras.layers.MaxPooling2D(),
         keras.layers.Conv2D(64, 3, padding="same", use_bias=False), *bn_relu(), keras.layers.MaxPooling2D(),
         keras.layers.Flatten(),
         keras.layers.Dense(128, use_bias=False), *bn_relu(), keras.layers.Dropout(0.3), keras.layers.Dense(classes)],
        name="best_cnn",
    )


# %% 5. Where the parameters are: the notes' "60-80% in the fully connected layers"
def fc_share(model):
    dense = sum(layer.count_params() for layer in model.layers if isinstance(layer, keras.layers.Dense))
    return dense / model.count_params()


share_rows = []
for label, model in [("LeNet-5", lenet5()), ("quickstart CNN", mnist_cnn()), ("best CNN (this lesson)", best_cnn())]:
    share_rows.append({"model": label, "parameters": model.count_params(), "fc_share": fc_share(model),
                       "multiply_adds": multiply_adds(model)})
# The same conv body with narrower dense heads: the share falls with the head's width, and
# with global average pooling instead of Flatten (as in GoogLeNet and ResNet) it is tiny.
for hidden in (0, 8, 16, 32, 128, 512):
    head = [keras.layers.Dense(hidden, activation="relu")] if hidden else []
    body = best_cnn().layers[:-5]  # up to and including Flatten
    model = keras.Sequential([keras.Input((28, 28, 1)), *body, *head, keras.layers.Dense(10)])
    share_rows.append({"model": f"best CNN body + dense({hidden}) head" if hidden else "best CNN body + dense(10) only",
                       "parameters": model.count_params(), "fc_share": fc_share(model),
                       "multiply_adds": multiply_adds(model)})
gap = keras.Sequential([keras.Input((28, 28, 1)), *best_cnn().layers[:-5][:-1], keras.layers.GlobalAveragePooling2D(),
                        keras.layers.Dense(10)])
share_rows.append({"model": "best CNN body + global average pooling", "parameters": gap.count_params(),
                   "fc_share": fc_share(gap), "multiply_adds": multiply_adds(gap)})
results["fc_share_table"] = share_rows
results["lenet5_parameters"] = share_rows[0]["parameters"]
results["lenet5_fc_share"] = share_rows[0]["fc_share"]
results["best_cnn_fc_share"] = share_rows[2]["fc_share"]
results["fc_share_rows_in_60_80_percent"] = [row["model"] for row in share_rows if 0.6 <= row["fc_share"] <= 0.8]
print(f"\n{'model':<42} {'params':>9} {'FC share':>9} {'mult-adds':>11}")
for row in share_rows:
    print(f"{row['model']:<42} {row['parameters']:>9,} {row['fc_share']:>8.1%} {row['multiply_adds']:>11,}")
print("60-80% holds for:", ", ".join(results["fc_share_rows_in_60_80_percent"]) or "none of these")

# %% 6. Train on the data set: LeNet-5 for a baseline, then the best CNN
keras.utils.set_random_seed(args.seed)  # before the pipeline: its shuffle seed combines with it
splits = load_splits(args.dataset, batch_size=BATCH_SIZE, normalization="scale", validation_size=VALIDATION,
                     train_limit=TRAIN_LIMIT, shuffle_seed=args.seed)


def fit(build_model, epochs):
    run = train(
        build_model, splits.train, validation_data=splits.validation, epochs=epochs,
        global_batch_size=BATCH_SIZE,
        optimizer=lambda: tfcourse.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
            3e-3, decay_steps=splits.info.steps_per_epoch * epochs, alpha=0.01)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=16, seed=args.seed, verbose=2,
    )
    _, test_accuracy = run.model.evaluate(splits.test, verbose=0)
    return run, float(test_accuracy)


lenet_run, results["lenet5_test_accuracy"] = fit(lambda: lenet5((28, 28, 1), name="lenet5"), EPOCHS)
best_run, results["best_cnn_test_accuracy"] = fit(best_cnn, EPOCHS)
results["best_cnn_epochs"] = EPOCHS
results["keras_io_convnet_epochs"] = KERAS_IO_CONVNET_EPOCHS
results["best_cnn_val_accuracy_per_epoch"] = [float(a) for a in best_run.history["val_accuracy"]]
target = 0.992 if args.dataset == "mnist" else 0.91
results["target_test_accuracy"] = target
results["target_met"] = results["best_cnn_test_accuracy"] >= target
print(f"\n{args.dataset} test accuracy: LeNet-5 {results['lenet5_test_accuracy']:.4f}, "
      f"best CNN {results['best_cnn_test_accuracy']:.4f} after {EPOCHS} epochs "
      f"(keras-io convnet: {KERAS_IO_CONVNET_EPOCHS} epochs); target {target}: "
      f"{'met' if results['target_met'] else 'MISSED'}")

# %% 7. The first layer's filters
# Each 3x3 kernel of the first conv layer, drawn as an image: after training many are
# oriented edge and blob detectors, like the hand-made kernels of section 2.
first_kernels = best_run.model.layers[0].kernel.numpy()[:, :, 0, :]
fig, axes = plt.subplots(4, 8, figsize=(8, 4))
for index, ax in enumerate(axes.flat):
    ax.imshow(first_kernels[:, :, index], cmap="RdBu")
    ax.axis("off")
fig.suptitle(f"first-layer 3x3 filters of the best CNN ({args.dataset})")
save_figure(fig, out / "first_layer_filters.png")
results["first_layer_filters_shape"] = list(first_kernels.shape)

# %% Export the best CNN (plain TensorFlow serves it: uint8 or float images, `probabilities`)
# The class names travel with the SavedModel: `tfcourse predict` prints "Ankle boot", not "9".
results["class_names"] = list(class_names(args.dataset))
results["saved_model"] = str(export(best_run.model, STEM, root=args.saved_models_dir,
                                    class_names=results["class_names"]))

report(results, out / "results.json", title=f"L07 Convolutional networks ({args.dataset})")

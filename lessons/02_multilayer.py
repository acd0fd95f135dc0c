"""Multi-layer networks on MNIST: hidden layers, why activations must be nonlinear, and which one to use.

What you will learn:
- a hidden layer written with `tf.matmul` (h = relu(x W1 + b1), logits = h W2 + b2) [004 §1.3-1.4]
  and the same network from Keras `Dense` layers (`tfcourse.models.mnist_mlp`): equal outputs and
  gradients given the same weights;
- without a nonlinearity, a stack of layers is one matrix [000, 002 §3]:
  x W1 W2 W3 + ((b1 W2 + b2) W3 + b3), computed from the layers' weights, equals the stacked model,
  and the trained stack is no better than softmax regression;
- sigmoid, tanh, ReLU, Leaky ReLU, ELU and Maxout (`tfcourse.layers.Maxout`) in the same MLP:
  learning curves and a table of parameter counts (Maxout has about twice) and test accuracy [000];
- vanishing gradients [002 §1, §6]: per-layer gradient norms of a deep sigmoid net shrink layer
  by layer towards the input, a ReLU net's (He init) do not;
- exploding [002 §1]: a too-large init (N(0, 1)) multiplies the activations at every layer, and
  the first gradient step takes the loss to NaN;
- dead ReLUs [002 §6]: the fraction of hidden units that output 0 for every test image after one
  epoch at a too-high learning rate;
- tanh trains faster than sigmoid [002 §8] (tanh'(0) = 1, sigmoid'(0) = 1/4): epochs to a fixed loss;
- the best MLP: 784-512-512-10 ReLU with dropout 0.2, Adam with a cosine-decayed learning rate.

Runtime: under 3 minutes on 2 idle CPU cores (README's lessons table has the measured time);
`--quick`: about 40 s of CPU user time, measured on a shared machine; it
compares the activations on 6,000 training images for 2 epochs and 2,000 test images.
Expected: tf.matmul vs Dense max logit and gradient difference < 1e-5; linear stack vs one
matrix: max relative difference < 1e-5; the linear stack stays below the linear limit (< 0.93
test accuracy) and ReLU, Leaky ReLU, ELU, tanh and Maxout beat it (full run: all six); Maxout's
parameters are 1.9-2.1x ReLU's; deep sigmoid net: first-layer gradient norm < 1e-2 x the last
hidden layer's, ReLU (He): > 0.1 x; N(0, 1) init of a 10-layer Leaky ReLU net: activation
std grows > 1e6-fold and training hits a NaN loss within 10 steps, He init a finite loss; dead
ReLU fraction < 0.05 at SGD lr 0.05 and > 0.5 at lr 2.0; tanh reaches training loss 0.5 in fewer
epochs than sigmoid (plain SGD, same init and batches: tanh within 5 epochs, sigmoid not within 10).
Full run: best MLP >= 98.4% test accuracy after 10 epochs on the 60,000 training images (the
Keras mnist_mlp example reports 98.40% after 20 epochs); `--quick` (10,000 images, 1 epoch): > 0.88.
Notes followed: 000 (activation functions), 002 §1-8 (vanishing/exploding gradients, nonlinear
activations, ReLU, cross-entropy, tanh vs sigmoid), 004 §1.3-1.4 (shallow and deep networks),
001 §2 (initial loss). Erratum: 002 §5 lists "when the input is negative the derivative is 0" as
an advantage of ReLU; it is the cause of dead ReLUs (section 6 below counts them), and Leaky ReLU
exists to remove it.
"""

# %% Setup
import keras
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse.data import load_arrays, load_splits  # noqa: E402
from tfcourse.layers import Maxout  # noqa: E402
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure  # noqa: E402
from tfcourse.models import mnist_mlp  # noqa: E402
from tfcourse.optimizers import SGD, Adam  # noqa: E402
from tfcourse.training import export, train  # noqa: E402

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "02_multilayer")
results = {}
TRAIN = 6_000 if args.quick else 20_000
COMPARISON_EPOCHS = 2 if args.quick else 3
BEST_EPOCHS = 1 if args.quick else 10
BEST_TRAIN = 10_000 if args.quick else None  # None: all 60,000 training images
VALIDATION = 2_000 if args.quick else 10_000  # validation images of the activation comparison
TEST = 2_000 if args.quick else 10_000  # test images of the activation comparison
logits_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

test_images, test_labels = load_arrays("mnist", "test")
x_probe = (test_images[:1000].reshape(-1, 784) / 255.0).astype("float32")
y_probe = test_labels[:1000]


def fit(build_model, data, epochs, optimizer, batch_size, validation=None, callbacks=(), steps_per_execution=1):
    """Train with the shared engine on logits; its TrainResult.

    steps_per_execution > 1 runs that many batches per call into TensorFlow (same updates, less
    Python overhead); only where no callback needs every batch.
    """
    return train(
        build_model, data, validation_data=validation, epochs=epochs, global_batch_size=batch_size,
        strategy="default", optimizer=optimizer, loss=logits_loss, seed=args.seed, callbacks=callbacks,
        steps_per_execution=steps_per_execution,
    )  # fmt: skip


# %% 1. A hidden layer with tf.matmul, then with Dense
# 784 -> 256 (ReLU) -> 10, written out with tf.Variable weights.
rng = np.random.RandomState(args.seed)
W1 = tf.Variable(rng.normal(0, np.sqrt(2 / 784), (784, 256)).astype("float32"))  # He init [004 §2.2.2]
b1 = tf.Variable(rng.normal(0, 0.1, 256).astype("float32"))
W2 = tf.Variable(rng.normal(0, np.sqrt(1 / 256), (256, 10)).astype("float32"))
b2 = tf.Variable(rng.normal(0, 0.1, 10).astype("float32"))


def matmul_mlp(x):
    hidden = tf.nn.relu(tf.matmul(x, W1) + b1)
    return tf.matmul(hidden, W2) + b2


dense_mlp = mnist_mlp(hidden_units=(256,), activation="relu", input_shape=(784,))
dense_mlp.set_weights([v.numpy() for v in (W1, b1, W2, b2)])
with tf.GradientTape(persistent=True) as tape:
    matmul_logits, dense_logits = matmul_mlp(x_probe), dense_mlp(x_probe)
    matmul_loss, dense_loss = logits_loss(y_probe, matmul_logits), logits_loss(y_probe, dense_logits)
matmul_grads = tape.gradient(matmul_loss, [W1, b1, W2, b2])
dense_grads = tape.gradient(dense_loss, dense_mlp.trainable_variables)
results["matmul_vs_dense_max_logit_difference"] = float(np.abs(matmul_logits - dense_logits).max())
results["matmul_vs_dense_max_gradient_difference"] = float(
    max(np.abs(a - b).max() for a, b in zip(matmul_grads, dense_grads))
)
results["untrained_mlp_loss"] = float(matmul_loss)
print(
    f"tf.matmul vs Dense: max logit difference {results['matmul_vs_dense_max_logit_difference']:.2g}, "
    f"max gradient difference {results['matmul_vs_dense_max_gradient_difference']:.2g}"
)

# %% 2. A stack of linear layers is one matrix
# With no activation, x W1 W2 W3 + ((b1 W2 + b2) W3 + b3) is the whole network: one (784, 10) matrix.
linear_stack = mnist_mlp(hidden_units=(256, 128), activation=None, input_shape=(784,), name="linear_stack")
for layer in linear_stack.layers:  # random biases, so that the bias formula is put to the test
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, rng.normal(0, 0.5, bias.shape).astype("float32")])
(K1, c1), (K2, c2), (K3, c3) = (
    [w.astype("float64") for w in layer.get_weights()] for layer in linear_stack.layers
)
one_matrix, one_bias = K1 @ K2 @ K3, (c1 @ K2 + c2) @ K3 + c3
stacked_out = linear_stack(x_probe).numpy()
one_layer_out = x_probe.astype("float64") @ one_matrix + one_bias
results["linear_stack_vs_one_matrix_max_relative_difference"] = float(
    np.abs(stacked_out - one_layer_out).max() / np.abs(one_layer_out).max()
)
results["linear_stack_one_matrix_shape"] = str(one_matrix.shape)
print(
    f"3 linear layers = one {one_matrix.shape} matrix: max relative difference "
    f"{results['linear_stack_vs_one_matrix_max_relative_difference']:.2g}"
)

# %% 3. Activations compared: sigmoid, tanh, ReLU, Leaky ReLU, ELU, Maxout (and none)
# The same 784-128-128-10 MLP, trained the same way (SGD, lr 0.05, momentum 0.9, batch 64); Maxout takes the
# max of 2 linear pieces per unit, so its Dense layers are twice as wide.
HIDDEN = (128, 128)
ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"]


def mlp_with(activation):
    keras.utils.set_random_seed(args.seed)
    if activation == "maxout":
        layers = [keras.Input((784,))]
        for units in HIDDEN:
            layers += [keras.layers.Dense(2 * units), Maxout(units)]
        return keras.Sequential(layers + [keras.layers.Dense(10)], name="maxout_mlp")
    return mnist_mlp(HIDDEN, activation=None if activation == "linear" else activation, input_shape=(784,))


splits = load_splits(
    "mnist", batch_size=64, flatten=True, train_limit=TRAIN, validation_size=VALIDATION, shuffle_seed=args.seed
)
x_test, y_test = (test_images[:TEST].reshape(-1, 784) / 255.0).astype("float32"), test_labels[:TEST]
histories = {}
for activation in ACTIVATIONS:
    run = fit(lambda: mlp_with(activation), splits.train, COMPARISON_EPOCHS, lambda: SGD(0.05, momentum=0.9), 64,
              splits.validation, steps_per_execution=8)  # fmt: skip
    histories[activation] = run.history
    results[f"activation_{activation}_parameters"] = run.model.count_params()
    test_accuracy = run.model.evaluate(x_test, y_test, batch_size=500, verbose=0)[1]
    results[f"activation_{activation}_test_accuracy"] = float(test_accuracy)
    results[f"activation_{activation}_final_train_loss"] = run.history["loss"][-1]
results["maxout_over_relu_parameters"] = results["activation_maxout_parameters"] / results["activation_relu_parameters"]

print(f"\n{'activation':<12}{'parameters':>12}{'test accuracy':>15}")
for activation in ACTIVATIONS:
    print(
        f"{activation:<12}{results[f'activation_{activation}_parameters']:>12,}"
        f"{results[f'activation_{activation}_test_accuracy']:>15.4f}"
    )

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
epochs_axis = np.arange(1, COMPARISON_EPOCHS + 1)
for activation, history in histories.items():
    left.plot(epochs_axis, history["loss"], "o-", label=activation)
    right.plot(epochs_axis, history["val_accuracy"], "o-", label=activation)
left.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Same MLP, SGD(0.05, momentum 0.9)")
right.set(xlabel="epoch", ylabel="validation accuracy", title="Activations compared")
right.legend()
save_figure(fig, out / "activations.png")


# %% 4. Vanishing gradients: per-layer gradient norms in a deep sigmoid net vs ReLU
# Backpropagation multiplies by sigma'(z) <= 1/4 at every sigmoid layer [002 §1, §6].
def deep_net(activation, depth, width, initializer):
    layers = [keras.Input((784,))]
    layers += [keras.layers.Dense(width, activation=activation, kernel_initializer=initializer) for _ in range(depth)]
    return keras.Sequential(layers + [keras.layers.Dense(10)])


DEPTH = 8
gradient_norms, initializers = {}, {"sigmoid": "glorot_uniform", "relu": "he_normal"}
for activation, initializer in initializers.items():
    keras.utils.set_random_seed(args.seed)
    model = deep_net(activation, DEPTH, 64, initializer)
    with tf.GradientTape() as tape:
        loss = logits_loss(y_probe[:256], model(x_probe[:256]))
    kernels = [layer.kernel for layer in model.layers[:DEPTH]]  # the hidden layers, input side first
    norms = [float(tf.norm(g)) for g in tape.gradient(loss, kernels)]
    gradient_norms[activation] = norms
    results[f"deep_{activation}_first_over_last_hidden_gradient_norm"] = norms[0] / norms[-1]
    print(f"deep {activation}: |dL/dW| per hidden layer " + " ".join(f"{n:.1e}" for n in norms))

fig, ax = plt.subplots(figsize=(7, 4))
for activation, norms in gradient_norms.items():
    ax.semilogy(np.arange(1, DEPTH + 1), norms, "o-", label=f"{activation} ({initializers[activation]})")
ax.set(xlabel="hidden layer (1 = next to the input)", ylabel="gradient norm |dL/dW|",
       title=f"Vanishing gradients: {DEPTH} hidden layers of 64 units")  # fmt: skip
ax.legend()
save_figure(fig, out / "vanishing_gradients.png")


# %% 5. Exploding: a too-large initialization
# With N(0, 1) weights each 256-unit (Leaky) ReLU layer multiplies the activation scale by about
# sqrt(256 / 2) = 11, so the first loss is ~1e10 and so is the gradient; the first SGD step makes the
# weights huge and the next forward pass overflows float32 to inf, and inf - inf = NaN. (With plain
# ReLU the same giant step may instead kill most units, leaving a huge but finite loss; Leaky ReLU
# cannot die, so the explosion runs its course on every seed.)
class BatchLoss(keras.callbacks.Callback):
    """The loss Keras reports after every batch (a running mean: NaN once any batch was NaN)."""

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


explode_data = (x_probe[:640], y_probe[:640])
for name, initializer in [("normal_1.0", keras.initializers.RandomNormal(stddev=1.0)), ("he_normal", "he_normal")]:
    keras.utils.set_random_seed(args.seed)
    probe_model = deep_net("leaky_relu", 10, 256, initializer)
    h = x_probe[:256]
    for layer in probe_model.layers[:10]:
        h = layer(h)
    results[f"explode_{name}_activation_std_growth"] = float(np.std(h) / np.std(x_probe[:256]))
    batch_loss = BatchLoss()
    fit(lambda: deep_net("leaky_relu", 10, 256, initializer), explode_data, 1, lambda: SGD(0.01), 64,
        callbacks=[batch_loss, keras.callbacks.TerminateOnNaN()])  # fmt: skip
    nan_steps = [step for step, loss in enumerate(batch_loss.losses, start=1) if not np.isfinite(loss)]
    results[f"explode_{name}_first_nan_step"] = nan_steps[0] if nan_steps else -1
    results[f"explode_{name}_first_loss"] = batch_loss.losses[0]
    print(
        f"init {name}: activation std x{results[f'explode_{name}_activation_std_growth']:.3g} over 10 layers; "
        f"first loss {batch_loss.losses[0]:.3g}; first NaN loss at step {results[f'explode_{name}_first_nan_step']}"
    )

# %% 6. Dead ReLUs after training with a too-high learning rate
# One large step can push a unit's bias so low that it outputs 0 for every input; then its gradient
# is 0 too, and it never recovers.
for learning_rate in (0.05, 2.0):
    run = fit(lambda: mnist_mlp((256,), "relu", (784,)), splits.train, 1, lambda: SGD(learning_rate), 64)
    hidden = keras.Model(run.model.inputs[0], run.model.layers[0].output)(x_probe).numpy()
    results[f"dead_relu_fraction_lr_{learning_rate}"] = float(np.mean(np.all(hidden <= 0, axis=0)))
    print(f"SGD lr {learning_rate}: {results[f'dead_relu_fraction_lr_{learning_rate}']:.1%} of the ReLUs are dead")

# %% 7. tanh trains faster than sigmoid: epochs to a fixed training loss
# Same init, same batches, plain SGD: tanh'(0) = 1 but sigmoid'(0) = 1/4, and tanh is zero-centred.
# Quick: 11 epochs, enough to show "sigmoid not within 10".
TARGET_LOSS, MAX_EPOCHS = 0.5, 11 if args.quick else 15
small = load_splits("mnist", batch_size=50, flatten=True, train_limit=3_000, shuffle_seed=args.seed)
for activation in ("tanh", "sigmoid"):
    history = fit(lambda: mnist_mlp((64, 64), activation, (784,)), small.train, MAX_EPOCHS, lambda: SGD(0.1), 50,
                  steps_per_execution=10).history  # fmt: skip
    reached = [epoch for epoch, loss in enumerate(history["loss"], start=1) if loss <= TARGET_LOSS]
    results[f"{activation}_epochs_to_loss_{TARGET_LOSS}"] = reached[0] if reached else MAX_EPOCHS + 1
    results[f"{activation}_final_train_loss"] = history["loss"][-1]
    shown = f"{reached[0]} epochs" if reached else f"more than {MAX_EPOCHS} epochs"
    print(f"{activation}: training loss <= {TARGET_LOSS} after {shown}")

# %% 8. The best MLP: 784-512-512-10, ReLU, dropout 0.2, Adam with cosine decay
best_splits = load_splits(
    "mnist", batch_size=128, flatten=True, validation_size=0, train_limit=BEST_TRAIN, shuffle_seed=args.seed
)


def best_mlp():
    layers = [keras.Input((784,))]
    for _ in range(2):
        layers += [keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.2)]
    return keras.Sequential(layers + [keras.layers.Dense(10)], name="best_mlp")


schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=BEST_EPOCHS * best_splits.info.steps_per_epoch)
best = fit(best_mlp, best_splits.train, BEST_EPOCHS, lambda: Adam(schedule), 128)
results["best_mlp_epochs"] = BEST_EPOCHS
results["best_mlp_parameters"] = best.model.count_params()
results["best_mlp_test_accuracy"] = float(best.model.evaluate(best_splits.test, verbose=0)[1])
print(f"best MLP: test accuracy {results['best_mlp_test_accuracy']:.4f} after {BEST_EPOCHS} epochs")

# %% Export the best MLP
results["saved_model"] = str(export(best.model, "02_multilayer", root=args.saved_models_dir))

report(results, out / "results.json", title="L02 Multi-layer networks")

"""Initialization: why N(0, 0.01) kills a deep tanh net, and how Xavier and He keep it alive.

What you will learn:
- the per-layer activation variance of a 10-layer, 500-unit tanh network fed unit-Gaussian
  input, with weights N(0, 0.01), N(0, 0.02), Xavier (randn / sqrt(fan_in)), and He
  (randn / sqrt(fan_in / 2)) for ReLU -- the notes' table [001 §3.4];
- the rule behind it: with small activations each layer multiplies the variance by
  fan_in * Var(w), so N(0, 0.01) gives 500 * 1e-4 = 0.05 per layer, Xavier gives 1 (tanh
  then shrinks it slowly), He gives 2 * 1/2 = 1 for ReLU;
- why all-zero weights fail: every hidden unit computes the same thing and gets the same
  gradient, so they never become different (symmetry), shown by training on MNIST;
- `tfcourse.initializers`, subclasses of `keras.initializers.Initializer`.

Runtime: about 20 s on 2 CPU cores (`--quick`: about 15 s).
Expected: N(0, 0.01) variance falls by 0.05x per layer (measured 0.050) to ~1e-13 at layer 10;
N(0, 0.02) by 0.2x; Xavier (tanh) decays slowly (0.4 at layer 1 to ~0.05 at layer 10: tanh
compresses) and He (ReLU) stays ~0.7-1.3, while Xavier on ReLU halves per layer; zero-init MLPs
stay near chance (~0.11-0.18 validation accuracy) with 1 distinct hidden unit of 64, the Xavier MLP
reaches ~0.92 (`--quick`: ~0.8).
About the notes' table: it shows a ~1e-3x drop per layer (1e-25 by layer 8). With 500 units and
standard deviation 0.01 the drop is 500 * 0.01**2 = 0.05x per layer, ~1e-11 by layer 8; the notes'
numbers need fan_in * Var(w) ~ 1e-3 (e.g. std 0.0014 at 500 units), which this lesson also runs
("notes_scale") to reproduce the table's magnitude.
Notes followed: 000 (initialization, N(0, 0.02), Xavier and He formulas), 001 §3.4 (variance
table), 004 §2.2.2.
"""

# %% Setup
import math

import keras
import numpy as np

from tfcourse import initializers
from tfcourse.data import load_splits
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.training import export, train

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "04_initialization")
results = {}

# %% The notes' experiment: 10 layers of 500 units on 1000 unit-Gaussian examples
DEPTH, WIDTH, EXAMPLES = 10, 500, 1000
x = np.random.RandomState(args.seed).randn(EXAMPLES, WIDTH).astype("float32")
print(f"Layer 0 (input): variance {x.var():.6e}")

SCHEMES = {
    # name: (activation, initializer factory taking a per-layer seed)
    "normal_0.01_tanh": ("tanh", lambda s: initializers.RandomNormal(stddev=0.01, seed=s)),
    "normal_0.02_tanh": ("tanh", lambda s: initializers.RandomNormal(stddev=0.02, seed=s)),
    "notes_scale_tanh": ("tanh", lambda s: initializers.RandomNormal(stddev=math.sqrt(1e-3 / WIDTH), seed=s)),
    "xavier_tanh": ("tanh", lambda s: initializers.NotesXavier(seed=s)),
    "he_relu": ("relu", lambda s: initializers.NotesHe(seed=s)),
    "xavier_relu": ("relu", lambda s: initializers.NotesXavier(seed=s)),
}


def layer_activations(activation, make_initializer):
    """Every layer's output for the unit-Gaussian batch (a functional model exposing them all)."""
    inputs = keras.Input((WIDTH,))
    h, outputs = inputs, []
    for layer in range(DEPTH):
        h = keras.layers.Dense(
            WIDTH, activation=activation, use_bias=False, kernel_initializer=make_initializer(args.seed * 100 + layer)
        )(h)
        outputs.append(h)
    return [np.asarray(a, "float64") for a in keras.Model(inputs, outputs)(x)]


activations = {}
for name, (activation, make_initializer) in SCHEMES.items():
    acts = layer_activations(activation, make_initializer)
    activations[name] = acts
    print(f"\n{name}")
    for i, a in enumerate(acts, start=1):
        print(f"  Layer {i}: variance {a.var():.6e}")
        results[f"{name}_var_layer{i}"] = float(a.var())

# The closed-form rule for small activations (tanh(z) ~ z): Var_l = (fan_in * Var(w)) ** l.
ratio = [activations["normal_0.01_tanh"][i + 1].var() / activations["normal_0.01_tanh"][i].var() for i in range(DEPTH - 1)]
results["normal_0.01_tanh_mean_ratio_per_layer"] = float(np.mean(ratio))
results["normal_0.01_tanh_predicted_ratio"] = WIDTH * 0.01**2
results["notes_table_layer8_variance"] = 6.623673e-25  # 001 §3.4, for comparison

# %% Figure: variance per layer (log scale) and per-layer histograms
import matplotlib.pyplot as plt  # noqa: E402  (backend chosen by lesson_parser)

fig, ax = plt.subplots(figsize=(7, 4))
for name, acts in activations.items():
    ax.semilogy(range(1, DEPTH + 1), [a.var() for a in acts], marker="o", label=name)
ax.set_xlabel("layer")
ax.set_ylabel("activation variance")
ax.set_title("Per-layer activation variance, 10 x 500 network, unit-Gaussian input")
ax.legend(fontsize=7)
save_figure(fig, out / "variance_per_layer.png")

shown = ["normal_0.01_tanh", "xavier_tanh", "he_relu"]
fig, axes = plt.subplots(len(shown), DEPTH, figsize=(2.0 * DEPTH, 2.0 * len(shown)), sharey="row")
for row, name in enumerate(shown):
    for col, a in enumerate(activations[name]):
        ax = axes[row, col]
        ax.hist(a.ravel(), bins=50, color=f"C{row}")
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
        if row == 0:
            ax.set_title(f"layer {col + 1}", fontsize=8)
        if col == 0:
            ax.set_ylabel(name, fontsize=8)
fig.suptitle("Activation histograms per layer (each panel has its own x-range)")
save_figure(fig, out / "activation_histograms.png")

# %% All-zero init fails: symmetry, shown on real MNIST
splits = load_splits(
    "mnist", batch_size=128, normalization="scale", flatten=True,
    train_limit=4_000 if args.quick else 20_000, validation_size=10_000,
)
epochs = 1 if args.quick else 3


def mlp(activation, kernel_initializer):
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(64, activation=activation, kernel_initializer=kernel_initializer),
            keras.layers.Dense(64, activation=activation, kernel_initializer=kernel_initializer),
            keras.layers.Dense(10, kernel_initializer=kernel_initializer),
        ]
    )


def distinct_units(model):
    """How many different hidden units the first layer holds (columns equal to 1e-6)."""
    kernel = model.layers[0].kernel.numpy()
    return len({tuple(np.round(column, 6)) for column in kernel.T})


for name, activation, initializer in [
    ("zeros_tanh", "tanh", "zeros"),
    ("zeros_sigmoid", "sigmoid", "zeros"),
    ("xavier_tanh", "tanh", initializers.GlorotUniform(seed=args.seed)),
]:
    model = train(
        lambda: mlp(activation, initializer),
        splits.train,
        epochs=epochs,
        global_batch_size=splits.info.batch_size,
        optimizer=lambda: keras.optimizers.SGD(0.5 if activation == "sigmoid" else 0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ).model
    _, accuracy = model.evaluate(splits.validation, verbose=0)
    results[f"mlp_{name}_val_accuracy"] = float(accuracy)
    results[f"mlp_{name}_distinct_hidden_units"] = distinct_units(model)
    print(f"{name}: validation accuracy {accuracy:.4f}, distinct hidden units {distinct_units(model)} of 64")

# %% Export the Xavier MLP (the last one trained)
results["saved_model"] = str(export(model, "04_initialization", root=args.saved_models_dir))

report(results, out / "results.json", title="L04 Initialization")

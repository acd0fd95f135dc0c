"""Initialization: why N(0, 0.01) kills a deep tanh net, and how Xavier and He keep it alive.

What you will learn:
- the per-layer activation variance of a 10-layer, 500-unit tanh network fed unit-Gaussian
  input, with weights N(0, 0.01), N(0, 0.02), the notes' "Xavier" (randn / sqrt(fan_in), which is
  LeCun's variance 1/fan_in; Glorot's own is 2/(fan_in + fan_out)) and He (randn / sqrt(fan_in / 2))
  for ReLU -- the notes' table [001 §3.4];
- the rule behind it: with small activations each layer multiplies the variance by
  fan_in * Var(w), so N(0, 0.01) gives 500 * 1e-4 = 0.05 per layer, Xavier gives 1 (tanh
  then shrinks it slowly), He gives 2 * 1/2 = 1 for ReLU;
- why all-zero weights fail: every hidden unit computes the same thing and gets the same
  gradient, so they never become different (symmetry), shown by training on MNIST;
- `tfcourse.initializers`, subclasses of `keras.initializers.Initializer`.

Runtime: about 20 s on 2 CPU cores (`--quick`: about 15 s).
Expected (thresholds the tests check: `--quick` in tests/lessons, the full run in
benchmarks/lessons.py's FULL_RUN_CHECKS):
- N(0, 0.01) (standard deviation 0.01): the variance falls by 0.05x (+-0.005) per layer, to below
  1e-11 at layer 10; N(0, 0.02) by 0.15-0.25x per layer from layer 2 on;
- variance 1/fan_in (the notes' "Xavier", LeCun's) and Glorot's 2/(fan_in + fan_out) give the same
  per-layer variances here (within 5%): tanh compresses, from 0.3-0.5 at layer 1 to 0.03-0.1 at
  layer 10; He (ReLU) stays within 0.5-2 at every layer, while 1/fan_in on ReLU ends below 0.1x He;
- zero-init MLPs keep 1 distinct hidden unit of 64 and stay below 0.2 validation accuracy; the
  Glorot-uniform MLP keeps 64 distinct units and passes 0.7 (`--quick`) / 0.9 (full run).
Errata of the notes, each run here (and listed in docs/errata.md):
- 001 §3.4's N(0, 0.01) table drops ~1e-3x per layer (1e-25 at layer 8). With 500 units and
  standard deviation 0.01 the drop is 500 * 0.01**2 = 0.05x per layer, ~1e-11 at layer 8; the
  table's magnitude needs fan_in * Var(w) ~ 1e-3 ("notes_scale": layer 8 within 1e-26..1e-23);
- 000's "variance 0.02" taken literally (standard deviation 0.141) saturates tanh: over a quarter
  of the layer-10 outputs have |tanh| > 0.99, where its slope is < 0.02 (standard deviation 0.02: none);
- 000's Xavier/He lines print np.random.rand (uniform [0, 1), all weights positive): run as printed,
  the units of layer 10 are copies of one another (mean |correlation| > 0.99, vs < 0.3 with randn),
  and on ReLU the variance explodes past 1e10 by layer 10;
- 001 §3.4's "correct initialization" table (0.70 at layer 1 to 0.25 at layer 8) is not what a
  10 x 500 tanh net with variance 1/fan_in gives (layer 8 below half the table's value) nor He on
  ReLU (layer 8 above twice it).
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



def notes_literal(divisor_factor, seed):
    """The notes' own line, run as printed: `np.random.rand(channel_in, channel_out) / np.sqrt(
    channel_in * divisor_factor)` (rand: uniform on [0, 1), every weight positive)."""

    def initializer(shape, dtype=None):
        channel_in, channel_out = shape
        w = np.random.RandomState(seed).rand(channel_in, channel_out) / np.sqrt(channel_in * divisor_factor)
        return w.astype(dtype or "float32")

    return initializer


SCHEMES = {
    # name: (activation, initializer factory taking a per-layer seed)
    "normal_0.01_tanh": ("tanh", lambda s: initializers.RandomNormal(stddev=0.01, seed=s)),
    # 000 says "variance 0.02"; the usual choice (DCGAN, ...) is standard deviation 0.02. Both run:
    "normal_0.02_tanh": ("tanh", lambda s: initializers.RandomNormal(stddev=0.02, seed=s)),
    "normal_variance_0.02_tanh": ("tanh", lambda s: initializers.RandomNormal(stddev=math.sqrt(0.02), seed=s)),
    "notes_scale_tanh": ("tanh", lambda s: initializers.RandomNormal(stddev=math.sqrt(1e-3 / WIDTH), seed=s)),
    # The notes' "Xavier" line randn / sqrt(fan_in) has variance 1/fan_in: that is LeCun normal.
    # Glorot's (Xavier's) own is 2 / (fan_in + fan_out): the same number here, as fan_in = fan_out.
    "lecun_tanh": ("tanh", lambda s: initializers.NotesXavier(seed=s)),
    "glorot_tanh": ("tanh", lambda s: initializers.GlorotNormal(seed=s)),
    "he_relu": ("relu", lambda s: initializers.NotesHe(seed=s)),
    "lecun_relu": ("relu", lambda s: initializers.NotesXavier(seed=s)),
    # The notes' lines as printed, with np.random.rand instead of randn (see the erratum below).
    "notes_rand_xavier_tanh": ("tanh", lambda s: notes_literal(1.0, s)),
    "notes_rand_he_relu": ("relu", lambda s: notes_literal(0.5, s)),
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

# Erratum (000): np.random.rand draws from [0, 1): every weight is positive, so every unit of a
# layer sums the same inputs with similar weights and the units become near-copies of one another
# (mean correlation between units ~1, almost the symmetry of all-zero weights), and with ReLU,
# whose outputs are positive too, the variance blows up layer after layer. randn fixes both.


def mean_unit_correlation(a):
    """Mean |correlation| between the first 100 units of a layer, over the 1000 examples
    (a unit that never varies, e.g. a dead ReLU, has no correlation and is left out)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(a[:, :100].T)
    return float(np.nanmean(np.abs(corr[np.triu_indices_from(corr, k=1)])))


for name in ["lecun_tanh", "notes_rand_xavier_tanh", "he_relu", "notes_rand_he_relu"]:
    results[f"{name}_layer10_mean_unit_correlation"] = mean_unit_correlation(activations[name][-1])
    print(f"{name}: layer 10 mean |correlation| between units {results[f'{name}_layer10_mean_unit_correlation']:.3f}")

# Erratum (000): "variance 0.02" taken literally is standard deviation 0.141: fan_in * Var(w) = 10,
# so tanh saturates (outputs stuck near +-1, where its gradient is ~0). Standard deviation 0.02
# (what is usually meant) shrinks the signal 0.2x per layer instead. Neither suits 10 x 500 layers.
for name in ["normal_0.02_tanh", "normal_variance_0.02_tanh", "lecun_tanh"]:
    results[f"{name}_layer10_saturated_fraction"] = float(np.mean(np.abs(activations[name][-1]) > 0.99))
    print(f"{name}: {results[f'{name}_layer10_saturated_fraction']:.1%} of layer-10 outputs have |tanh| > 0.99")

# The notes' "correct initialization" table (001 §3.4) falls from 0.70 at layer 1 to 0.25 at
# layer 8 ("about one level"). No scheme here gives that shape: tanh with variance 1/fan_in starts
# lower and keeps shrinking (tanh compresses), He on ReLU stays level near 1.
results["notes_corrected_table_layer1_variance"] = 7.015103e-01
results["notes_corrected_table_layer8_variance"] = 2.497737e-01

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

shown = ["normal_0.01_tanh", "lecun_tanh", "he_relu", "notes_rand_xavier_tanh"]
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
    ("glorot_uniform_tanh", "tanh", initializers.GlorotUniform(seed=args.seed)),
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

# %% Export the Glorot-initialized MLP (the last one trained)
results["saved_model"] = str(export(model, "04_initialization", root=args.saved_models_dir))

report(results, out / "results.json", title="L04 Initialization")

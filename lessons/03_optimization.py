"""Optimization: batch vs mini-batch vs SGD, moving averages, and six optimizers from the notes.

What you will learn:
- batch gradient descent (all m examples per step), mini-batch (64) and stochastic gradient
  descent (batch size 1) on MNIST: the cost per iteration is smooth for batch GD and noisier
  the smaller the batch; the vocabulary epoch / batch / iteration (iterations per epoch =
  ceil(m / batch size)) [003, 004 §2.2.3];
- the exponentially weighted average S_t = beta*S_{t-1} + (1-beta)*Y_t with beta = 0.9 and 0.98,
  and why it starts near 0: the bias correction S_t / (1 - beta^t) [004 §2.2.4];
- `tfcourse.optimizers`: SGD, Momentum (three textbook forms, identical after rescaling the
  learning rate: lr_velocity = (1 - beta) * lr_ewma), Nesterov, AdaGrad, RMSProp and Adam, as
  subclassed Keras optimizers [000, 001 §4, 004 §2.2.5-8];
- their trajectories on a saddle and on an elongated bowl: plain SGD zig-zags, and RMSProp, which
  the notes say damps the zig-zag, rattles around the minimum with a constant learning rate;
- learning-rate decay: step, exponential a0*e^(-kt), 1/t a0/(1+kt) and 0.95^epoch*a0, as Keras
  schedules that any tfcourse optimizer accepts [000, 001 §4.4, 004 §2.2.9];
- the same optimizers training one MNIST model (loss curves, test accuracies);
- `tfcourse.schedules` (StepDecay, ExponentialDecay, InverseTimeDecay, EpochInverseTimeDecay,
  EpochExponentialDecay) training that MLP against a constant rate, and
  `tfcourse.callbacks.ReduceLROnPlateau` halving the rate when validation loss stalls;
- the Hessian's eigenvalues classifying a minimum (all > 0), a maximum (all < 0) and a
  saddle (mixed signs) [003];
- where the notes are wrong, each run in code next to the correction (listed in docs/errata.md):
  "Epoch = Batch-size x Iteration" [003]; the EWMA started at S_1 = Y_1 vs S_0 = 0 [004];
  `x += lr * dx` climbs [000]; Adam's second moment corrected by 1 - beta_1^t, a typo for
  beta_2 [004]; Adam's eps 1e-8 (notes, TF1) vs 1e-7 (Keras) and the mapping between them; eps
  inside vs outside the square root in AdaGrad/RMSProp [000, 001].

Runtime: about 1 minute on 2 CPU cores (`--quick`: about 25 s).
Expected (each number is a threshold the tests check: `--quick` in tests/lessons, the full run
in benchmarks/lessons.py's FULL_RUN_CHECKS):
- the batch-GD cost never rises, and the iteration-to-iteration spread of the cost orders
  batch GD < mini-batch 64 < batch size 1; batch size x iterations per epoch = m;
- the uncorrected EWMA starts at exactly (1-beta)*Y_1 (0.1 and 0.02 of Y_1), the corrected one at
  Y_1, closer to the data over the first 10 days; started at S_1 = Y_1 and corrected anyway: 10*Y_1;
- on the bowl plain SGD changes the sign of y at every one of its 80 steps and never gets below
  f = 0.01; Momentum, Nesterov, AdaGrad, RMSProp and Adam all do. RMSProp gets below 0.01 but is
  still changing sign at every one of the last 20 steps and ends above f = 0.01, no better than
  SGD; cutting its learning rate 10x at step 40 ends it below f = 0.001;
- from (-1.5, 0.001) next to the saddle plain SGD needs the most steps to escape, AdaGrad/RMSProp/
  Adam at most 10;
- errata: `x += lr*dx` increases f, the typo'd Adam's first step is 10x (+-1%) the correct one and
  tfcourse's Adam matches the correct one (relative 1e-4: Keras keeps beta_2 in float32); at
  |dx| = 1e-7 Keras with eps = 1e-8*sqrt(1-beta_2) takes the notes' first step (1e-4) and with
  its default eps = 1e-7 a step over 10x smaller; at |dx| = 1e-6 on
  an empty cache tfcourse's AdaGrad takes the inside-the-root step (1e-6), over 100x below the notes';
- MNIST: Momentum in EWMA form gives the same loss curve as SGD momentum (max difference < 1e-4);
  after 1 epoch on 8,000 images (`--quick`) every optimizer is within 0.85-0.95 test accuracy,
  Adam and RMSProp ahead of SGD; after 3 epochs on 50,000 (full run) every one is above 0.94 and
  Adam and RMSProp above 0.96; the best model reloads from its .keras file with its tfcourse
  optimizer and the same accuracy (1e-6); Hessian eigenvalues (1, 50) minimum, (-2, -2) maximum,
  (-2, 2) saddle.
- decay on MNIST (section 6; `--quick`: SGD a0 = 0.2, 2,000 images, 8 epochs): each epoch trains
  with its schedule's rate (relative 1e-5); InverseTimeDecay and EpochInverseTimeDecay, the same
  per-epoch schedule, give the same final loss (1e-4); every run's last-epoch loss is below half
  its first; in so short a run the constant rate ends with the lowest training loss (decay pays
  off later, when a large rate only rattles around the minimum, as on the bowl); ReduceLROnPlateau
  (patience 1) halves the rate at least once, exactly after the epochs whose validation loss
  did not improve on the best by 1e-4.
Notes followed: 000 (optimizer pseudo-code, lr decay), 001 §4 (parameter updates), 003 (batch /
iteration vocabulary, critical points), 004 §2.2 (mini-batch, EWMA, momentum, RMSProp, Adam).
"""

# %% Setup
import math
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from tfcourse import optimizers
from tfcourse.data import load_splits
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.training import export, train

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "03_optimization")
results = {}
started = time.perf_counter()

# %% 1. Batch vs mini-batch vs stochastic gradient descent on MNIST
# Softmax regression (one Dense layer) on m training images; one "iteration" is one update.
M = 1024 if args.quick else 4096
ITERATIONS = 60 if args.quick else 150
splits = load_splits("mnist", batch_size=M, flatten=True, train_limit=M, validation_size=10_000, shuffle_seed=args.seed)
x_small, y_small = next(iter(splits.train))
x_small, y_small = x_small.numpy(), y_small.numpy()


def softmax_regression():
    keras.utils.set_random_seed(args.seed)
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])


cost_curves = {}
for label, batch_size in [("batch (m)", M), ("mini-batch (64)", 64), ("stochastic (1)", 1)]:
    model = softmax_regression()
    model.compile(optimizer=optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    data = tf.data.Dataset.from_tensor_slices((x_small, y_small)).shuffle(M, seed=args.seed).repeat().batch(batch_size)
    # One iteration per Keras "epoch", so history["loss"] is the cost of each single batch.
    history = model.fit(data, epochs=ITERATIONS, steps_per_epoch=1, shuffle=False, verbose=0)
    cost_curves[label] = np.array(history.history["loss"])
    full_cost = float(model.evaluate(x_small, y_small, batch_size=M, verbose=0))
    key = label.split()[0]
    results[f"gd_{key}_iterations_per_epoch"] = math.ceil(M / batch_size)
    results[f"gd_{key}_final_cost_full_batch"] = full_cost
    results[f"gd_{key}_cost_jitter"] = float(np.std(np.diff(cost_curves[label][ITERATIONS // 2 :])))
    print(
        f"{label:>16}: {math.ceil(M / batch_size):5d} iterations per epoch; "
        f"cost on all m after {ITERATIONS} iterations {full_cost:.3f}"
    )
results["gd_batch_cost_monotone"] = bool(np.all(np.diff(cost_curves["batch (m)"]) <= 1e-6))

# Erratum (003): "Epoch = Batch-size x Iteration" mixes two units. An epoch is one pass over the
# m examples; what batch size x iterations per epoch gives is m, the examples seen in that pass.
iterations_per_epoch = math.ceil(M / 64)
results["erratum_003_batch_size_times_iterations_per_epoch"] = 64 * iterations_per_epoch
results["erratum_003_examples_per_epoch"] = M
print(f"003 erratum: 64 x {iterations_per_epoch} iterations = {64 * iterations_per_epoch} = m examples in ONE epoch")

fig, ax = plt.subplots(figsize=(7, 4))
for label, curve in cost_curves.items():
    ax.plot(np.arange(1, ITERATIONS + 1), curve, label=label, lw=1)
ax.set(xlabel="iteration", ylabel="cost of the batch", title=f"Batch vs mini-batch vs SGD (m = {M}, SGD lr 0.05)")
ax.legend()
save_figure(fig, out / "batch_vs_minibatch.png")

# %% 2. Exponentially weighted averages, with and without bias correction
# A noisy "daily temperature" series, like the notes' Beijing example.
rng = np.random.default_rng(args.seed)
days = np.arange(1, 366)
temperature = 12 - 14 * np.cos(2 * np.pi * (days - 15) / 365) + rng.normal(0, 4, days.size)


def ewma(series, beta, bias_correction):
    s, out_values = 0.0, []
    for t, y in enumerate(series, start=1):
        s = beta * s + (1 - beta) * y  # S_t = beta*S_{t-1} + (1-beta)*Y_t, S_0 = 0
        out_values.append(s / (1 - beta**t) if bias_correction else s)
    return np.array(out_values)


fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, correct in zip(axes, [False, True]):
    ax.scatter(days, temperature, s=4, color="0.6", label="Y_t")
    for beta, color in [(0.9, "tab:red"), (0.98, "tab:green")]:
        s = ewma(temperature, beta, correct)
        ax.plot(days, s, color=color, label=f"beta = {beta}")
        tag = "corrected" if correct else "raw"
        results[f"ewma_{beta}_{tag}_S1_over_Y1"] = float(s[0] / temperature[0])
        results[f"ewma_{beta}_{tag}_first10_abs_error"] = float(np.mean(np.abs(s[:10] - temperature[:10])))
    ax.set(title="S_t / (1 - beta^t)  (bias-corrected)" if correct else "S_t  (starts at 0: biased low)", xlabel="day")
    ax.legend()
axes[0].set_ylabel("temperature")
save_figure(fig, out / "ewma.png")
print(
    f"EWMA day 1: raw S_1/Y_1 = {results['ewma_0.9_raw_S1_over_Y1']:.2f} (beta 0.9), "
    f"{results['ewma_0.98_raw_S1_over_Y1']:.2f} (beta 0.98); corrected = 1.00"
)

# Erratum (004 §2.2.4): the notes' worked example starts at S_1 = Y_1, the formula used with bias
# correction starts at S_0 = 0. Both are fine, but they do not mix: starting at S_1 = Y_1 there
# is no bias to correct, and dividing by (1 - beta^t) anyway inflates day 1 tenfold (beta 0.9).
start_y1 = np.empty_like(temperature)
start_y1[0] = temperature[0]
for t in range(1, temperature.size):
    start_y1[t] = 0.9 * start_y1[t - 1] + 0.1 * temperature[t]
results["ewma_0.9_start_Y1_S1_over_Y1"] = float(start_y1[0] / temperature[0])
results["ewma_0.9_start_Y1_first10_abs_error"] = float(np.mean(np.abs(start_y1[:10] - temperature[:10])))
results["ewma_0.9_start_Y1_then_corrected_S1_over_Y1"] = float(start_y1[0] / (1 - 0.9) / temperature[0])
print(
    f"004 erratum: start S_1 = Y_1 needs no correction (S_1/Y_1 = 1); corrected anyway, "
    f"S_1/Y_1 = {results['ewma_0.9_start_Y1_then_corrected_S1_over_Y1']:.1f}"
)


# %% 3. The optimizers on 2-D surfaces: an elongated bowl and a saddle
def bowl(p):  # elongated bowl: curvature 1 along x, 50 along y (condition number 50)
    return 0.5 * p[0] ** 2 + 25.0 * p[1] ** 2


def saddle(p):  # saddle at the origin (Hessian diag(2, -2)); minima at y = +-sqrt(2)
    return p[0] ** 2 - p[1] ** 2 + 0.25 * p[1] ** 4


SURFACES = {
    "bowl": dict(f=bowl, start=(-9.0, 1.5), steps=80, box=(-10, 2, -2, 2)),
    "saddle": dict(f=saddle, start=(-1.5, 1e-3), steps=80, box=(-1.8, 1.8, -2.2, 2.2)),
}


def make_optimizers(surface):
    bowl_surface = surface == "bowl"
    sgd_lr = 0.038 if bowl_surface else 0.05  # bowl: lr near 2/50 makes SGD zig-zag in y
    return {
        "SGD": optimizers.SGD(sgd_lr),
        "Momentum": optimizers.SGD(sgd_lr / 4, momentum=0.9),
        "Nesterov": optimizers.SGD(sgd_lr / 4, momentum=0.9, nesterov=True),
        "AdaGrad": optimizers.Adagrad(1.5 if bowl_surface else 0.5, initial_accumulator_value=0.0),  # cache = 0
        "RMSProp": optimizers.RMSprop(0.3 if bowl_surface else 0.1),
        "Adam": optimizers.Adam(0.6 if bowl_surface else 0.1),
    } | (
        # RMSProp again, its learning rate cut 10x at step 40 (a step decay, section 3b)
        {"RMSProp-decay": optimizers.RMSprop(
            keras.optimizers.schedules.ExponentialDecay(0.3, decay_steps=40, decay_rate=0.1, staircase=True))}
        if bowl_surface else {}
    )


def trajectory(f, start, optimizer, steps):
    p = keras.Variable(np.array(start, dtype="float64"))
    path = [p.numpy().copy()]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            value = f(p.value)
        optimizer.apply_gradients([(tape.gradient(value, p.value), p)])
        path.append(p.numpy().copy())
    return np.array(path)


fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, (surface, spec) in zip(axes, SURFACES.items()):
    x0, x1, y0, y1 = spec["box"]
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    ax.contour(gx, gy, spec["f"](np.stack([gx, gy])), levels=30, cmap="Greys", linewidths=0.6)
    for name, optimizer in make_optimizers(surface).items():
        path = trajectory(spec["f"], spec["start"], optimizer, spec["steps"])
        ax.plot(path[:, 0], path[:, 1], ".-", lw=1, ms=2, label=name)
        final = float(spec["f"](path[-1]))
        results[f"{surface}_{name}_final_f"] = final
        if surface == "bowl":
            y_flips = np.diff(np.sign(path[:, 1])) != 0
            results[f"bowl_{name}_y_sign_changes"] = int(np.sum(y_flips))
            results[f"bowl_{name}_y_sign_changes_last_20_steps"] = int(np.sum(y_flips[-20:]))
            results[f"bowl_{name}_best_f"] = float(min(spec["f"](q) for q in path))
            below = [i for i, q in enumerate(path) if spec["f"](q) < 0.01]
            results[f"bowl_{name}_steps_to_f_below_0.01"] = below[0] if below else -1
        else:  # leaving the saddle = |y| > 0.5 (the gradient there starts at 2e-3)
            escaped = [i for i, q in enumerate(path) if abs(q[1]) > 0.5]
            results[f"saddle_{name}_steps_to_escape"] = escaped[0] if escaped else -1
    ax.set(xlim=(x0, x1), ylim=(y0, y1), title=f"{surface}: {spec['steps']} steps from {spec['start']}")
    ax.legend(fontsize=8)
save_figure(fig, out / "trajectories.png")
for surface in SURFACES:
    metric = "steps_to_f_below_0.01" if surface == "bowl" else "steps_to_escape"
    steps = {name: results[f"{surface}_{name}_{metric}"] for name in make_optimizers(surface)}
    print(f"{surface} {metric} (-1 = not within the budget): {steps}")
# The notes say RMSProp damps the oscillation of SGD. On this bowl it does not stop it: its step
# lr * dx / sqrt(EWMA of dx^2) is ~lr in size however small dx gets, so with a constant lr it
# gets near the minimum and then rattles across the valley, ending no better than plain SGD.
# Shrinking the learning rate (a step decay) lets it settle.
for name in ["SGD", "RMSProp", "RMSProp-decay"]:
    print(
        f"bowl {name:>13}: y changes sign {results[f'bowl_{name}_y_sign_changes']} times "
        f"({results[f'bowl_{name}_y_sign_changes_last_20_steps']} in the last 20 steps); "
        f"best f {results[f'bowl_{name}_best_f']:.2g}, final f {results[f'bowl_{name}_final_f']:.2g}"
    )

# %% 3a. The notes' update rules, line by line: four errata, checked against tfcourse
# Each erratum is run: the literal line from the notes next to the corrected one (and the
# tfcourse optimizer, which implements the corrected one).
def steps_taken(optimizer, gradient, steps=1):
    """Each step's displacement of a float64 scalar fed the same `gradient` every step."""
    x = keras.Variable(np.zeros(1))
    moves = []
    for _ in range(steps):
        before = float(x.numpy()[0])
        optimizer.apply_gradients([(tf.constant([gradient], "float64"), x)])
        moves.append(float(x.numpy()[0]) - before)
    return np.array(moves)


# (a) 000's plain SGD reads `x += lr * dx`: that climbs. Gradient DEscent is x -= lr * dx.
p_ascent, p_descent = np.array(SURFACES["bowl"]["start"]), np.array(SURFACES["bowl"]["start"])
for _ in range(10):
    p_ascent = p_ascent + 0.01 * np.array([p_ascent[0], 50 * p_ascent[1]])  # dx of the bowl
    p_descent = p_descent - 0.01 * np.array([p_descent[0], 50 * p_descent[1]])
results["erratum_000_sgd_start_f"] = float(bowl(SURFACES["bowl"]["start"]))
results["erratum_000_sgd_plus_sign_f_after_10_steps"] = float(bowl(p_ascent))
results["erratum_000_sgd_minus_sign_f_after_10_steps"] = float(bowl(p_descent))

# (b) 004 §2.2.7 corrects Adam's second moment with s / (1 - beta_1^t): a typo for beta_2. With
# beta_1 = 0.9, beta_2 = 0.999 the typo makes step t larger by sqrt((1 - b1^t) / (1 - b2^t)): 10x at t=1.
B1, B2, LR, GRAD = 0.9, 0.999, 0.001, 0.5


def notes_adam_steps(gradient, steps, second_moment_correction, eps):
    m = s = 0.0
    moves = []
    for t in range(1, steps + 1):
        m, s = B1 * m + (1 - B1) * gradient, B2 * s + (1 - B2) * gradient**2
        s_hat = s / (1 - second_moment_correction**t)
        moves.append(-LR * (m / (1 - B1**t)) / (math.sqrt(s_hat) + eps))
    return np.array(moves)


adam_right = notes_adam_steps(GRAD, 3, B2, 1e-8)
adam_typo = notes_adam_steps(GRAD, 3, B1, 1e-8)
adam_ours = steps_taken(optimizers.Adam(LR, B1, B2, epsilon=1e-8), GRAD, 3)
results["erratum_004_adam_typo_over_correct_first_step"] = float(adam_typo[0] / adam_right[0])
results["erratum_004_adam_tfcourse_vs_correct_max_relative_difference"] = float(
    np.max(np.abs(adam_ours - adam_right) / np.abs(adam_right))
)

# (c) Adam's epsilon: the notes and TF1 (tf.train.AdamOptimizer(0.001, 0.9, 0.999, 1e-08)) use
# 1e-8, Keras defaults to 1e-7. TF1 and Keras add it to sqrt(v) before the bias correction is
# folded in ("epsilon hat"); the notes add it to sqrt(v_hat). Same update when
# keras_epsilon = eps_notes * sqrt(1 - beta_2^t) (exact at t = 1). It matters only for gradients
# near eps: with |dx| = 1e-7 the first step is 0.91*lr (notes), but 0.03*lr with Keras's 1e-7.
TINY = 1e-7
notes_tiny = notes_adam_steps(TINY, 1, B2, 1e-8)[0]
results["erratum_adam_eps_notes_1e-8_first_step_over_lr"] = float(-notes_tiny / LR)
results["erratum_adam_eps_keras_mapped_first_step_over_lr"] = float(
    -steps_taken(optimizers.Adam(LR, B1, B2, epsilon=1e-8 * math.sqrt(1 - B2)), TINY)[0] / LR
)
results["erratum_adam_eps_keras_tf1_1e-8_first_step_over_lr"] = float(
    -steps_taken(optimizers.Adam(LR, B1, B2, epsilon=1e-8), TINY)[0] / LR
)
results["erratum_adam_eps_keras_default_1e-7_first_step_over_lr"] = float(
    -steps_taken(optimizers.Adam(LR, B1, B2), TINY)[0] / LR
)

# (d) AdaGrad / RMSProp: 000 and 001 write dx / (sqrt(cache) + eps), eps OUTSIDE the root; Keras
# and tfcourse compute dx / sqrt(cache + eps), INSIDE. Identical for ordinary gradients; for a
# tiny gradient on an empty cache the inside form takes a much smaller first step.
for label, gradient in [("ordinary", 1.0), ("tiny", 1e-6)]:
    ours = -steps_taken(optimizers.Adagrad(LR, initial_accumulator_value=0.0, epsilon=1e-7), gradient)[0] / LR
    inside = gradient / math.sqrt(gradient**2 + 1e-7)
    outside = gradient / (abs(gradient) + 1e-7)
    results[f"erratum_adagrad_eps_{label}_grad_inside_first_step_over_lr"] = inside
    results[f"erratum_adagrad_eps_{label}_grad_outside_first_step_over_lr"] = outside
    results[f"erratum_adagrad_eps_{label}_grad_tfcourse_first_step_over_lr"] = float(ours)
print(
    f"000 erratum: x += lr*dx takes f from {results['erratum_000_sgd_start_f']:.1f} to "
    f"{results['erratum_000_sgd_plus_sign_f_after_10_steps']:.1f} in 10 steps (x -= lr*dx: "
    f"{results['erratum_000_sgd_minus_sign_f_after_10_steps']:.2f})\n"
    f"004 erratum: Adam's s / (1 - beta_1^t) makes the first step "
    f"{results['erratum_004_adam_typo_over_correct_first_step']:.1f}x the correct one\n"
    f"Adam eps, |dx| = 1e-7, first step / lr: notes 1e-8 "
    f"{results['erratum_adam_eps_notes_1e-8_first_step_over_lr']:.3f}, Keras with 1e-8*sqrt(1-b2) "
    f"{results['erratum_adam_eps_keras_mapped_first_step_over_lr']:.3f}, TF1/Keras 1e-8 "
    f"{results['erratum_adam_eps_keras_tf1_1e-8_first_step_over_lr']:.3f}, Keras default 1e-7 "
    f"{results['erratum_adam_eps_keras_default_1e-7_first_step_over_lr']:.3f}\n"
    f"AdaGrad eps, |dx| = 1e-6, first step / lr: inside the root (Keras, tfcourse) "
    f"{results['erratum_adagrad_eps_tiny_grad_tfcourse_first_step_over_lr']:.4f}, outside (notes) "
    f"{results['erratum_adagrad_eps_tiny_grad_outside_first_step_over_lr']:.4f}"
)

# %% 3b. Learning-rate decay: the notes' schedules as Keras LearningRateSchedules
# Any tfcourse optimizer takes a schedule as `learning_rate`. Keras schedules count optimizer
# steps; here one step stands for one epoch (use decay_steps * steps_per_epoch in training).
A0, K, LR_EPOCHS = 0.1, 0.1, 40
schedules = keras.optimizers.schedules
DECAYS = {
    # (label, key): (Keras schedule, closed form of the notes)
    ("step: halve every 5 epochs", "step_half_every_5"): (
        schedules.ExponentialDecay(A0, decay_steps=5, decay_rate=0.5, staircase=True),
        lambda t: A0 * 0.5 ** (t // 5),
    ),
    ("step: x0.1 every 20 epochs", "step_tenth_every_20"): (
        schedules.ExponentialDecay(A0, decay_steps=20, decay_rate=0.1, staircase=True),
        lambda t: A0 * 0.1 ** (t // 20),
    ),
    ("exponential a0*e^(-kt)", "exponential"): (
        schedules.ExponentialDecay(A0, decay_steps=1, decay_rate=math.exp(-K)),
        lambda t: A0 * math.exp(-K * t),
    ),
    ("1/t: a0/(1+kt)", "inverse_time"): (
        schedules.InverseTimeDecay(A0, decay_steps=1, decay_rate=K),
        lambda t: A0 / (1 + K * t),
    ),
    ("0.95^epoch * a0", "power_0.95"): (
        schedules.ExponentialDecay(A0, decay_steps=1, decay_rate=0.95),
        lambda t: 0.95**t * A0,
    ),
}
fig, ax = plt.subplots(figsize=(7, 4))
worst = 0.0
for (name, key), (schedule, closed_form) in DECAYS.items():
    keras_values = np.array([float(schedule(t)) for t in range(LR_EPOCHS)])
    notes_values = np.array([closed_form(t) for t in range(LR_EPOCHS)])
    worst = max(worst, float(np.max(np.abs(keras_values - notes_values) / notes_values)))
    ax.plot(range(LR_EPOCHS), keras_values, label=name)
    results[f"lr_decay_{key}_epoch10"] = float(keras_values[10])
results["lr_decay_max_relative_difference_keras_vs_closed_form"] = worst
ax.set(xlabel="epoch", ylabel="learning rate", yscale="log", title=f"Learning-rate decay from a0 = {A0}, k = {K}")
ax.legend(fontsize=8)
save_figure(fig, out / "lr_decay.png")
print(f"LR schedules vs the notes' closed forms: max relative difference {worst:.1e}")
print("'Halve when validation error stops improving' = keras.callbacks.ReduceLROnPlateau(factor=0.5).")

# %% 4. The same optimizers training one MNIST model
TRAIN = 8_000 if args.quick else 50_000
EPOCHS = 1 if args.quick else 3


def mnist_splits():
    # A fresh pipeline per optimizer: the same seed then gives every run the same batches.
    return load_splits("mnist", batch_size=64, flatten=True, train_limit=TRAIN, shuffle_seed=args.seed)


MNIST_OPTIMIZERS = {
    "SGD": lambda: optimizers.SGD(0.1),
    "Momentum": lambda: optimizers.SGD(0.01, momentum=0.9),
    "Momentum (EWMA form)": lambda: optimizers.EWMAMomentum(
        optimizers.equivalent_learning_rate(0.01, 0.9, source="velocity", target="ewma"), beta=0.9
    ),
    "Nesterov": lambda: optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "AdaGrad": lambda: optimizers.Adagrad(0.05),
    "RMSProp": lambda: optimizers.RMSprop(0.001),
    "Adam": lambda: optimizers.Adam(0.001),
}


class BatchLoss(keras.callbacks.Callback):
    """Each batch's own training loss, recovered from the running epoch mean Keras logs.

    Keras logs mean_b = (sum of the first b batch losses, weighted by batch size) / N_b, so
    loss_b = (mean_b * N_b - mean_{b-1} * N_{b-1}) / n_b with N_b examples seen this epoch.
    """

    def __init__(self, batch_size, num_examples):
        super().__init__()
        self.batch_size, self.num_examples = batch_size, num_examples
        self.losses, self.running = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._seen, self._total = 0, 0.0

    def on_train_batch_end(self, batch, logs=None):
        n = min(self.batch_size, self.num_examples - self._seen)
        self._seen += n
        total = float(logs["loss"]) * self._seen
        self.losses.append((total - self._total) / n)
        self.running.append(float(logs["loss"]))
        self._total = total


def mlp():
    keras.utils.set_random_seed(args.seed)  # same initial weights for every optimizer
    return keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    )


curves, running, accuracies, models = {}, {}, {}, {}
for name, make in MNIST_OPTIMIZERS.items():
    recorder = BatchLoss(64, TRAIN)
    keras.utils.set_random_seed(args.seed)  # the pipeline's shuffle seed combines with the global one
    mnist = mnist_splits()
    model = train(
        mlp, mnist.train, epochs=EPOCHS, global_batch_size=64, optimizer=make,
        loss="sparse_categorical_crossentropy", callbacks=[recorder],
    ).model
    curves[name] = np.array(recorder.losses)
    running[name] = np.array(recorder.running)
    _, accuracies[name] = model.evaluate(mnist.test, verbose=0)
    models[name] = model
    key = name.lower().replace(" ", "_").replace("(", "").replace(")", "")
    results[f"mnist_{key}_test_accuracy"] = float(accuracies[name])
    results[f"mnist_{key}_final_train_loss"] = float(running[name][-1])  # last epoch's mean
ewma_gap = float(np.max(np.abs(running["Momentum"] - running["Momentum (EWMA form)"])))
results["mnist_momentum_vs_ewma_max_loss_difference"] = ewma_gap

print(f"\nMNIST MLP, {TRAIN} training images, {EPOCHS} epoch(s), batch 64")
print(f"{'optimizer':<22}{'test accuracy':>14}")
for name, acc in accuracies.items():
    print(f"{name:<22}{acc:>14.4f}")
print(f"Momentum vs its EWMA form: max |loss difference| over the run = {ewma_gap:.2e}")

fig, ax = plt.subplots(figsize=(8, 4.5))
for name, curve in curves.items():
    smooth = ewma(curve, 0.98, bias_correction=True)  # section 2's average, bias-corrected
    ax.plot(np.arange(1, curve.size + 1), smooth, lw=1, ls="--" if "EWMA" in name else "-", label=name)
ax.set(
    xlabel="iteration",
    ylabel="batch loss (EWMA, beta 0.98, bias-corrected)",
    yscale="log",
    title="One MLP, seven optimizers (same start, same batches)",
)
ax.legend(fontsize=8)
save_figure(fig, out / "mnist_optimizers.png")

# A model compiled with a tfcourse optimizer saves and reloads with no custom_objects.
best = max(accuracies, key=accuracies.get)
saved = export(models[best], "03_optimization", root=args.saved_models_dir)
reloaded = keras.saving.load_model(saved / "model.keras")
results["saved_model"] = str(saved)
results["saved_model_optimizer"] = f"{type(reloaded.optimizer).__module__}.{type(reloaded.optimizer).__name__}"
results["saved_model_reloaded_accuracy"] = float(reloaded.evaluate(mnist.test, verbose=0)[1])
results["best_optimizer"] = best
results["best_optimizer_test_accuracy"] = float(accuracies[best])


# %% 5. Critical points: the Hessian's eigenvalues
def hessian_eigenvalues(f, point):
    p = tf.Variable(np.array(point, dtype="float64"))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            value = f(p)
        grad = inner.gradient(value, p)
    hessian = outer.jacobian(grad, p).numpy()
    return np.linalg.eigvalsh(hessian), float(np.linalg.norm(grad.numpy()))


def classify(eigenvalues):
    if np.all(eigenvalues > 0):
        return "minimum"
    if np.all(eigenvalues < 0):
        return "maximum"
    return "saddle" if np.any(eigenvalues > 0) and np.any(eigenvalues < 0) else "degenerate"


CRITICAL_POINTS = {
    "bowl at (0, 0)": (bowl, (0.0, 0.0), "minimum"),
    "-(x^2 + y^2) at (0, 0)": (lambda p: -(p[0] ** 2) - p[1] ** 2, (0.0, 0.0), "maximum"),
    "saddle at (0, 0)": (saddle, (0.0, 0.0), "saddle"),
}
for label, (f, point, expected) in CRITICAL_POINTS.items():
    eigenvalues, grad_norm = hessian_eigenvalues(f, point)
    kind = classify(eigenvalues)
    key = expected
    results[f"hessian_{key}_eigenvalues"] = [round(float(e), 6) for e in eigenvalues]
    results[f"hessian_{key}_classified_as"] = kind
    print(f"{label:<24} gradient norm {grad_norm:.1e}, eigenvalues {np.round(eigenvalues, 3)} -> {kind}")

# %% 6. Decay schedules and ReduceLROnPlateau on a real MNIST run
# Section 3b drew the schedules; here `tfcourse.schedules` drive the MLP of section 4 (plain SGD,
# a0 = 0.2, applied per epoch by `tfcourse.callbacks.LearningRateDecay`) next to a constant rate,
# and `tfcourse.callbacks.ReduceLROnPlateau` halves the rate whenever validation loss stalls.
from tfcourse import schedules as tf_schedules
from tfcourse.callbacks import LearningRateDecay, ReduceLROnPlateau

DECAY_TRAIN, DECAY_EPOCHS = (2_000, 8) if args.quick else (10_000, 20)
DECAY_A0 = 0.2
EPOCH_SCHEDULES = {
    "constant": None,
    "StepDecay(x0.5 every 3)": tf_schedules.StepDecay(DECAY_A0, factor=0.5, every_epochs=3),
    "ExponentialDecay(k=0.2)": tf_schedules.ExponentialDecay(DECAY_A0, k=0.2),
    "InverseTimeDecay(k=0.5)": tf_schedules.InverseTimeDecay(DECAY_A0, k=0.5),
    "EpochInverseTimeDecay(0.5)": tf_schedules.EpochInverseTimeDecay(DECAY_A0, decay_rate=0.5),
    "EpochExponentialDecay(0.8)": tf_schedules.EpochExponentialDecay(DECAY_A0, base=0.8),
}


class EpochLearningRate(keras.callbacks.Callback):
    """Records the learning rate each epoch trains with (read at the epoch's start)."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def decay_run(callbacks, validation=False):
    keras.utils.set_random_seed(args.seed)
    splits = load_splits("mnist", batch_size=64, flatten=True, train_limit=DECAY_TRAIN, validation_size=2_000,
                         shuffle_seed=args.seed)
    rates = EpochLearningRate()
    run = train(mlp, splits.train, validation_data=splits.validation if validation else None, epochs=DECAY_EPOCHS,
                global_batch_size=64, optimizer=lambda: optimizers.SGD(DECAY_A0),
                loss="sparse_categorical_crossentropy", callbacks=[*callbacks, rates])
    return run.history, rates.rates


print(f"\nMNIST MLP, SGD a0 = {DECAY_A0}, {DECAY_TRAIN} images, {DECAY_EPOCHS} epochs")
print(f"{'schedule':<28}{'final lr':>10}{'final train loss':>18}")
worst_schedule_error = 0.0
for name, schedule in EPOCH_SCHEDULES.items():
    history, rates = decay_run([LearningRateDecay(schedule)] if schedule else [])
    expected = [DECAY_A0 if schedule is None else float(schedule(epoch)) for epoch in range(DECAY_EPOCHS)]
    worst_schedule_error = max(worst_schedule_error, max(abs(r - e) / e for r, e in zip(rates, expected)))
    key = name.split("(")[0].lower()
    results[f"schedule_{key}_final_train_loss"] = float(history["loss"][-1])
    results[f"schedule_{key}_first_train_loss"] = float(history["loss"][0])
    results[f"schedule_{key}_final_lr"] = rates[-1]
    print(f"{name:<28}{rates[-1]:>10.4f}{history['loss'][-1]:>18.4f}")
results["schedule_max_relative_lr_error"] = worst_schedule_error

# ReduceLROnPlateau: patience 1, so one epoch without a lower validation loss halves the rate.
plateau_history, plateau_rates = decay_run([ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)],
                                           validation=True)
cuts = [epoch for epoch in range(1, DECAY_EPOCHS) if plateau_rates[epoch] < plateau_rates[epoch - 1]]
results["plateau_cut_epochs"] = cuts  # 1-based epochs at whose end the rate was halved
results["plateau_rates"] = plateau_rates
results["plateau_val_losses"] = [float(v) for v in plateau_history["val_loss"]]
print(f"ReduceLROnPlateau halved the learning rate at the end of epoch(s) {cuts}; "
      f"rates per epoch: {[round(r, 4) for r in plateau_rates]}")

# %% Results
results["runtime_seconds"] = round(time.perf_counter() - started, 1)
report(results, out / "results.json", title="L03 optimization")

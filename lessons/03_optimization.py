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
- their trajectories on a saddle and on an elongated bowl (the zig-zag of plain SGD);
- learning-rate decay: step, exponential a0*e^(-kt), 1/t a0/(1+kt) and 0.95^epoch*a0, as Keras
  schedules that any tfcourse optimizer accepts [000, 001 §4.4, 004 §2.2.9];
- the same optimizers training one MNIST model (loss curves, test accuracies);
- the Hessian's eigenvalues classifying a minimum (all > 0), a maximum (all < 0) and a
  saddle (mixed signs) [003].

Runtime: about 1 minute on 2 CPU cores (`--quick`: about 25 s).
Expected: the batch-GD cost curve falls monotonically while batch size 1 jumps around (the
iteration-to-iteration spread of the cost: ~0.001-0.003 for batch GD, ~0.06-0.1 for 64, ~2 for 1); the
uncorrected EWMA starts at (1-beta)*Y_1 (10% and 2% of the first value), the corrected one at Y_1;
on the bowl plain SGD zig-zags across the narrow direction (a sign change in y every step) and
never gets below f = 0.01 in 80 steps while the others do; from (-1.5, 0.001) next to the saddle
plain SGD needs the most steps to escape (~66) and AdaGrad/RMSProp/Adam, which rescale the tiny
gradient, leave at once (1-6 steps); Momentum in EWMA form gives the same MNIST loss curve as SGD
momentum (max difference ~1e-6, float32 rounding); after 3 epochs on 50,000 images the MNIST MLP
reaches ~0.97 test accuracy with RMSProp and Adam, ~0.96 with SGD, Momentum, Nesterov and AdaGrad
(`--quick`, 8,000 images, 1 epoch: ~0.88-0.91, Adam and RMSProp ahead); the best model reloads
from its .keras file with its tfcourse optimizer and the same accuracy; Hessian eigenvalues
(1, 50) minimum, (-2, -2) maximum, (-2, 2) saddle.
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
    }


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
            results[f"bowl_{name}_y_sign_changes"] = int(np.sum(np.diff(np.sign(path[:, 1])) != 0))
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

# %% Results
results["runtime_seconds"] = round(time.perf_counter() - started, 1)
report(results, out / "results.json", title="L03 optimization")

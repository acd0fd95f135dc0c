"""Training practice: gradient checks, sanity checks, monitoring, random search and ensembles.

What you will learn (the whole of the notes' training-practice chapter, in its order):
- gradient checking [001 §1]: analytic gradients against centered differences in float64, the
  relative error |a - n| / max(|a|, |n|) read with the notes' bands (> 1e-2 wrong, > 1e-4
  suspicious, > 1e-7 fine for kinked activations, else good), a ReLU kink crossing reported as
  such, a 10%-wrong gradient caught, and why float32 is useless for it;
- sanity checks before a long run [001 §2]: the untrained loss is ln(10) = 2.303, regularization
  raises it, a small subset is memorized to 100%, and (the notes' caveat) so are random labels;
- monitoring [001 §3]: the learning rate read from the loss curve (too low, too high, good), the
  update/weight ratio ||dW|| / ||W|| near 1e-3 (`tfcourse.callbacks.UpdateRatioMonitor`), the
  per-layer activation table (`ActivationMonitor`), train vs validation curves
  (`TrainingCurves`) and the first layer's weights as images;
- random search in log space, lr = 10 ** uniform(-6, 1), then coarse to fine, with the range-edge
  warning [001 §5], on one fixed validation split;
- ensembles [001 §6]: the top models of the search, models from different initializations and
  the average of the last epochs' weights (`WeightAveraging`), majority vote vs averaged
  probabilities, against the best single model on the test split.

Runtime: about 3 minutes on 2 CPU cores (`--quick`: under 90 s; it validates on 2,000 images).
Expected (each checked by the lesson's test or its full-run benchmark): the float64 check of a
correct MLP passes (worst error < 1e-7, "good") and the same check in float32 is worse than 1e-4;
the kink is reported, the wrong gradient fails with error > 1e-2; the initial loss is within 10%
of ln(10); 20 examples are memorized; the first-epoch update/weight ratio of the kernels orders the
regimes (too low < good < too high) and the good one is within a factor of 20 of the notes' 1e-3;
the Hessian's largest eigenvalue is positive and its most negative one is negative at
initialization; the search's best learning rate lies inside the range; the averaged-probability
ensemble of three seeds has a lower test loss than the best single model (the weight average and
the top-3 ensemble are reported).
Notes followed: 001 (all sections), 003 (Hessian, in lesson L03).
"""

# %% Setup
import math

import keras
import numpy as np
import tensorflow as tf

from tfcourse.callbacks import ActivationMonitor, TrainingCurves, UpdateRatioMonitor, WeightAveraging
from tfcourse.data import load_arrays
from tfcourse.diagnostics import gradient_check, hessian_eigenvalues, sanity_check
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.search import LogUniform, random_search, refine
from tfcourse.training import export, train

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "10_training_practice")
results = {}
TRAIN = 5_000 if args.quick else 50_000
EPOCHS = 2 if args.quick else 4
COARSE_TRIALS, FINE_TRIALS = (4, 2) if args.quick else (10, 5)
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

images, labels = load_arrays("mnist", "train")
x_all = (images / 255.0).astype("float32")  # (N, 28, 28, 1): the exported model takes images
x_train, y_train = x_all[:TRAIN], labels[:TRAIN]
VALIDATION_END = 52_000 if args.quick else 60_000  # quick: validates on 2,000 images
x_val, y_val = x_all[50_000:VALIDATION_END], labels[50_000:VALIDATION_END]  # fixed, never the test split
test_images, y_test = load_arrays("mnist", "test")
x_test = (test_images / 255.0).astype("float32")


def mlp(hidden=64, l2=0.0, activation="relu", seed=None):
    penalty = keras.regularizers.L2(l2) if l2 else None
    init = keras.initializers.HeNormal(seed=seed)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(hidden, activation=activation, kernel_regularizer=penalty,
                                                kernel_initializer=init),
                             keras.layers.Dense(10, kernel_regularizer=penalty,
                                                kernel_initializer=keras.initializers.GlorotUniform(seed=seed))])


# %% 1. Gradient check
# A small net on a few examples (the notes: few data points, so the check is fast and exact).
# The same check runs in float64 and in float32, to show why the notes insist on double precision.
few_x, few_y = x_train[:8].astype("float64"), y_train[:8]
small = mlp(hidden=16, activation="tanh", seed=args.seed)
in64 = gradient_check(small, few_x, few_y, loss=LOSS, samples=10, step=1e-6)
in32 = gradient_check(small, few_x, few_y, loss=LOSS, samples=10, step=1e-4, dtype="float32")
print(in64, "\n", in32, sep="")
results.update(gradcheck_float64_max_error=in64.max_error, gradcheck_float64_verdict=in64.verdict,
               gradcheck_float32_max_error=in32.max_error, gradcheck_float32_verdict=in32.verdict)

# A ReLU whose pre-activation sits just above 0: a weight step of h crosses the kink, and the
# centered difference averages two slopes. The check recognizes it (one side agrees exactly).
h = 1e-6
kinked = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="relu", name="hidden"),
                           keras.layers.Dense(1, name="out")])
kinked.set_weights([np.array([[1.0, 1.0]]), np.array([-1000.0 + 300 * h, -2000.0]), np.array([[2.0], [3.0]]),
                    np.array([0.1])])
kink_report = gradient_check(kinked, np.array([[1000.0]]), np.array([[0.0]]),
                             loss=lambda _, p: tf.reduce_sum(p), step=h)
results["kink_crossings"] = len(kink_report.kinks)
results["kink_centered_relative_error"] = kink_report.kinks[0]["relative_error"] if kink_report.kinks else 0.0
results["kink_check_passed"] = kink_report.passed


@tf.custom_gradient
def tanh_with_a_bug(z):
    y = tf.tanh(z)
    return y, lambda dy: dy * (1 - y * y) * 1.1  # a 10% error, as a hand-written backward pass might have


buggy = gradient_check(mlp(hidden=16, activation=tanh_with_a_bug, seed=args.seed), few_x, few_y, loss=LOSS)
results["buggy_gradient_max_error"], results["buggy_gradient_verdict"] = buggy.max_error, buggy.verdict

# %% 2. Sanity checks before training
# The untrained loss should be ln(10) (every class equally likely); regularization must raise it;
# and a net that cannot memorize 20 examples has a bug. Random labels memorize too: the caveat.
sanity = sanity_check(lambda l2: mlp(hidden=64, l2=l2, seed=args.seed), (x_train, y_train), 10,
                      regularization=1e-3)
print(sanity)
results["sanity_passed"] = sanity.passed
results["initial_loss"] = sanity["initial loss vs ln(C)"]["value"]
results["ln_10"] = math.log(10)
results["overfit_20_steps"] = sanity["overfits a small subset"]["value"]
results["random_labels_overfit_20_steps"] = sanity["random labels overfit too (caveat)"]["value"]


# %% 3. Monitoring: the learning rate read from the loss curve and from the update/weight ratio
# Too low: the loss barely moves. Too high: it jumps or diverges. Good: a fast, steady fall. The
# notes' other gauge is ||dW|| / ||W|| for one step: about 1e-3 is healthy.
def fit_mlp(learning_rate, seed=args.seed, epochs=EPOCHS, hidden=64, callbacks=()):
    keras.utils.set_random_seed(seed)
    data = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(TRAIN, seed=seed).batch(128)
    validation = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(1000)
    return train(lambda: mlp(hidden=hidden, seed=seed), data, validation_data=validation, epochs=epochs,
                 global_batch_size=128, optimizer=lambda: keras.optimizers.Adam(learning_rate), loss=LOSS,
                 callbacks=list(callbacks))


import warnings  # noqa: E402

regimes = {"too low (1e-6)": 1e-6, "too high (1.0)": 1.0, "good (1e-3)": 1e-3}
curves, ratio_monitors = {}, {}
for name, lr in regimes.items():
    ratio_monitors[name] = UpdateRatioMonitor(json_path=out / f"update_ratios_lr_{lr:g}.json")
    extra = [ActivationMonitor(x_val[:256]), TrainingCurves(out / "training_curves.png")] if lr == 1e-3 else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the monitor warns for the bad regimes: expected here
        run = fit_mlp(lr, callbacks=[ratio_monitors[name], *extra])
    curves[name] = run.history["loss"]
    kernels = [r for path, r in ratio_monitors[name].history[0].items() if path.endswith("kernel")]
    results[f"lr_{lr:g}_final_loss"] = curves[name][-1]
    results[f"lr_{lr:g}_first_epoch_update_ratio"] = float(np.median(kernels))
    if extra:
        good_model, activation_monitor = run.model, extra[0]
print(activation_monitor.format_table())
last_stats = activation_monitor.history[-1][1]
results["activation_table_layers"] = len(last_stats)
results["hidden_dead_relu_fraction"] = next(s["dead_fraction"] for s in last_stats.values()
                                            if s["dead_fraction"] is not None)

import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, losses in curves.items():
    ax.plot(range(1, len(losses) + 1), losses, marker="o", label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("Learning-rate regimes [001 §3]")
ax.legend()
save_figure(fig, out / "learning_rate_regimes.png")

# The first layer's weights, one 28x28 image per hidden unit: after training they look like
# strokes and blobs; noise would mean too little training or too high a learning rate.
first_kernel = good_model.layers[1].get_weights()[0]
fig, axes = plt.subplots(4, 8, figsize=(8, 4))
for unit, ax in enumerate(axes.flat):
    ax.imshow(first_kernel[:, unit].reshape(28, 28), cmap="RdBu")
    ax.axis("off")
fig.suptitle("First-layer weights of the good run, one unit per image [001 §3]")
save_figure(fig, out / "first_layer_weights.png")

# %% 3c. The loss surface's curvature: the Hessian's extreme eigenvalues
# Hessian-vector products (double backprop) with power iteration give the largest and the most
# negative eigenvalue without ever forming the 50,000 x 50,000 matrix. At initialization the
# surface has negative curvature (a saddle region [003]); after training it is nearly convex here.
probe_x, probe_y = x_train[:512], y_train[:512]
curvature = {"init": mlp(seed=args.seed), "trained": good_model}
for name, model in curvature.items():
    hessian = hessian_eigenvalues(model, inputs=probe_x, targets=probe_y, loss=LOSS, method="power",
                                  iterations=100, tol=1e-4, seed=args.seed)
    results[f"hessian_{name}_largest_eigenvalue"] = hessian.largest
    results[f"hessian_{name}_smallest_eigenvalue"] = hessian.smallest
    print(f"Hessian at {name}: eigenvalues in [{hessian.smallest:.3g}, {hessian.largest:.3g}] ({hessian.kind})")


# %% 4. Random search, coarse to fine
# Learning rates drawn as 10 ** uniform(-6, 1): every decade gets the same share. The coarse
# round's best trials set a narrower range for the fine round. Scores: the fixed validation split.
space = {"learning_rate": LogUniform(1e-6, 1e1)}
models = {}


def objective(params):
    result = fit_mlp(params["learning_rate"])
    models[params["learning_rate"]] = result.model
    return result.history["val_accuracy"][-1]


coarse = random_search(objective, space, COARSE_TRIALS, seed=args.seed)
fine = random_search(objective, refine(coarse, top_k=2), FINE_TRIALS, seed=args.seed + 1)
trials = sorted(coarse.trials + fine.trials, key=lambda t: -t["score"])
print(coarse.table(), "\n\n", fine.table(), sep="")
coarse.to_csv(out / "search_coarse.csv")
fine.to_csv(out / "search_fine.csv")
fig, ax = plt.subplots(figsize=(5, 3.5))
coarse.figure("learning_rate", ax=ax)
ax.scatter([t["learning_rate"] for t in fine.trials], [t["score"] for t in fine.trials], marker="x", label="fine")
ax.set_ylabel("validation accuracy")
ax.legend()
save_figure(fig, out / "random_search.png")
best_lr = trials[0]["learning_rate"]
results.update(search_best_learning_rate=best_lr, search_best_val_accuracy=trials[0]["score"],
               search_coarse_edge_warnings=len(coarse.edge_warnings),
               search_best_position_in_range=space["learning_rate"].position(best_lr))


# %% 5. Ensembles
# The notes' recipes: the top models of the search, and the same model from different
# initializations. Averaging probabilities keeps each model's confidence; a majority vote does not.
def test_metrics(probabilities):
    probabilities = np.clip(probabilities, 1e-12, 1.0)
    loss = float(-np.mean(np.log(probabilities[np.arange(len(y_test)), y_test])))
    return loss, float(np.mean(np.argmax(probabilities, -1) == y_test))


def probabilities_of(model):
    return tf.nn.softmax(model.predict(x_test, batch_size=2000, verbose=0)).numpy()


top_models = [models[t["learning_rate"]] for t in trials[:3]]
seed_models = [top_models[0]] + [fit_mlp(best_lr, seed=args.seed + k).model for k in (1, 2)]
single_loss, single_accuracy = test_metrics(probabilities_of(top_models[0]))
results.update(best_single_test_loss=single_loss, best_single_test_accuracy=single_accuracy)
# The weights of the last two epochs of one more run with the best rate, averaged.
averaged = fit_mlp(best_lr, epochs=EPOCHS + 1, callbacks=[WeightAveraging(mode="last_k", k=2)]).model
results["weight_average_test_loss"], results["weight_average_test_accuracy"] = test_metrics(
    probabilities_of(averaged))
for name, members in {"top3_search": top_models, "three_seeds": seed_models}.items():
    member_probabilities = np.stack([probabilities_of(m) for m in members])
    averaged_loss, averaged_accuracy = test_metrics(member_probabilities.mean(0))
    votes = np.argmax(member_probabilities, -1)
    majority = np.array([np.bincount(column, minlength=10).argmax() for column in votes.T])
    results[f"ensemble_{name}_averaged_test_loss"] = averaged_loss
    results[f"ensemble_{name}_averaged_test_accuracy"] = averaged_accuracy
    results[f"ensemble_{name}_majority_test_accuracy"] = float(np.mean(majority == y_test))

# %% Export and report
# The best single model of the search is exported, like every lesson's headline model.
results["saved_model"] = str(export(top_models[0], "10_training_practice", root=args.saved_models_dir))
report(results, out / "results.json", title="L10 training practice")

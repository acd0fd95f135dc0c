"""Scale and export: one training code path on 1 device, 2 devices and many machines; SavedModel serving.

What you will learn:
- `tfcourse.training.train`: the strategy is picked by name or automatically ("auto": several
  GPUs -> MirroredStrategy, one GPU -> that GPU, CPU -> default, TF_CONFIG cluster ->
  MultiWorkerMirroredStrategy); the model and optimizer are built inside `strategy.scope()`;
  the GLOBAL batch is split over the replicas; the tf.data auto-shard policy is set on purpose;
- the same CNN trained on one device and on 2 logical CPU devices (MirroredStrategy) at the
  same global batch, on the same reshuffled-every-epoch pipeline, gives the same losses and
  weights (up to float32 summation order);
- the custom training loop (tf.GradientTape + strategy.run + tf.function, per-example losses
  summed and divided by the GLOBAL batch) next to `model.fit`: identical metrics;
- fault tolerance: a run killed in the middle of epoch 2 resumes from its backup at epoch 2,
  loses no finished epoch, and ends with exactly the weights of an uninterrupted run, on the
  default reshuffled-every-epoch pipeline (each epoch's order is a function of (seed, epoch);
  the backup holds weights, optimizer, RNG and callbacks' state);
- export as a versioned SavedModel (`saved_models/<name>/<version>/`, TF Serving layout) with
  signatures for uint8 and float images returning `probabilities` and `class_id`; reload it in
  a fresh process with TensorFlow only; classify PNG digits (`tfcourse predict`).
On several machines: set TF_CONFIG on each and run the same script with
`train(..., strategy="multi_worker")` (or "auto"); tfcourse then uses its custom loop, because
Keras 3.15 `model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585).

Runtime: about 1 minute on 2 CPU cores (`--quick`: 4,096 training and 1,024 validation images, 2 epochs;
about 40 s of CPU user time, measured on a shared machine, ~10 s of it in the reload process).
Expected: fit vs custom loop on 2 devices: identical numbers (difference 0); 1 vs 2 devices:
the same computation up to float32 summation order (the replicas' gradients are summed in
another order), so the runs start equal to ~1e-7 and drift apart as training amplifies the
round-off: `--quick` ends with weights within ~1e-6, the full 3-epoch run with losses within ~3e-4,
weights within ~1e-2 and the same accuracy (no exact equality is possible here); the resumed run
(shuffled default pipeline, deterministic mode) starts at epoch index 1 and ends with exactly
the uninterrupted run's weights (difference 0); the reloaded
SavedModel gives the same probabilities (difference < 1e-5); test accuracy about 0.97
(`--quick`: above 0.8); the PNG digits are mostly classified correctly.
Notes followed: design card L11 (training through tf.distribute; SavedModel export and serving).
"""

# %% Setup: two logical CPU devices (before TensorFlow touches the CPU), seeds
import os
import subprocess
import sys
import textwrap
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tfcourse.data import load_arrays, load_splits  # noqa: E402
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure  # noqa: E402
from tfcourse.models import mnist_cnn  # noqa: E402
from tfcourse.predict import predict  # noqa: E402
from tfcourse.training import export, get_strategy, resolve_strategy_name, train  # noqa: E402

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "11_scale_and_export")
TRAIN = 4_096 if args.quick else 20_000
VALIDATION = 1_024 if args.quick else 10_000
EPOCHS = 2 if args.quick else 3
GLOBAL_BATCH = 64
TWO_CPUS = ["/cpu:0", "/cpu:1"]
results = {"train_examples": TRAIN, "epochs": EPOCHS, "global_batch_size": GLOBAL_BATCH}


def data():
    """A fresh pipeline per run, batched by the GLOBAL batch, reshuffled every epoch (seeded).

    Every run sees the same batches: under `train` epoch e's order is a function of
    (seed, e) alone, on fit and the custom loop, on one device or many, and after a restart
    from a backup (see `tfcourse.data.epoch_stream`).
    """
    return load_splits(
        "mnist", batch_size=GLOBAL_BATCH, train_limit=TRAIN, validation_size=VALIDATION, shuffle_seed=args.seed
    )


def build_cnn():
    """The flagship CNN shape, narrower and without dropout: each replica draws its own dropout
    masks, which would make 1-device and 2-device runs differ for a reason unrelated to tf.distribute."""
    return mnist_cnn(filters=(16, 32), dropout=0, name="mnist_cnn_l11")


COMMON = dict(
    epochs=EPOCHS,
    global_batch_size=GLOBAL_BATCH,
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    seed=args.seed,
)


def max_weight_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a.get_weights(), b.get_weights()))


def max_history_diff(a, b):
    return max(abs(u - v) for key in a.history for u, v in zip(a.history[key], b.history[key]))


# %% One device vs two logical devices (MirroredStrategy), same global batch
print(f"'auto' picks {resolve_strategy_name('auto')!r} on this machine")
timings = {}
runs = {}
for label, strategy in [("one_device", "default"), ("two_devices", get_strategy("mirrored", devices=TWO_CPUS))]:
    start = time.perf_counter()
    splits = data()
    runs[label] = train(build_cnn, splits.train, validation_data=splits.validation, strategy=strategy, **COMMON)
    timings[label] = time.perf_counter() - start
    print(f"{label}: replicas {runs[label].strategy.num_replicas_in_sync}, "
          f"per-replica batch {runs[label].per_replica_batch_size}, loss {runs[label].history['loss']}")
results["weights_diff_1_vs_2_devices"] = max_weight_diff(runs["one_device"].model, runs["two_devices"].model)
results["history_diff_1_vs_2_devices"] = max_history_diff(runs["one_device"], runs["two_devices"])
results["seconds_one_device"] = timings["one_device"]
results["seconds_two_devices"] = timings["two_devices"]  # a correctness tool on CPU, not a speed-up

gpus = tf.config.list_logical_devices("GPU")
if gpus:  # on a GPU machine: the auto strategy with mixed precision, same code
    splits = data()
    gpu_run = train(build_cnn, splits.train, strategy="auto", mixed_precision="auto", **COMMON)
    results["gpu_strategy"] = type(gpu_run.strategy).__name__
    results["gpu_final_loss"] = gpu_run.history["loss"][-1]

# %% The custom loop next to fit (on the two devices)
splits = data()
runs["custom"] = train(
    build_cnn, splits.train, validation_data=splits.validation, loop="custom",
    strategy=get_strategy("mirrored", devices=TWO_CPUS), **COMMON,
)
results["weights_diff_fit_vs_custom"] = max_weight_diff(runs["two_devices"].model, runs["custom"].model)
results["history_diff_fit_vs_custom"] = max_history_diff(runs["two_devices"], runs["custom"])
for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
    print(f"{key:>13}: fit {runs['two_devices'].history[key][-1]:.6f}  custom {runs['custom'].history[key][-1]:.6f}")


# %% Interrupt and resume: a crash in the middle of epoch 2, then the same call again
# The shuffled default pipeline, in deterministic mode (bit-identical runs on this machine).
class Crash(keras.callbacks.Callback):
    """Stands in for a killed process: raises halfway through the second epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == TRAIN // GLOBAL_BATCH // 2:
            raise KeyboardInterrupt("simulated crash in epoch 2")


backup_dir = out / "backup"
uninterrupted = train(build_cnn, data().train, deterministic=True, **COMMON)
try:
    train(build_cnn, data().train, backup_dir=backup_dir, callbacks=[Crash()], deterministic=True, **COMMON)
except KeyboardInterrupt as crash:
    print(f"interrupted: {crash}; backup files: {sorted(p.name for p in backup_dir.iterdir())}")
resumed = train(build_cnn, data().train, backup_dir=backup_dir, deterministic=True, **COMMON)
print(f"resumed at epoch index {resumed.initial_epoch}; ran {len(resumed.history['loss'])} epoch(s)")
results["resumed_initial_epoch"] = resumed.initial_epoch
results["weights_diff_resumed_vs_uninterrupted"] = max_weight_diff(resumed.model, uninterrupted.model)

# %% Test accuracy, then export a versioned SavedModel (+ model.keras)
model = runs["two_devices"].model
test_images, test_labels = load_arrays("mnist", "test")
n_test = 2_000 if args.quick else len(test_images)
probabilities = tf.nn.softmax(model.predict(test_images[:n_test] / 255.0, verbose=0)).numpy()
results["test_accuracy"] = float((probabilities.argmax(axis=1) == test_labels[:n_test]).mean())
export_path = export(model, "mnist_cnn_l11", root=args.saved_models_dir)
results["saved_model"] = str(export_path)
print(f"exported to {export_path}: {sorted(p.name for p in export_path.iterdir())}")

# %% Reload in a fresh process with TensorFlow only (no tfcourse), compare outputs
np.save(out / "reload_images.npy", test_images[:16])
RELOAD = textwrap.dedent(
    """
    import sys, numpy as np, tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    outputs = loaded.signatures["serving_uint8"](images=tf.constant(np.load(sys.argv[2])))
    assert "tfcourse" not in sys.modules
    np.save(sys.argv[3], outputs["probabilities"].numpy())
    """
)
env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
subprocess.run(
    [sys.executable, "-c", RELOAD, str(export_path), str(out / "reload_images.npy"), str(out / "reloaded.npy")],
    check=True, cwd=out, env=env, timeout=300,
)
reloaded = np.load(out / "reloaded.npy")
results["reload_max_diff"] = float(np.abs(reloaded - probabilities[:16]).max())

# %% PNG digits (some as MNIST 28x28, some large and dark-on-light), classified like `tfcourse predict`
png_paths, png_labels = [], []
for i in range(6):
    image, label = test_images[100 + i, :, :, 0], int(test_labels[100 + i])
    if i % 2:  # a "photo of paper": black ink on white, 4x larger
        image = 255 - np.asarray(Image.fromarray(image).resize((112, 112), Image.BICUBIC))
    path = out / f"digit_{i}_label{label}.png"
    Image.fromarray(image).save(path)
    png_paths.append(path)
    png_labels.append(label)
predictions = predict(export_path, png_paths)
for p, label in zip(predictions, png_labels):
    print(f"{p.path.name}: class {p.class_id} (probability {p.probability:.3f}), true {label}")
results["png_digits"] = len(png_paths)
results["png_correct"] = sum(p.class_id == label for p, label in zip(predictions, png_labels))
print(f"CLI equivalent: tfcourse predict --model {export_path.parent} {png_paths[0]}")

# %% Figure: loss curves of the four runs, and the PNG digits with their predictions

import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
epochs_axis = np.arange(1, EPOCHS + 1)
for label, style in [("one_device", "-o"), ("two_devices", "--s"), ("custom", ":^")]:
    axes[0].plot(epochs_axis, runs[label].history["loss"], style, label=label.replace("_", " "))
axes[0].plot(epochs_axis, uninterrupted.history["loss"], "-", color="gray", label="uninterrupted")
axes[0].plot(epochs_axis[resumed.initial_epoch:], resumed.history["loss"], "x", markersize=12,
             label="killed, resumed")
axes[0].set(xlabel="epoch", ylabel="training loss", title="Same numbers on 1 / 2 devices, fit / custom loop")
axes[0].legend()
axes[1].axis("off")
strip = np.concatenate([np.asarray(Image.open(p).convert("L").resize((56, 56))) for p in png_paths], axis=1)
axes[1].imshow(strip, cmap="gray")
axes[1].set_title("PNG digits -> " + " ".join(str(p.class_id) for p in predictions))
save_figure(fig, out / "scale_and_export.png")

report(results, out / "results.json", title="L11 Scale and export")

"""Quickstart: train a small CNN on real MNIST, report its test accuracy, export a SavedModel.

What you will learn:
- loading the offline, TFDS-prepared MNIST with `tfcourse.data.load_splits`
  (scaled to [0, 1], the classic 50,000 / 10,000 train / validation split);
- building and training a small convolutional network with Keras;
- exporting it as a versioned SavedModel under `saved_models/` for serving.

This is the flagship run of `make demo`; lesson L07 develops the CNN in full.
Runtime: about 1 minute on 2 CPU cores (`--quick`: about 10 s).
Expected: test accuracy about 0.987 after 5 epochs (`--quick`, 6,000 images, 1 epoch: about 0.90).
Notes followed: 000 (CNN), 003 (LeNet-style MNIST network), 004 §2.1 (accuracy by argmax).
"""

# %% Setup
import time

import keras

import tfcourse
from tfcourse.data import load_splits
from tfcourse.lessons import lesson_parser, output_dir, report
from tfcourse.models import mnist_cnn
from tfcourse.training import export, train

args = lesson_parser(__doc__).parse_args()
out = output_dir(args, "00_quickstart")
epochs = 1 if args.quick else 5
BATCH_SIZE = 128

# %% Data: real MNIST, offline, scaled to [0, 1]
keras.utils.set_random_seed(args.seed)  # before the pipeline: its shuffle seed combines with it
splits = load_splits(
    "mnist", batch_size=BATCH_SIZE, normalization="scale", train_limit=6_000 if args.quick else None
)
print(f"train {splits.info.num_train}, validation {splits.info.num_validation}, test {splits.info.num_test}")

# %% Model: two conv/pool stages, then dropout and a dense classifier (see `tfcourse.models`)
build_model = mnist_cnn

# %% Train with the shared engine (strategy "auto": one GPU, several GPUs, or the CPU)
start = time.perf_counter()
result = train(
    build_model,
    splits.train,
    validation_data=splits.validation,
    epochs=epochs,
    global_batch_size=BATCH_SIZE,
    optimizer=lambda: tfcourse.optimizers.Adam(1e-3),  # the notes' Adam, a drop-in for Keras's
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    steps_per_execution=32,
    seed=args.seed,
    verbose=2,
)
train_seconds = time.perf_counter() - start
model = result.model
model.summary()

# %% Evaluate on the official 10,000-image test split
test_loss, test_accuracy = model.evaluate(splits.test, verbose=0)

# %% Export a versioned SavedModel (TF Serving layout) and a .keras file
export_path = export(model, "mnist_cnn", root=args.saved_models_dir)
print(f"exported {export_path}; try: tfcourse predict --model {export_path.parent} digit.png")

report(
    {
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "val_accuracy": float(result.history["val_accuracy"][-1]),
        "strategy": type(result.strategy).__name__,
        "epochs": epochs,
        "train_seconds": train_seconds,
        "saved_model": str(export_path),
    },
    out / "results.json",
    title="Quickstart: MNIST CNN",
)

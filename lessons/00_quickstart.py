"""Quickstart: train the fast MNIST recipe to 99% test accuracy in one epoch, export a SavedModel.

What you will learn:
- loading the offline, TFDS-prepared MNIST into memory as two tensors
  (`tfcourse.fast_mnist.load_tensors`: the classic 50,000 training images, scaled to [0, 1]);
- training the course's record recipe (`tfcourse.fast_mnist.RECORD`): a small CNN, Adam
  with betas 0.7 / 0.9 on a warm-up + cosine learning rate, batches of 256 gathered from memory,
  many steps per graph call, one epoch;
- looking at what it does: the first test digits with the predicted class (errors in red);
- exporting the model as a versioned SavedModel under `saved_models/` for serving.

This is the flagship run of `make demo`. Lesson L12 builds the recipe up trick by trick and
measures each one; lesson L07 develops the CNN in full.
Runtime: under 20 s on an idle 2-core CPU (README's lessons table), most of it importing TensorFlow (`--quick`: about 10 s).
Expected: test accuracy about 0.99 after one epoch: single seeds land between about 0.989 and
0.992; the target, a mean >= 0.99 over 10 seeds, is
checked by `benchmarks/fast_mnist.py`. `--quick` (20,000 images, one epoch): test accuracy > 0.96.
Notes followed: 000 (CNN), 003 (LeNet-style MNIST network), 004 §2.1 (accuracy by argmax).
"""

# %% Setup
from tfcourse.fast_mnist import RECORD, accuracy, load_tensors, train_recipe
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.training import export

args = lesson_parser(__doc__).parse_args()
out = output_dir(args, "00_quickstart")

# %% Data: real MNIST, offline, held in memory as float32 tensors in [0, 1]
train_images, train_labels = load_tensors("mnist", "train[:20000]" if args.quick else "train[:50000]")
test_images, test_labels = load_tensors("mnist", "test")
print(f"train {train_images.shape[0]}, test {test_images.shape[0]}")

# %% The record recipe: one source of truth in `tfcourse.fast_mnist`, trained with `tfcourse.training.train`
print(RECORD)
run = train_recipe(RECORD, train_images, train_labels, seed=args.seed, verbose=2)
run.model.summary()

# %% Evaluate on the official 10,000-image test split
test_accuracy = accuracy(run.model, test_images, test_labels)
print(f"test accuracy {test_accuracy:.4f} after {RECORD.epochs} epoch, {run.train_seconds:.1f} s of training")

# %% The first 24 test digits with the model's prediction; the errors in red
import matplotlib.pyplot as plt  # noqa: E402

shown = 24
predicted = run.model.predict(test_images[:shown], verbose=0).argmax(axis=1)
fig, axes = plt.subplots(3, 8, figsize=(8, 3.4))
for ax, image, label, guess in zip(axes.flat, test_images[:shown].numpy(), test_labels[:shown].numpy(), predicted):
    ax.imshow(image.squeeze(), cmap="gray_r")
    ax.set_title(str(guess), color="black" if guess == label else "red", fontsize=10)
    ax.axis("off")
fig.suptitle("First test digits: predicted class (red: wrong)")
save_figure(fig, out / "test_predictions.png")
shown_errors = int((predicted != test_labels[:shown].numpy()).sum())
print(f"{shown_errors} of the first {shown} test digits misclassified")

# %% Export a versioned SavedModel (TF Serving layout) and a .keras file
export_path = export(run.model, "mnist_cnn", root=args.saved_models_dir)
print(f"exported {export_path}; try: tfcourse predict --model {export_path.parent} digit.png")

report(
    {
        "test_accuracy": test_accuracy,
        "train_seconds": run.train_seconds,
        "train_images": int(train_images.shape[0]),
        "epochs": RECORD.epochs,
        "final_train_loss": float(run.history["loss"][-1]),
        "first_24_test_errors": shown_errors,
        "saved_model": str(export_path),
    },
    out / "results.json",
    title="Quickstart: the fast MNIST recipe",
)

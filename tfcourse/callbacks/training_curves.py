"""Train vs validation curves as a PNG, redrawn each epoch (notes 001 §3.2).

Introduced in lesson L05.
"""

from pathlib import Path

import keras

from tfcourse.lessons import save_figure


class TrainingCurves(keras.callbacks.Callback):
    """A PNG of train and validation loss/accuracy per epoch, rewritten every epoch (lesson L05).

    Introduced in lesson L05 (notes 001 §3.2: the gap between the training and validation
    curves shows overfitting (large gap, variance) or underfitting (both poor, bias)).

        for each name in metrics: one panel, logs[name] and logs["val_" + name] vs epoch

    The file is written atomically (temporary file, then rename), so a viewer never sees a
    half-written image. `self.series` holds the plotted numbers ({name: [values]}).

    Args:
        path: the PNG file.
        metrics: names to draw (each with its "val_" twin when logged). Defaults to
            ("loss", "accuracy").
        title: optional figure title.
    """

    def __init__(self, path, metrics=("loss", "accuracy"), title=None):
        super().__init__()
        self.path = Path(path)
        self.metrics = tuple(metrics)
        if not self.metrics or not all(isinstance(m, str) and m for m in self.metrics):
            raise ValueError(f"`metrics` must be a non-empty list of names. Received: metrics={metrics!r}")
        self.title = title
        self.series = {}
        self.epochs = []

    def on_train_begin(self, logs=None):
        self.series = {}
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epochs.append(epoch + 1)
        for name in self.metrics:
            for key in (name, f"val_{name}"):
                if key in logs:
                    self.series.setdefault(key, []).append(float(logs[key]))
        save_figure(self.draw(), self.path)

    def draw(self):
        """The figure (matplotlib) of the curves recorded so far."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        shown = [m for m in self.metrics if m in self.series]
        fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(4.5 * max(len(shown), 1), 3.4), squeeze=False)
        for ax, name in zip(axes[0], shown):
            for key, label in ((name, "train"), (f"val_{name}", "validation")):
                if key in self.series:
                    values = self.series[key]
                    ax.plot(self.epochs[-len(values):], values, marker="o", markersize=3, label=label)
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
        if self.title:
            fig.suptitle(self.title)
        return fig

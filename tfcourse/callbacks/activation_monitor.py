"""Per-layer activation statistics on a fixed probe batch (notes 001 §3.4, 002 §6).

Introduced in lesson L05.
"""

import keras
import numpy as np
import tensorflow as tf

from tfcourse._validation import check_positive_int


def _is_relu(layer):
    if isinstance(layer, keras.layers.ReLU):
        return True
    activation = getattr(layer, "activation", None)
    return activation is keras.activations.relu or getattr(activation, "__name__", None) == "relu"


def write_histogram(tag, values, step, bins=30):
    """A TensorBoard histogram written with TensorFlow alone (`tf.summary.histogram` needs
    the tensorboard package): the histograms plugin's [bins, 3] tensor of (left, right, count)."""
    counts, edges = np.histogram(np.asarray(values, dtype="float64").ravel(), bins=bins)
    buckets = np.stack([edges[:-1], edges[1:], counts.astype("float64")], axis=1)
    metadata = tf.compat.v1.SummaryMetadata()
    metadata.plugin_data.plugin_name = "histograms"
    tf.summary.write(tag, tf.constant(buckets), step=step, metadata=metadata)


def activation_statistics(outputs, relu):
    """mean, std and dead fraction of one layer's outputs (lesson L05).

    Introduced in lesson L05.

        mean = mean(a), std = std(a) over every example, position and unit
        dead_fraction = (#units u with a[..., u] == 0 for every example and position) / #units
                        (units are the last axis; only for ReLU layers, else None)
    """
    values = np.asarray(outputs, dtype="float64")
    stats = {"mean": float(values.mean()), "std": float(values.std()), "dead_fraction": None}
    if relu:
        per_unit = values.reshape(-1, values.shape[-1])
        stats["dead_fraction"] = float(np.mean(np.all(per_unit == 0.0, axis=0)))
    return stats


class ActivationMonitor(keras.callbacks.Callback):
    """Mean, std and dead-ReLU fraction of every layer on a fixed probe batch (lesson L05).

    Introduced in lesson L05; the notes' per-layer table (001 §3.4: activations that shrink
    layer by layer mean a bad initialization) and dead ReLUs (002 §6: a unit whose output is
    0 for every input no longer learns). Every `every_epochs` epochs, for each layer:

        a = layer output on probe_x (inference mode)
        mean(a), std(a), dead_fraction = share of units that are 0 on the whole probe batch

    Kept in `self.history` ([(epoch, {layer: stats})]), printed as a text table when
    `verbose=1` (`format_table()`), and with `log_dir` written as TensorBoard histograms
    ("activations/<layer>") with `tf.summary.write`. The model must be a built Sequential or
    functional model.

    Args:
        probe_x: a fixed batch of inputs (array), the same every epoch.
        every_epochs: int >= 1. Defaults to 1.
        log_dir: optional TensorBoard directory for histograms.
        verbose: 0 or 1.
    """

    def __init__(self, probe_x, every_epochs=1, log_dir=None, verbose=0):
        super().__init__()
        self.probe_x = np.asarray(probe_x)
        if self.probe_x.ndim < 2 or len(self.probe_x) == 0:
            raise ValueError(f"`probe_x` must be a non-empty batch of inputs. Received shape {self.probe_x.shape}")
        self.every_epochs = check_positive_int("every_epochs", every_epochs)
        self.log_dir = log_dir
        self.verbose = verbose
        self.history = []
        self._writer = None

    def measure(self):
        """{layer name: statistics} for the current weights."""
        layers = [layer for layer in self.model.layers if not isinstance(layer, keras.layers.InputLayer)]
        inputs = self.model.inputs[0] if len(self.model.inputs) == 1 else self.model.inputs
        probe = keras.Model(inputs, [layer.output for layer in layers])
        outputs = probe(self.probe_x, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return {
            layer.name: activation_statistics(keras.ops.convert_to_numpy(out), _is_relu(layer))
            for layer, out in zip(layers, outputs)
        }, dict(zip((layer.name for layer in layers), outputs))

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every_epochs:
            return
        stats, outputs = self.measure()
        self.history.append((epoch, stats))
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(self.log_dir))
            with self._writer.as_default():
                for name, out in outputs.items():
                    write_histogram(f"activations/{name}", keras.ops.convert_to_numpy(out), epoch)
            self._writer.flush()
        if self.verbose:
            print(self.format_table())

    def format_table(self, index=-1):
        """The statistics of one recorded epoch as a text table."""
        epoch, stats = self.history[index]
        width = max(len(name) for name in stats)
        lines = [f"Activations after epoch {epoch + 1}", f"{'layer':<{width}}  {'mean':>10}  {'std':>10}  dead ReLU"]
        for name, s in stats.items():
            dead = "-" if s["dead_fraction"] is None else f"{s['dead_fraction']:.1%}"
            lines.append(f"{name:<{width}}  {s['mean']:>10.4g}  {s['std']:>10.4g}  {dead:>9}")
        return "\n".join(lines)

"""Epoch scalars for TensorBoard, written with TensorFlow alone (lesson L11).

`tf.summary.scalar` needs the `tensorboard` package; `tf.summary.write` with the scalars
plugin's metadata does not, and TensorBoard shows the result the same way. Layout as
Keras' TensorBoard callback: <log_dir>/train and <log_dir>/validation, tags "epoch_<name>".
"""

from pathlib import Path

import keras
import tensorflow as tf


def _scalar_metadata():
    metadata = tf.compat.v1.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    return metadata


class EpochSummaries:
    """Write one scalar per metric and epoch (lesson L11); `val_*` go to validation/."""

    def __init__(self, log_dir):
        self.log_dir = Path(log_dir)
        self._writers = {}

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(str(self.log_dir / split))
        return self._writers[split]

    def write(self, epoch, logs):
        for key, value in logs.items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(split).as_default():
                tf.summary.write(
                    f"epoch_{name}", tf.constant(float(value)), step=epoch, metadata=_scalar_metadata()
                )
        for writer in self._writers.values():
            writer.flush()

    def close(self):
        for writer in self._writers.values():
            writer.close()


class EpochSummariesCallback(keras.callbacks.Callback):
    """`EpochSummaries` as a Keras callback for `model.fit` (lesson L11)."""

    def __init__(self, log_dir):
        super().__init__()
        self.summaries = EpochSummaries(log_dir)

    def on_epoch_end(self, epoch, logs=None):
        self.summaries.write(epoch, logs or {})

    def on_train_end(self, logs=None):
        self.summaries.close()

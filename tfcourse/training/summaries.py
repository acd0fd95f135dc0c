"""`EpochSummaries`: epoch scalars for TensorBoard, a Keras callback needing TensorFlow alone (lesson L11).

`keras.callbacks.TensorBoard` calls `tf.summary.scalar`, which needs the `tensorboard`
package (not a tfcourse dependency); `tf.summary.write` with the scalars plugin's metadata
does not, and TensorBoard shows the result the same way. Layout as Keras' TensorBoard
callback: <log_dir>/train and <log_dir>/validation, tags "epoch_<name>", step = epoch:

    on_epoch_end(epoch, logs):
        for name, value in logs:   "val_<m>" -> validation/epoch_<m>, else train/epoch_<name>

`train(..., tensorboard_dir=...)` adds it on both loops (on the chief worker's folder).
"""

from pathlib import Path

import keras
import tensorflow as tf


def _scalar_metadata():
    metadata = tf.compat.v1.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    return metadata


class EpochSummaries(keras.callbacks.Callback):
    """Write one scalar per metric and epoch (lesson L11); `val_*` go to validation/."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = Path(log_dir)
        self._writers = {}

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(str(self.log_dir / split))
        return self._writers[split]

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(split).as_default():
                tf.summary.write(
                    f"epoch_{name}", tf.constant(float(value)), step=epoch, metadata=_scalar_metadata()
                )
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

"""One training run of the kill-and-resume tests (run as a script by test_resume.py).

    python resume_child.py OUT_DIR BACKUP_DIR --loop fit|custom
        [--pause-at EPOCH BATCH]   write OUT_DIR/marker at that batch and sleep (to be SIGKILLed);
                                   only if the marker does not exist yet, so a restart runs on
        [--kill-in-backup EPOCH]   SIGKILL itself in the middle of writing the backup of EPOCH
                                   finished epochs (checkpoint written, the rest not)
        [--iterator-order]         negative control: a pipeline whose order depends on how many
                                   iterators the process opened (load_splits' train split mapped,
                                   so `train` cannot read its order by epoch)

Deterministic CPU mode, the shuffled `load_splits` pipeline on 512 MNIST images, a tiny MLP
with dropout (RNG state), Adam (optimizer state) and ReduceLROnPlateau (callback state that
changes the learning rate). Writes OUT_DIR/result.npz: final weights, loss history, initial_epoch.
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
EPOCHS, BATCH = 4, 64


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("backup_dir", type=Path)
    parser.add_argument("--loop", choices=["fit", "custom"], required=True)
    parser.add_argument("--pause-at", type=int, nargs=2, default=None)
    parser.add_argument("--kill-in-backup", type=int, default=None)
    parser.add_argument("--iterator-order", action="store_true")
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from tfcourse.data import load_splits
    from tfcourse.training import TrainingBackup, train

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    splits = load_splits("mnist", batch_size=BATCH, train_limit=512, validation_size=512, flatten=True, shuffle_seed=3)
    data = splits.train.map(lambda x, y: (x, y)) if args.iterator_order else splits.train

    def build():
        return keras.Sequential([
            keras.Input((784,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3),
            keras.layers.Dense(10),
        ])  # fmt: skip

    class PauseForKill(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            marker = args.out_dir / "marker"
            if args.pause_at == [self.epoch, batch] and not marker.exists():
                marker.write_text("paused")
                time.sleep(600)  # the parent sends SIGKILL now

    if args.kill_in_backup is not None:
        original = TrainingBackup._checkpoint

        class KillAfterWrite:
            def __init__(self, checkpoint):
                self.checkpoint = checkpoint

            def write(self, prefix):
                self.checkpoint.write(prefix)
                if Path(prefix).parent.name == f"epoch-{args.kill_in_backup:06d}":
                    os.kill(os.getpid(), signal.SIGKILL)  # mid-backup: rng, callbacks, state.json unwritten

        TrainingBackup._checkpoint = lambda self: KillAfterWrite(original(self))

    result = train(
        build, data, validation_data=splits.validation, epochs=EPOCHS, global_batch_size=BATCH, loop=args.loop,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="adam",
        seed=11, deterministic=True, backup_dir=args.backup_dir,
        callbacks=[keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=10), PauseForKill()],
    )  # fmt: skip
    np.savez(args.out_dir / "result.npz", *result.model.get_weights(), initial_epoch=result.initial_epoch,
             loss=np.asarray(result.history["loss"]), learning_rate=np.asarray(result.history["learning_rate"]))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

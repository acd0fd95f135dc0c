"""One worker of the localhost multi-worker tests (run as a script by test_multi_worker.py).

    python mw_worker.py OUT_DIR BACKUP_DIR [--pause-after-epoch K] [--epochs E] [--early-stop]

TF_CONFIG (set by the test) names the cluster and this worker's task. The worker trains the
small model below with `tfcourse.training.train(strategy="multi_worker", jit_compile="auto")`
and writes OUT_DIR/worker<task>.npz (final weights, history, initial_epoch, jit_compile, whether
XLA was measured). With --pause-after-epoch it writes OUT_DIR/paused<task> after that many
epochs and sleeps, so the test can kill it. With --early-stop it trains with tfcourse's EarlyStopping
(stops after epoch index 1: no epoch improves the loss by 0.5) and LearningRateDecay (halves the rate each epoch).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_EXAMPLES, GLOBAL_BATCH, FEATURES, CLASSES = 256, 32, 20, 4


def make_data():
    import numpy as np

    rng = np.random.default_rng(7)
    x = rng.normal(size=(N_EXAMPLES, FEATURES)).astype("float32")
    y = (x[:, :CLASSES].argmax(axis=1)).astype("int64")
    return x, y


def build_model():
    import keras

    keras.utils.set_random_seed(11)
    return keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )


def run(strategy, backup_dir=None, epochs=4, on_epoch_end=None, jit_compile=False, callbacks=()):
    from tfcourse.training import train

    return train(
        build_model,
        make_data(),
        epochs=epochs,
        global_batch_size=GLOBAL_BATCH,
        strategy=strategy,
        optimizer="adam",
        backup_dir=backup_dir,
        on_epoch_end=on_epoch_end,
        jit_compile=jit_compile,
        callbacks=callbacks,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("backup_dir", type=Path)
    parser.add_argument("--pause-after-epoch", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--early-stop", action="store_true")
    args = parser.parse_args()
    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)

    def pause(epoch, logs):
        if args.pause_after_epoch is not None and epoch + 1 == args.pause_after_epoch:
            (args.out_dir / f"paused{task}").write_text(str(epoch + 1))
            time.sleep(600)

    # "auto" must not measure under multi-worker: it trains with jit_compile=False.
    # tfcourse's own callbacks, each worker running its copy on the same all-reduced logs.
    from tfcourse.callbacks import EarlyStopping, LearningRateDecay
    from tfcourse.schedules import EpochExponentialDecay

    callbacks = []
    if args.early_stop:
        callbacks = [LearningRateDecay(EpochExponentialDecay(1e-3, 0.5, steps_per_epoch=1)),
                     EarlyStopping(monitor="loss", min_delta=0.5, patience=1)]  # fmt: skip
    result = run("multi_worker", args.backup_dir, args.epochs, pause, jit_compile="auto", callbacks=callbacks)
    weights = result.model.get_weights()
    np.savez(
        args.out_dir / f"worker{task}.npz",
        *weights,
        initial_epoch=result.initial_epoch,
        loss=np.asarray(result.history["loss"]),
        learning_rate=np.asarray(result.history.get("learning_rate", [])),
        loop=result.loop,
        jit_compile=result.jit_compile,
        measured=result.xla_timings is not None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`TrainingBackup`: the Keras callback behind `train(..., backup_dir=...)`, for exact resume.

Introduced in lesson L11. After every finished epoch it saves the whole training state,
and a restarted run (the same command) continues from it as if it had never stopped:

    backup_dir/epoch-<k>/   tf.train.Checkpoint of model + optimizer (weights, slots,
                            `iterations` = the learning-rate schedule's step, layers' seed
                            generators = dropout's RNG state), NumPy's and Python's global
                            RNG states and the other callbacks' state (EarlyStopping's best
                            value and wait count, ReduceLROnPlateau's, ModelCheckpoint's
                            best; a callback of yours: the attributes it names in
                            `state_attributes`)
    backup_dir/state.json   {"epoch": k, "folder": "epoch-<k>", "stopped": ...}, replaced
                            atomically and only once epoch-<k> is complete

So a kill at any moment, even during a backup write, leaves a usable backup: state.json
names either the previous complete folder or the new complete one. `keras.callbacks.
BackupAndRestore` is not enough here: it writes its files in place (a kill mid-write can
leave new weights beside the old epoch number) and saves neither RNG nor callbacks' state.

The data order is the other half of exact resume: `train` starts the data at the backup's
epoch (`saved_epoch`), and `tfcourse.data.load_splits`' order is a function of (seed, epoch).

Several workers (MultiWorkerMirroredStrategy): every worker writes (non-chief workers into
a scratch folder, deleted afterwards), every worker restores the chief's backup, so
`backup_dir` must be on a file system all workers share.
"""

import json
import random
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfcourse._atomic import atomic_write_text
from tfcourse.training.strategy import is_chief, is_multi_worker

STATE_FILE = "state.json"
_SCALARS = (bool, int, float, str, type(None), np.integer, np.floating, np.bool_)
# What a callback changes while it trains (its configuration is rebuilt by the same command).
# Only these are restored: e.g. restoring `min_delta` would undo the sign flip Keras applies
# once on the first epoch end. A callback of your own lists its own in `state_attributes`.
_KERAS_CALLBACK_STATE = (
    (keras.callbacks.EarlyStopping, ("wait", "stopped_epoch", "best", "best_epoch", "best_weights")),
    (keras.callbacks.ReduceLROnPlateau, ("wait", "best", "cooldown_counter")),
    (keras.callbacks.ModelCheckpoint, ("best",)),
)


def _state_names(callback):
    names = getattr(callback, "state_attributes", None)
    if names is not None:
        return tuple(names)
    for cls, state in _KERAS_CALLBACK_STATE:
        if isinstance(callback, cls):
            return state
    return ()


def _callback_state(callback):
    """The callback's training state: scalars (JSON) and lists of arrays (best_weights)."""
    scalars, arrays = {}, {}
    for name in _state_names(callback):
        value = getattr(callback, name, None)
        if isinstance(value, _SCALARS):
            scalars[name] = value.item() if isinstance(value, np.generic) else value
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            arrays[name] = value
        else:
            raise ValueError(
                f"`{type(callback).__name__}.{name}` must be a number, string, None or a list of arrays "
                f"to be backed up. Received: {value!r}"
            )
    return scalars, arrays


class TrainingBackup(keras.callbacks.Callback):
    """Back up the complete training state after each epoch; restore it on start (lesson L11).

    backup_dir: folder of the backup (see the module docstring); deleted at the end of a
                finished run, so the next run starts fresh.
    callbacks:  the other callbacks of the run, whose state is saved and restored. Put this
                callback after them: it then saves after they updated their state at the
                end of the epoch, and restores after their `on_train_begin` reset it.
    strategy:   the tf.distribute strategy (decides who writes where under several workers).

    `saved_epoch(epochs)` (before training) is the epoch to start from: 0 without a backup,
    `epochs` when the saved run had already stopped (e.g. EarlyStopping).
    """

    def __init__(self, backup_dir, callbacks=(), strategy=None):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.callbacks = list(callbacks)
        self.strategy = strategy if strategy is not None else tf.distribute.get_strategy()
        self.chief = is_chief(self.strategy)
        if self.chief:
            self.write_dir = self.backup_dir
        else:
            self.write_dir = self.backup_dir / f".scratch-worker-{self.strategy.cluster_resolver.task_id}"

    # -- reading --------------------------------------------------------------------------
    def _state(self):
        path = self.backup_dir / STATE_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def saved_epoch(self, epochs):
        """The epoch a run of `epochs` epochs starts from with this backup."""
        state = self._state()
        if state is None:
            return 0
        return epochs if state.get("stopped") else min(int(state["epoch"]), epochs)

    def _checkpoint(self):
        # Explicit variable lists: tracking the model object would miss the layers' seed
        # generator states (dropout's RNG), which `model.variables` includes.
        return tf.train.Checkpoint(
            model_variables=list(self.model.variables), optimizer_variables=list(self.model.optimizer.variables)
        )

    def on_train_begin(self, logs=None):
        state = self._state()
        if state is None:
            return
        folder = self.backup_dir / state["folder"]
        optimizer = self.model.optimizer
        if not optimizer.built:
            with self.strategy.scope():
                optimizer.build(self.model.trainable_variables)
        self._checkpoint().read(str(folder / "ckpt")).assert_existing_objects_matched()
        rng = json.loads((folder / "rng.json").read_text(encoding="utf-8"))
        np.random.set_state(("MT19937", np.asarray(rng["numpy"][0], dtype=np.uint32), *rng["numpy"][1:]))
        python_state = rng["python"]
        random.setstate((python_state[0], tuple(python_state[1]), python_state[2]))
        saved = json.loads((folder / "callbacks.json").read_text(encoding="utf-8"))
        arrays = np.load(folder / "callbacks.npz") if (folder / "callbacks.npz").exists() else {}
        for index, callback in enumerate(self.callbacks):
            entry = saved[index] if index < len(saved) else None
            if entry is None or entry["class"] != type(callback).__name__:
                raise ValueError(
                    f"`callbacks` must be the callbacks of the backed-up run. Received: {callback!r} "
                    f"at position {index}, the backup has {entry and entry['class']!r}"
                )
            for name, value in entry["scalars"].items():
                setattr(callback, name, value)
            for name in entry["arrays"]:
                count = entry["arrays"][name]
                setattr(callback, name, [arrays[f"{index}.{name}.{i}"] for i in range(count)])

    # -- writing --------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1, stopped=bool(self.model.stop_training))

    def save(self, epochs_done, stopped=False):
        """Write the state after `epochs_done` finished epochs (every worker must call this)."""
        name = f"epoch-{epochs_done:06d}"
        folder = self.write_dir / name
        if folder.exists():  # left by a run killed while writing it
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        if not self.model.optimizer.built:
            with self.strategy.scope():
                self.model.optimizer.build(self.model.trainable_variables)
        self._checkpoint().write(str(folder / "ckpt"))
        numpy_state = np.random.get_state()
        python_state = random.getstate()
        rng = {
            "numpy": [numpy_state[1].tolist(), *(v.item() if isinstance(v, np.generic) else v for v in numpy_state[2:])],
            "python": [python_state[0], list(python_state[1]), python_state[2]],
        }
        (folder / "rng.json").write_text(json.dumps(rng), encoding="utf-8")
        entries, arrays = [], {}
        for index, callback in enumerate(self.callbacks):
            scalars, lists = _callback_state(callback)
            entries.append({"class": type(callback).__name__, "scalars": scalars,
                            "arrays": {k: len(v) for k, v in lists.items()}})  # fmt: skip
            for key, values in lists.items():
                arrays.update({f"{index}.{key}.{i}": v for i, v in enumerate(values)})
        (folder / "callbacks.json").write_text(json.dumps(entries), encoding="utf-8")
        if arrays:
            np.savez(folder / "callbacks.npz", **arrays)
        if not self.chief:
            shutil.rmtree(self.write_dir, ignore_errors=True)
            return
        # The state file is replaced last and atomically: it only ever names a complete folder.
        state = {"epoch": epochs_done, "folder": name, "stopped": stopped}
        atomic_write_text(self.backup_dir / STATE_FILE, json.dumps(state) + "\n")
        for old in self.backup_dir.glob("epoch-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    def on_train_end(self, logs=None):
        """A finished run removes its backup, so the next run starts fresh."""
        if self.chief:
            (self.backup_dir / STATE_FILE).unlink(missing_ok=True)
            for old in self.backup_dir.glob("epoch-*"):
                shutil.rmtree(old, ignore_errors=True)
        elif is_multi_worker(self.strategy):
            shutil.rmtree(self.write_dir, ignore_errors=True)

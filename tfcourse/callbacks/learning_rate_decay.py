"""Apply a learning-rate schedule once per epoch (notes 001 §4.4, 004 §2.2.9).

Introduced in lesson L03.
"""

import keras

from tfcourse._validation import check_int, check_positive_int


class LearningRateDecay(keras.callbacks.Callback):
    """Set the optimizer's learning rate from a schedule at the start of every epoch (lesson L03).

    Introduced in lesson L03.

        on_epoch_begin(epoch):  optimizer.learning_rate = schedule(epoch * steps_per_epoch)
        on_epoch_end(epoch):    logs["learning_rate"] = optimizer.learning_rate

    `schedule` is any `keras.optimizers.schedules.LearningRateSchedule` (e.g. the
    `tfcourse.schedules` ones) or a function of the step. With the default
    `steps_per_epoch=1` the schedule's step counts epochs (build it with steps_per_epoch=1);
    pass the training steps per epoch to reuse a per-step schedule, then held constant
    through each epoch. The learning rate is a function of the epoch alone, so a run resumed
    at `initial_epoch` (e.g. by `keras.callbacks.BackupAndRestore`) continues exactly. Put
    it before a `keras.callbacks.TensorBoard` callback in the list to get `learning_rate`
    in TensorBoard too. Works with any optimizer whose learning rate is a plain number.

    Args:
        schedule: LearningRateSchedule or callable(step) -> float.
        steps_per_epoch: int >= 1, multiplies the epoch index before calling `schedule`.
        verbose: 0 (silent) or 1 (print the learning rate each epoch).
    """

    def __init__(self, schedule, steps_per_epoch=1, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(
                "`schedule` must be a keras.optimizers.schedules.LearningRateSchedule or a "
                f"function of the step. Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
        self.verbose = check_int("verbose", verbose, low=0)

    def learning_rate_at(self, epoch):
        """The learning rate this callback sets for `epoch` (0-based)."""
        return float(keras.ops.convert_to_numpy(self.schedule(epoch * self.steps_per_epoch)))

    def on_epoch_begin(self, epoch, logs=None):
        learning_rate = self.learning_rate_at(epoch)
        self.model.optimizer.learning_rate = learning_rate
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateDecay setting learning rate to {learning_rate:.6g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

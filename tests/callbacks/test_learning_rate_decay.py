"""LearningRateDecay: per-epoch learning rates from a schedule, in fit, train() and on resume."""

import keras
import numpy as np
import pytest

import tfcourse
from tfcourse.callbacks import LearningRateDecay
from tfcourse.schedules import EpochExponentialDecay, StepDecay
from tfcourse.training import train

N, BATCH = 64, 16


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def _build():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")])


class _RecordLearningRate(keras.callbacks.Callback):
    """The optimizer's learning rate seen during each epoch's first batch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.seen.append(float(self.model.optimizer.learning_rate))


@pytest.mark.parametrize("optimizer", [lambda: tfcourse.optimizers.SGD(0.5), lambda: keras.optimizers.SGD(0.5)],
                         ids=["tfcourse", "keras"])
def test_fit_sets_and_logs_the_schedule_per_epoch(optimizer):
    x, y = _data()
    model = _build()
    model.compile(optimizer(), "sparse_categorical_crossentropy")
    recorder = _RecordLearningRate()
    schedule = StepDecay(0.1, factor=0.5, every_epochs=2)
    history = model.fit(x, y, batch_size=BATCH, epochs=5, verbose=0, callbacks=[LearningRateDecay(schedule), recorder])
    expected = [0.1, 0.1, 0.05, 0.05, 0.025]
    np.testing.assert_allclose(recorder.seen, expected, rtol=1e-6)  # not the optimizer's 0.5
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)


def test_steps_per_epoch_reuses_a_per_step_schedule():
    schedule = EpochExponentialDecay(1.0, base=0.5, steps_per_epoch=4)
    callback = LearningRateDecay(schedule, steps_per_epoch=4)
    assert [callback.learning_rate_at(e) for e in range(3)] == pytest.approx([1.0, 0.5, 0.25])


def test_train_fit_loop_and_exact_resume_from_backup(tmp_path):
    x, y = _data()
    schedule = EpochExponentialDecay(0.2, base=0.5)
    kwargs = dict(epochs=4, global_batch_size=BATCH, loop="fit", optimizer=lambda: keras.optimizers.SGD(0.2))
    reference = train(_build, (x, y), callbacks=[LearningRateDecay(schedule)], **kwargs)
    np.testing.assert_allclose(reference.history["learning_rate"], [0.2, 0.1, 0.05, 0.025], rtol=1e-6)

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("simulated crash")

    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(_build, (x, y), backup_dir=backup, callbacks=[LearningRateDecay(schedule), Crash()], **kwargs)
    resumed = train(_build, (x, y), backup_dir=backup, callbacks=[LearningRateDecay(schedule)], **kwargs)
    assert resumed.initial_epoch == 2
    np.testing.assert_allclose(resumed.history["learning_rate"], [0.05, 0.025], rtol=1e-6)
    for a, b in zip(resumed.model.get_weights(), reference.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_under_two_cpu_strategy(two_cpu_strategy):
    x, y = _data()
    schedule = StepDecay(0.1, factor=0.1, every_epochs=1)
    result = train(_build, (x, y), epochs=3, global_batch_size=BATCH, loop="fit", strategy=two_cpu_strategy,
                   optimizer=lambda: tfcourse.optimizers.SGD(0.1), callbacks=[LearningRateDecay(schedule)])
    np.testing.assert_allclose(result.history["learning_rate"], [0.1, 0.01, 0.001], rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(schedule=0.1), "`schedule` must be a keras.optimizers.schedules.LearningRateSchedule"),
        (dict(schedule=StepDecay(0.1), steps_per_epoch=0), "`steps_per_epoch` must be an integer >= 1"),
        (dict(schedule=StepDecay(0.1), verbose=-1), "`verbose` must be an integer >= 0"),
    ],
)
def test_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LearningRateDecay(**kwargs)

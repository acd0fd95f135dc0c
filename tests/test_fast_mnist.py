"""The fast MNIST recipe (lesson L12): optimizer and schedule, in-memory batches, a timed run."""

import dataclasses

import keras
import numpy as np
import pytest

from tfcourse import fast_mnist
from tfcourse import optimizers as tfo
from tfcourse.data import load_arrays
from tfcourse.fast_mnist import (
    ACCURATE,
    FASHION,
    FASHION_TRAIN_SPLIT,
    RECORD,
    FastRecipe,
    TrainTimer,
    in_memory_batches,
    keras_io_baseline,
    load_tensors,
    per_example_batches,
    time_to_accuracy,
    train_recipe,
)
from tfcourse.schedules import WarmupCosine


def test_record_recipe_optimizer_and_schedule():
    optimizer = RECORD.optimizer(50_000)
    assert isinstance(optimizer, tfo.Adam) and optimizer.fused  # TensorFlow's fused kernel
    assert (optimizer.beta_1, optimizer.beta_2) == (0.7, 0.9)
    unfused = dataclasses.replace(RECORD, fused_adam=False).optimizer(50_000)
    assert isinstance(unfused, keras.optimizers.Adam) and (unfused.beta_1, unfused.beta_2) == (0.7, 0.9)
    schedule = RECORD.schedule(50_000)
    assert isinstance(schedule, WarmupCosine)
    assert schedule.total_steps == 196  # ceil(50,000 / 256), one epoch
    assert schedule.warmup_steps == 39  # 20% of it
    assert float(schedule(39)) == pytest.approx(0.02)  # the peak
    assert float(schedule(196)) == pytest.approx(0, abs=1e-9)
    assert ACCURATE.schedule(50_000).total_steps == ACCURATE.epochs * 196
    # the record's net: the strided stem and dense 256 (tests/test_models.py checks the layers)
    model = RECORD.build_model()
    assert (model.layers[0].strides, model.layers[-2].units) == (2, 256)


def test_fashion_recipe_builds_three_3x3_stages_and_trains_on_all_images():
    model = FASHION.build_model()
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.padding) for c in convolutions] == [
        (32, (3, 3), "same"), (64, (3, 3), "same"), (64, (3, 3), "same")]  # fmt: skip
    assert FASHION.fused_adam and FASHION.batch_norm and FASHION.epochs == 10
    assert FASHION_TRAIN_SPLIT == "train"  # all 60,000 images; chosen on train[:50000] vs train[50000:]


def test_loss_uses_one_hot_targets_only_with_label_smoothing():
    assert isinstance(dataclasses.replace(RECORD, label_smoothing=0.0).loss(), keras.losses.SparseCategoricalCrossentropy)
    smoothed = RECORD.loss()
    assert isinstance(smoothed, keras.losses.CategoricalCrossentropy)
    assert smoothed.get_config()["label_smoothing"] == RECORD.label_smoothing == 0.1
    # closed form: targets (1 - s) * one_hot + s / 10
    logits = np.array([[2.0, 0.5] + [0.0] * 8], np.float32)
    s = 0.1
    targets = (1 - s) * np.eye(10)[[0]] + s / 10
    expected = -(targets * (logits - np.log(np.exp(logits).sum()))).sum()
    loss = dataclasses.replace(RECORD, label_smoothing=s).loss()
    assert float(loss(np.eye(10, dtype=np.float32)[[0]], logits)) == pytest.approx(expected, rel=1e-5)


def test_in_memory_batches_visit_every_example_once_per_epoch_in_a_new_order():
    images = np.arange(10, dtype=np.float32).reshape(10, 1)
    labels = np.arange(10) % 10
    data = in_memory_batches(images, labels, 4, seed=3)
    epochs = [np.concatenate([x.numpy()[:, 0] for x, _ in data]) for _ in range(2)]
    for order in epochs:
        assert sorted(order) == list(range(10))
    assert not np.array_equal(epochs[0], epochs[1])
    assert [int(x.shape[0]) for x, _ in data] == [4, 4, 2]
    again = in_memory_batches(images, labels, 4, seed=3)
    assert np.array_equal(np.concatenate([x.numpy()[:, 0] for x, _ in again]), epochs[0])
    x, y = next(iter(in_memory_batches(images, labels, 4, seed=3, one_hot=True)))
    assert y.shape == (4, 10) and np.array_equal(np.argmax(y, -1), x.numpy()[:, 0].astype(int))
    unshuffled = np.concatenate([x.numpy()[:, 0] for x, _ in in_memory_batches(images, labels, 4)])
    assert np.array_equal(unshuffled, np.arange(10))


def test_train_recipe_runs_every_scheduled_step_and_learns():
    images, labels = load_tensors("mnist", "train[:1024]")
    recipe = dataclasses.replace(RECORD, epochs=2, steps_per_execution=3)  # 3 does not divide 4 steps
    run = train_recipe(recipe, images, labels, seed=0)
    assert int(run.model.optimizer.iterations) == 2 * 4
    assert len(run.epoch_seconds) == 2 and run.train_seconds == pytest.approx(sum(run.epoch_seconds))
    assert run.history["loss"][1] < run.history["loss"][0] < np.log(10) + 0.5
    assert set(run.history) == {"loss"}  # no training metric in the timed run


def test_fused_adam_recipe_trains_like_keras_adam():
    # The same update to rounding: the two runs' losses agree, and far closer than a run with
    # another seed (the negative control: the comparison can tell runs apart).
    images, labels = load_tensors("mnist", "train[:768]")
    recipe = dataclasses.replace(RECORD, mixed_precision="float32", steps_per_execution=1)
    fused = train_recipe(recipe, images, labels, seed=2)
    plain = train_recipe(dataclasses.replace(recipe, fused_adam=False), images, labels, seed=2)
    other = train_recipe(recipe, images, labels, seed=3)
    assert isinstance(fused.model.optimizer, tfo.Adam) and not isinstance(plain.model.optimizer, tfo.Adam)
    assert fused.history["loss"][0] == pytest.approx(plain.history["loss"][0], rel=1e-4)
    assert abs(other.history["loss"][0] - plain.history["loss"][0]) > 1e-3
    for a, b in zip(fused.model.get_weights(), plain.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_size=0), "`batch_size` must be an integer >= 1"),
        (dict(beta_1=1.0), r"`beta_1` must be in \[0, 1\)"),
        (dict(peak_learning_rate=-1), r"`peak_learning_rate` must be in \(0, inf\)"),
        (dict(mixed_precision="bf16"), "`mixed_precision` must be one of"),
        (dict(jit_compile="auto"), "`jit_compile` must be a bool"),
        (dict(fused_adam=1), "`fused_adam` must be a bool"),
        (dict(kernel_size=0), "`kernel_size` must be an integer >= 1"),
        (dict(padding="causal"), "`padding` must be one of"),
        (dict(dense_units=0), "`dense_units` must be an integer >= 1. Received: dense_units=0"),
        (dict(epochs=1.5), "`epochs` must be an integer >= 1. Received: epochs=1.5"),
        (dict(warmup_fraction=1.0), r"`warmup_fraction` must be in \[0, 1\). Received: warmup_fraction=1.0"),
        (dict(beta_2=-0.1), r"`beta_2` must be in \[0, 1\). Received: beta_2=-0.1"),
        (dict(label_smoothing=1.0), r"`label_smoothing` must be in \[0, 1\). Received: label_smoothing=1.0"),
        (dict(steps_per_execution=0), "`steps_per_execution` must be an integer >= 1. Received: steps_per_execution=0"),
        (dict(augment_shift=0.5), r"`augment_shift` must be in \[0, 0.5\). Received: augment_shift=0.5"),
        (dict(batch_norm=1), r"`batch_norm` must be a bool \(True or False\). Received: batch_norm=1"),
        (dict(strided_stem="yes"), "`strided_stem` must be a bool"),
        (dict(filters=(16,)),
         r"`filters` must be a tuple or list of at least 2 integers >= 1, one per stage. Received: filters=\(16,\)"),
        (dict(filters=()), r"`filters` must be a tuple or list of at least 2 integers >= 1.* Received: filters=\(\)"),
        (dict(filters=(16, 0)), r"`filters` must be a tuple or list .* Received: filters=\(16, 0\)"),
        (dict(filters=(16, True)), r"`filters` must be a tuple or list .* Received: filters=\(16, True\)"),
        (dict(filters=32), "`filters` must be a tuple or list .* Received: filters=32"),
    ],
)
def test_bad_recipe_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FastRecipe(**kwargs)


def test_a_seed_gives_the_same_run_whatever_ran_before():
    images, labels = load_tensors("mnist", "train[:1024]")
    first = train_recipe(RECORD, images, labels, seed=5)
    keras.utils.set_random_seed(123)  # other work in the same process moves the global seed
    again = train_recipe(RECORD, images, labels, seed=5)
    other = train_recipe(RECORD, images, labels, seed=6)
    assert again.history["loss"] == pytest.approx(first.history["loss"], rel=1e-6)
    assert other.history["loss"][0] != pytest.approx(first.history["loss"][0], rel=1e-4)  # negative control


def test_recipe_accepts_what_fast_mnist_cnn_accepts_as_filters():
    # the positive side of the `filters` checks above: three stages, a list, NumPy integers
    assert FastRecipe(filters=[8, 16, 16], kernel_size=3, padding="same").build_model().count_params() > 0
    listed = FastRecipe(filters=[8, 16, 16], kernel_size=3, padding="same")
    assert listed.filters == (8, 16, 16) and hash(listed) == hash(dataclasses.replace(listed))  # frozen, hashable
    numpy_ints = FastRecipe(filters=(np.int64(8), np.int64(16)))
    assert numpy_ints.filters == (8, 16) and all(type(f) is int for f in numpy_ints.filters)
    assert repr(numpy_ints) == repr(FastRecipe(filters=(8, 16)))


def test_train_recipe_refuses_anything_but_a_fast_recipe():
    images, labels = np.zeros((4, 28, 28, 1), np.float32), np.zeros(4, np.int64)
    with pytest.raises(ValueError, match=r"`recipe` must be a FastRecipe. Received: recipe=\{'epochs': 1\}"):
        train_recipe({"epochs": 1}, images, labels)


@pytest.mark.parametrize("batches", [in_memory_batches, per_example_batches])
def test_batch_helpers_refuse_a_bad_batch_size(batches):
    images, labels = np.zeros((4, 1), np.uint8), np.zeros(4, np.int64)
    with pytest.raises(ValueError, match="`batch_size` must be an integer >= 1. Received: batch_size=0"):
        batches(images, labels, 0)
    with pytest.raises(ValueError, match="`batch_size` must be an integer >= 1. Received: batch_size=2.0"):
        batches(images, labels, 2.0)


def test_time_to_accuracy_refuses_a_target_outside_0_1_and_no_epochs():
    import tensorflow as tf

    images, labels = np.zeros((4, 28, 28, 1), np.float32), np.zeros(4, np.int64)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
    common = dict(batch_size=2, optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"`target` must be in \[0, 1\]. Received: target=1.5"):
        time_to_accuracy(_bias_model, data, images, labels, target=1.5, max_epochs=1, **common)
    with pytest.raises(ValueError, match="`max_epochs` must be an integer >= 1. Received: max_epochs=0"):
        time_to_accuracy(_bias_model, data, images, labels, target=0.5, max_epochs=0, **common)
    with pytest.raises(ValueError, match=r"`target` must be in \[0, 1\]. Received: target=-0.1"):
        keras_io_baseline(images.astype(np.uint8), labels, images, labels, target=-0.1, max_epochs=1)


def _bias_model():
    """Dense(10) on images that are all zeros: only the bias learns, so training is computable by hand.

    The bias starts at 1 for class 0 and 0 elsewhere, so every image is predicted as class 0 until
    SGD(0.1) on class-3 labels lifts the class-3 bias above the class-0 one. The gradient of the
    mean cross-entropy is softmax(b) - one_hot(3); iterated from b, the class-3 logit first exceeds
    class 0's after step 10 (by 0.079; after step 9 it is still below), i.e. in epoch 3 of 4 steps.
    """
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, kernel_initializer="zeros")])  # fmt: skip
    model.layers[-1].bias.assign(np.eye(10, dtype=np.float32)[0])
    return model


def _class_3_run(target, max_epochs=5):
    import tensorflow as tf

    images = np.zeros((200, 28, 28, 1), np.float32)
    data = tf.data.Dataset.from_tensor_slices((images, np.full(200, 3, np.int64))).batch(50)  # 4 steps per epoch
    eval_labels = np.array([3] * 9 + [7])  # at most 0.9: the class-7 image looks like every other
    return time_to_accuracy(
        _bias_model, data, images[:10], eval_labels, target=target, max_epochs=max_epochs, batch_size=50,
        optimizer=lambda: keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )  # fmt: skip


def test_time_to_accuracy_stops_at_the_first_epoch_that_reaches_the_target():
    run = _class_3_run(target=0.9)
    assert run.reached and run.epochs == 3
    assert run.accuracies == pytest.approx([0.0, 0.0, 0.9])
    assert int(run.model.optimizer.iterations) == 3 * 4  # training stopped, not only the evaluations
    assert run.train_seconds > 0
    # negative control: the same run with an unreachable target trains all max_epochs
    never = _class_3_run(target=1.0)
    assert not never.reached and never.epochs == 5
    assert never.accuracies == pytest.approx([0.0, 0.0, 0.9, 0.9, 0.9])
    assert int(never.model.optimizer.iterations) == 5 * 4


def test_train_timer_sums_each_epoch_from_its_begin_to_its_end(monkeypatch):
    clock = iter([10.0, 12.5, 30.0, 31.0])  # begin, end of epoch 1; begin, end of epoch 2
    monkeypatch.setattr(fast_mnist.time, "perf_counter", lambda: next(clock))
    timer = TrainTimer()
    timer.on_train_begin()
    for epoch in range(2):
        timer.on_epoch_begin(epoch)
        timer.on_epoch_end(epoch)  # what runs between epochs (12.5 -> 30: an evaluation) is left out
    assert timer.epoch_seconds == [2.5, 1.0] and timer.seconds == 3.5
    timer.on_train_begin()  # a new fit starts over
    assert timer.epoch_seconds == [] and timer.seconds == 0.0


def test_per_example_batches_scale_each_image_and_shuffle_by_seed():
    images = (np.arange(10, dtype=np.uint8) * 20).reshape(10, 1)
    labels = np.arange(10)

    def epoch(data):
        batches = [(x.numpy(), y.numpy()) for x, y in data]
        return [len(y) for _, y in batches], np.concatenate([x[:, 0] for x, _ in batches]), np.concatenate(
            [y for _, y in batches])  # fmt: skip

    sizes, x, y = epoch(per_example_batches(images, labels, 4, seed=3))
    assert sizes == [4, 4, 2] and x.dtype == np.float32
    np.testing.assert_allclose(x, y * 20 / 255.0, rtol=1e-6)  # scaled to [0, 1], still paired with its label
    assert sorted(y) == list(range(10)) and not np.array_equal(y, labels)  # every example once, shuffled
    assert np.array_equal(epoch(per_example_batches(images, labels, 4, seed=3))[2], y)  # the seed fixes the order
    assert not np.array_equal(epoch(per_example_batches(images, labels, 4, seed=4))[2], y)  # another seed, another
    assert np.array_equal(epoch(per_example_batches(images, labels, 4))[2], labels)  # no seed: input order


def test_keras_io_baseline_trains_the_keras_io_convnet_and_times_it():
    images, labels = load_arrays("mnist", "train[:256]")
    test_images, test_labels = load_arrays("mnist", "test[:200]")
    run = keras_io_baseline(images, labels, test_images, test_labels, target=0.99, max_epochs=1)
    assert run.model.name == "mnist_cnn" and int(run.model.optimizer.iterations) == 2  # 256 images, batch 128
    assert float(run.model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert run.epochs == 1 and len(run.accuracies) == 1 and 0 <= run.accuracies[0] <= 1
    assert run.reached == (run.accuracies[0] >= 0.99) and run.train_seconds > 0
    assert run.accuracies[0] == pytest.approx(fast_mnist.accuracy(run.model, test_images, test_labels))

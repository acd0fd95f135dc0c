"""`train`: fit and the custom loop agree, on one device and on two logical devices (L11)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfcourse.training.fit as fit_module
import tfcourse.training.setup as engine_setup
from tfcourse.training import get_strategy, train

TWO = ["/cpu:0", "/cpu:1"]


def _data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8, 8, 1)).astype("float32")
    y = (x.reshape(n, -1)[:, :5].argmax(axis=1)).astype("int64")
    return x, y


def _cnn(regularize=False, batch_norm=False):
    def build():
        keras.utils.set_random_seed(3)
        reg = keras.regularizers.L2(1e-3) if regularize else None
        layers = [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu", kernel_regularizer=reg)]
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        layers += [keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")]
        return keras.Sequential(layers)

    return build


def _max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("strategy", ["default", "mirrored"])
def test_custom_loop_matches_fit(strategy):
    """Same history and weights from fit and the custom loop (L2 loss and BN included)."""
    x, y = _data()
    kwargs = dict(
        epochs=2,
        global_batch_size=32,
        strategy=strategy,
        devices=TWO if strategy == "mirrored" else None,
        validation_data=_data(64, seed=1),
        optimizer="adam",
    )
    build = _cnn(regularize=True, batch_norm=True)
    with_fit = train(build, (x, y), loop="fit", **kwargs)
    custom = train(build, (x, y), loop="custom", **kwargs)
    assert (with_fit.loop, custom.loop) == ("fit", "custom")
    assert set(with_fit.history) == set(custom.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in with_fit.history:
        np.testing.assert_allclose(custom.history[key], with_fit.history[key], rtol=1e-5, atol=1e-6)
    assert _max_diff(with_fit.model, custom.model) < 1e-5


def test_custom_loop_matches_fit_with_partial_last_batch():
    x, y = _data(100)  # 3 batches of 32 and one of 4
    build = _cnn()
    with_fit = train(build, (x, y), epochs=2, global_batch_size=32, loop="fit", optimizer="sgd")
    custom = train(build, (x, y), epochs=2, global_batch_size=32, loop="custom", optimizer="sgd")
    np.testing.assert_allclose(custom.history["loss"], with_fit.history["loss"], rtol=1e-5)
    assert _max_diff(with_fit.model, custom.model) < 1e-5


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_two_logical_devices_match_one_device(loop):
    """MirroredStrategy over 2 CPUs at the same global batch = one device (float tolerance)."""
    x, y = _data()
    build = _cnn()
    one = train(build, (x, y), epochs=2, global_batch_size=32, strategy="default", loop=loop)
    two = train(build, (x, y), epochs=2, global_batch_size=32, strategy="mirrored", devices=TWO, loop=loop)
    assert (one.per_replica_batch_size, two.per_replica_batch_size) == (32, 16)
    assert two.strategy.num_replicas_in_sync == 2
    np.testing.assert_allclose(two.history["loss"], one.history["loss"], rtol=1e-5)
    assert _max_diff(one.model, two.model) < 1e-5


def test_dataset_input_and_options(tmp_path):
    """tf.data input, steps_per_execution, jit_compile, TensorBoard and checkpoints."""
    x, y = _data(64)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    result = train(
        _cnn(),
        dataset,
        epochs=2,
        global_batch_size=16,
        steps_per_execution=4,
        jit_compile=True,
        tensorboard_dir=tmp_path / "tb",
        checkpoint_dir=tmp_path / "ckpt",
    )
    assert len(result.history["loss"]) == 2
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["epoch_001.keras", "epoch_002.keras"]
    assert list((tmp_path / "tb").rglob("events.out.tfevents*"))
    reference = train(_cnn(), dataset, epochs=2, global_batch_size=16)
    np.testing.assert_allclose(result.history["loss"], reference.history["loss"], rtol=1e-4)


def test_custom_loop_writes_tensorboard_and_checkpoints(tmp_path):
    x, y = _data(64)
    train(
        _cnn(),
        (x, y),
        epochs=1,
        global_batch_size=32,
        loop="custom",
        jit_compile=True,
        tensorboard_dir=tmp_path / "tb",
        checkpoint_dir=tmp_path / "ckpt",
    )
    assert (tmp_path / "ckpt" / "epoch_001.keras").exists()
    assert list((tmp_path / "tb").rglob("events.out.tfevents*"))


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_mixed_bfloat16_on_cpu(loop):
    x, y = _data(64)
    result = train(_cnn(), (x, y), epochs=1, global_batch_size=32, mixed_precision="auto", loop=loop)
    expected = fit_module.resolve_mixed_precision("auto")  # any host; the rules: test_resolve_mixed_precision
    assert result.model.layers[0].dtype_policy.name == expected
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert np.isfinite(result.history["loss"]).all()


def test_mixed_float16_gets_loss_scaling():
    x, y = _data(32)
    result = train(_cnn(), (x, y), epochs=1, global_batch_size=32, mixed_precision="mixed_float16", loop="custom")
    assert isinstance(result.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert np.isfinite(result.history["loss"]).all()


def test_resolve_mixed_precision(monkeypatch):
    assert fit_module.resolve_mixed_precision(None) == "float32"
    monkeypatch.setattr(fit_module.tf.config, "list_logical_devices", lambda kind=None: [])  # a CPU-only host
    monkeypatch.setattr(engine_setup, "cpu_has_native_bfloat16", lambda: True)
    assert fit_module.resolve_mixed_precision("auto") == "mixed_bfloat16"
    monkeypatch.setattr(engine_setup, "cpu_has_native_bfloat16", lambda: False)  # bfloat16 would be emulated
    assert fit_module.resolve_mixed_precision("auto") == "float32"
    monkeypatch.setattr(fit_module.tf.config, "list_logical_devices", lambda kind=None: ["gpu"])
    assert fit_module.resolve_mixed_precision("auto") == "mixed_float16"


@pytest.mark.parametrize(
    ("flags", "native"),
    [("fpu sse2 avx2 avx512f", False), ("fpu avx512f avx512_bf16", True), ("fpu amx_tile amx_bf16", True)],
)
def test_cpu_has_native_bfloat16_reads_the_flags(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: amx_bf16 in a name is no flag\nflags\t\t: {flags}\n")
    assert engine_setup.cpu_has_native_bfloat16(cpuinfo) is native
    assert engine_setup.cpu_has_native_bfloat16(tmp_path / "missing") is False


def test_optimizer_is_built_before_the_first_step_so_it_traces_once(monkeypatch):
    from keras.src.backend.tensorflow import trainer as tf_trainer

    traces = []
    original = tf_trainer.TensorFlowTrainer.train_step

    def counted(self, data):
        traces.append(1)
        return original(self, data)

    monkeypatch.setattr(tf_trainer.TensorFlowTrainer, "train_step", counted)
    x, y = _data(64)
    result = train(_cnn(), (x, y), epochs=2, global_batch_size=32, steps_per_execution=2)
    assert len(traces) == 1
    assert result.model.optimizer.built and len(result.model.optimizer.variables) > 1

    traces.clear()  # the control: Keras alone traces the first step twice, once creating the slots
    plain = _cnn()()
    plain.compile("adam", "sparse_categorical_crossentropy", steps_per_execution=2)
    plain.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert len(traces) == 2


def test_optimizer_instance_is_recreated_in_scope():
    x, y = _data(32)
    two_cpu_strategy = get_strategy("mirrored", devices=TWO)
    optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.5)
    result = train(_cnn(), (x, y), epochs=1, global_batch_size=32, strategy=two_cpu_strategy, optimizer=optimizer)
    assert result.model.optimizer is not optimizer
    assert float(result.model.optimizer.get_config()["learning_rate"]) == pytest.approx(0.05)


def test_validation_errors():
    x, y = _data(32)
    build = _cnn()
    with pytest.raises(ValueError, match=r"`epochs` must be an integer >= 1. Received: epochs=0"):
        train(build, (x, y), epochs=0, global_batch_size=8)
    with pytest.raises(ValueError, match="`global_batch_size` must be an integer >= 1"):
        train(build, (x, y), epochs=1, global_batch_size=0)
    with pytest.raises(ValueError, match="`loop` must be one of 'auto', 'fit', 'custom'"):
        train(build, (x, y), epochs=1, global_batch_size=8, loop="manual")
    with pytest.raises(ValueError, match="`mixed_precision` must be one of"):
        train(build, (x, y), epochs=1, global_batch_size=8, mixed_precision="float8")
    with pytest.raises(ValueError, match="`seed` must be an integer when deterministic=True"):
        train(build, (x, y), epochs=1, global_batch_size=8, deterministic=True)
    with pytest.raises(ValueError, match="`data` must be a tf.data.Dataset"):
        train(build, x, epochs=1, global_batch_size=8)
    with pytest.raises(ValueError, match="`data` arrays must have the same length"):
        train(build, (x, y[:3]), epochs=1, global_batch_size=8)
    with pytest.raises(ValueError, match="`global_batch_size` must be a multiple of the number of replicas"):
        train(build, (x, y), epochs=1, global_batch_size=7, strategy="mirrored", devices=TWO)
    with pytest.raises(ValueError, match="`data` must be finite"):
        train(build, tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat(), epochs=1, global_batch_size=8)
    with pytest.raises(ValueError, match="`optimizer` must be an optimizer name"):
        train(build, (x, y), epochs=1, global_batch_size=8, optimizer=3)


def test_reshuffling_pipeline_same_batches_on_every_path():
    """The known fit-vs-custom-loop mismatch: Keras fit under a strategy draws one batch from a
    fresh iterator before training, which reshuffles a `reshuffle_each_iteration` pipeline.
    `train` aligns every path, so fit/custom on 1 and 2 devices all train on the same batches."""
    x, y = _data(128)

    def shuffled():
        keras.utils.set_random_seed(0)  # the pipeline's seed pair (global, op) is the same each run
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(128, seed=4).batch(32)

    results = {}
    for strategy in ["default", "mirrored"]:
        for loop in ["fit", "custom"]:
            results[strategy, loop] = train(
                _cnn(), shuffled(), epochs=2, global_batch_size=32, strategy=strategy,
                devices=TWO if strategy == "mirrored" else None, loop=loop,
            )  # fmt: skip
    reference = results["default", "fit"]
    for key, result in results.items():
        np.testing.assert_allclose(result.history["loss"], reference.history["loss"], rtol=1e-5, err_msg=str(key))
        assert _max_diff(result.model, reference.model) < 1e-5, key

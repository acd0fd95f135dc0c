"""Every tfcourse optimizer inside Keras: base arguments, serialization, dtypes, mixed
precision, sparse gradients, XLA, MirroredStrategy and `.keras` files in a fresh process."""

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse import optimizers as tfo

REPO_ROOT = Path(__file__).resolve().parents[2]

# (id, tfcourse factory, Keras factory that must give the same numbers)
PAIRS = [
    ("sgd", lambda **kw: tfo.SGD(0.05, **kw), lambda **kw: keras.optimizers.SGD(0.05, **kw)),
    (
        "momentum",
        lambda **kw: tfo.SGD(0.05, momentum=0.9, **kw),
        lambda **kw: keras.optimizers.SGD(0.05, momentum=0.9, **kw),
    ),
    (
        "nesterov",
        lambda **kw: tfo.SGD(0.05, momentum=0.9, nesterov=True, **kw),
        lambda **kw: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True, **kw),
    ),
    (
        "ewma",  # EWMAMomentum(lr, beta) == SGD((1 - beta) * lr, momentum=beta); lr = 0.5 is float32-exact
        lambda **kw: tfo.EWMAMomentum(0.5, beta=0.875, **kw),
        lambda **kw: keras.optimizers.SGD(0.0625, momentum=0.875, **kw),
    ),
    ("adagrad", lambda **kw: tfo.Adagrad(0.1, **kw), lambda **kw: keras.optimizers.Adagrad(0.1, **kw)),
    (
        "rmsprop",
        lambda **kw: tfo.RMSprop(0.01, momentum=0.5, centered=True, **kw),
        lambda **kw: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True, **kw),
    ),
    ("adam", lambda **kw: tfo.Adam(0.01, **kw), lambda **kw: keras.optimizers.Adam(0.01, **kw)),
    (
        "adam_fused",  # TensorFlow's ResourceApplyAdam kernel
        lambda **kw: tfo.Adam(0.01, fused=True, **kw),
        lambda **kw: keras.optimizers.Adam(0.01, **kw),
    ),
    (
        "amsgrad",
        lambda **kw: tfo.Adam(0.01, amsgrad=True, **kw),
        lambda **kw: keras.optimizers.Adam(0.01, amsgrad=True, **kw),
    ),
]
IDS = [p[0] for p in PAIRS]
OURS = {name: ours for name, ours, _ in PAIRS}
KERAS = {name: theirs for name, _, theirs in PAIRS}


# ---------------------------------------------------------------- base arguments, schedules
BASE_ARGS = [
    {"weight_decay": 0.05},
    {"clipnorm": 0.5},
    {"clipvalue": 0.2},
    {"global_clipnorm": 0.5},
    {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 3},
    {"loss_scale_factor": 8.0},
    {"gradient_accumulation_steps": 2},
]
BASE_IDS = ["weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "ema", "loss_scale", "grad_accum"]


@pytest.mark.parametrize("base", BASE_ARGS, ids=BASE_IDS)
@pytest.mark.parametrize("name", [n for n in IDS if n != "ewma"])
def test_base_arguments_pass_through(name, base, quadratic, rel_diff):
    ours, theirs = OURS[name](**base), KERAS[name](**base)
    for key, value in base.items():
        assert ours.get_config()[key] == value
    assert rel_diff(quadratic(ours, steps=12), quadratic(theirs, steps=12)) <= 1e-6


def test_ewma_base_arguments_pass_through(quadratic, rel_diff):
    # Clipping acts on the gradient, so EWMA and rescaled SGD stay identical; weight decay
    # uses the learning rate itself (lr*wd*x), so it would not (documented mapping is for lr).
    for base in [{"clipnorm": 0.5}, {"clipvalue": 0.2}, {"global_clipnorm": 0.5}, {"gradient_accumulation_steps": 2}]:
        assert rel_diff(quadratic(OURS["ewma"](**base), steps=12), quadratic(KERAS["ewma"](**base), steps=12)) <= 1e-6


@pytest.mark.parametrize("name", IDS)
def test_learning_rate_schedule(name, quadratic, rel_diff):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)
    if name == "ewma":  # with a schedule the velocity form is NOT the EWMA form (documented)
        ours = quadratic(tfo.EWMAMomentum(schedule, beta=0.875), steps=12)
        assert np.all(np.isfinite(ours))
        return
    make_ours, make_keras = _with_learning_rate(name, schedule)
    assert rel_diff(quadratic(make_ours(), steps=12), quadratic(make_keras(), steps=12)) <= 1e-6


def _with_learning_rate(name, lr):
    table = {
        "sgd": (lambda: tfo.SGD(lr), lambda: keras.optimizers.SGD(lr)),
        "momentum": (lambda: tfo.SGD(lr, momentum=0.9), lambda: keras.optimizers.SGD(lr, momentum=0.9)),
        "nesterov": (
            lambda: tfo.SGD(lr, momentum=0.9, nesterov=True),
            lambda: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
        ),
        "adagrad": (lambda: tfo.Adagrad(lr), lambda: keras.optimizers.Adagrad(lr)),
        "rmsprop": (lambda: tfo.RMSprop(lr, centered=True), lambda: keras.optimizers.RMSprop(lr, centered=True)),
        "adam": (lambda: tfo.Adam(lr), lambda: keras.optimizers.Adam(lr)),
        "adam_fused": (lambda: tfo.Adam(lr, fused=True), lambda: keras.optimizers.Adam(lr)),
        "amsgrad": (lambda: tfo.Adam(lr, amsgrad=True), lambda: keras.optimizers.Adam(lr, amsgrad=True)),
    }
    return table[name]


@pytest.mark.parametrize("name", IDS)
def test_serialize_round_trip_and_registration(name):
    schedule = keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    opt = OURS[name](clipnorm=1.0)
    for candidate in [opt, type(opt).from_config({**opt.get_config(), "learning_rate": schedule})]:
        blob = keras.optimizers.serialize(candidate)
        assert blob["registered_name"] == f"tfcourse>{type(candidate).__name__}"
        clone = keras.optimizers.deserialize(json.loads(json.dumps(blob)))
        assert type(clone) is type(candidate)
        assert json.dumps(clone.get_config(), default=str) == json.dumps(candidate.get_config(), default=str)


# ---------------------------------------------------------------- dtypes and mixed precision
DTYPES = {"float16": 2e-2, "bfloat16": 1e-1, "float32": 1e-5, "float64": 1e-12}


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", IDS)
def test_variable_dtypes(name, dtype, quadratic, rel_diff):
    opt = OURS[name]()
    ours = quadratic(opt, steps=5, dtype=dtype)
    slots = [v for v in opt.variables if tuple(v.shape) == (4,)]
    assert bool(slots) == (name != "sgd")  # plain SGD keeps no slot
    assert all(v.dtype == dtype for v in slots)
    theirs = quadratic(KERAS[name](), steps=5, dtype=dtype)
    assert rel_diff(ours, theirs) <= DTYPES[dtype]
    assert rel_diff(ours, quadratic(OURS[name](), steps=5)) <= max(DTYPES[dtype], 1e-6)


def _tiny_data(n=64, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ rng.normal(size=(d, 1)) > 0).astype("float32")
    return x, y


def _tiny_model(seed=3):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])


@pytest.mark.parametrize("name", IDS)
def test_mixed_precision_loss_scaling(name):
    x, y = _tiny_data()
    results = []
    previous = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy("mixed_float16")
        for factory in (OURS[name], KERAS[name]):
            model = _tiny_model()
            model.compile(optimizer=factory(), loss="mse")
            assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
            history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
            results.append((model.optimizer.inner_optimizer, history.history["loss"][-1], model.get_weights()))
    finally:
        keras.config.set_dtype_policy(previous)
    (inner, loss, weights), (_, keras_loss, keras_weights) = results
    assert type(inner).__module__.startswith("tfcourse.optimizers")
    assert np.isfinite(loss)
    assert all(w.dtype == np.float32 for w in weights)  # variables stay float32 under the policy
    for a, b in zip(weights, keras_weights):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------- sparse gradients
@pytest.mark.parametrize("name", IDS)
def test_sparse_gradients_match_dense(name):
    ids = tf.constant([[1, 3, 3], [0, 7, 1]])
    layers = []
    for _ in range(2):
        layer = keras.layers.Embedding(10, 4, embeddings_initializer=keras.initializers.RandomNormal(seed=5))
        layer.build((None, 3))
        layers.append(layer)
    opt_sparse, opt_dense = OURS[name](), OURS[name]()
    for step in range(4):
        grads = []
        for layer in layers:
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(layer(ids) - 0.1 * step))
            grads.append(tape.gradient(loss, layer.trainable_variables)[0])
        assert isinstance(grads[0], tf.IndexedSlices)
        opt_sparse.apply_gradients([(grads[0], layers[0].embeddings)])
        opt_dense.apply_gradients([(tf.convert_to_tensor(grads[1]), layers[1].embeddings)])
    # adam_fused: sparse gradients take the formula path, dense ones TensorFlow's kernel, which
    # forms 1 - beta in float32 (1 - 0.999f = 0.00100005) where the formula rounds 1 - 0.999 to
    # float32 (0.001f): a relative difference of 5e-5 in v's step, about 1e-5 in the weights.
    rtol, atol = (3e-5, 1e-6) if name == "adam_fused" else (1e-6, 1e-7)
    np.testing.assert_allclose(layers[0].embeddings.numpy(), layers[1].embeddings.numpy(), rtol=rtol, atol=atol)
    untouched = [2, 4, 5, 6, 8, 9]
    np.testing.assert_array_equal(
        layers[0].embeddings.numpy()[untouched],
        keras.initializers.RandomNormal(seed=5)((10, 4)).numpy()[untouched],
    )


@pytest.mark.parametrize("name", ["adagrad", "adam"])
def test_sparse_duplicate_rows_under_xla(name):
    table = keras.Variable(np.linspace(-1, 1, 12).reshape(6, 2).astype("float32"))
    dense_table = keras.Variable(table.numpy())
    opt, dense_opt = OURS[name](), OURS[name]()
    values = tf.constant([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    grad = tf.IndexedSlices(values, tf.constant([4, 1, 4]), tf.constant([6, 2]))

    @tf.function(jit_compile=True)
    def step():
        opt.apply_gradients([(grad, table)])

    for _ in range(3):
        step()
        dense_opt.apply_gradients([(tf.convert_to_tensor(grad), dense_table)])
    np.testing.assert_allclose(table.numpy(), dense_table.numpy(), rtol=1e-6)


def test_keras_builtin_differs_on_duplicate_rows():
    # Why tfcourse sums duplicate rows first: Keras 3.15's Adagrad squares each piece.
    grad = tf.IndexedSlices(tf.constant([[1.0], [1.0]]), tf.constant([0, 0]), tf.constant([2, 1]))
    results = []
    for opt in (keras.optimizers.Adagrad(1.0), tfo.Adagrad(1.0), tfo.Adagrad(1.0)):
        var = keras.Variable(np.zeros((2, 1), "float32"))
        opt.apply_gradients([(grad if len(results) < 2 else tf.convert_to_tensor(grad), var)])
        results.append(var.numpy()[0, 0])
    keras_sparse, ours_sparse, ours_dense = results
    # dense: cache = 0.1 + (1 + 1)^2 = 4.1; the built-in: 0.1 + 1 + 1 = 2.1
    np.testing.assert_allclose(ours_sparse, ours_dense, rtol=1e-6)
    np.testing.assert_allclose(ours_dense, -2 / np.sqrt(4.1 + 1e-7), rtol=1e-6)
    np.testing.assert_allclose(keras_sparse, -2 / np.sqrt(2.1 + 1e-7), rtol=1e-6)


# ---------------------------------------------------------------- XLA
@pytest.mark.parametrize("name", IDS)
def test_jit_compile_fit_matches_eager_graph(name):
    x, y = _tiny_data()
    weights = []
    for jit in (True, False):
        model = _tiny_model()
        model.compile(optimizer=OURS[name](), loss="mse", jit_compile=jit)
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- MirroredStrategy
@pytest.mark.parametrize("name", IDS)
def test_mirrored_fit_matches_single_device(name, two_cpu_strategy):
    x, y = _tiny_data()
    single = _tiny_model()
    single.compile(optimizer=OURS[name](), loss="mse")
    single.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    with two_cpu_strategy.scope():
        mirrored = _tiny_model()
        mirrored.compile(optimizer=OURS[name](), loss="mse")
    mirrored.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert int(mirrored.optimizer.iterations.numpy()) == 8
    for a, b in zip(single.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", IDS)
def test_mirrored_custom_loop_matches_single_device(name, two_cpu_strategy):
    x, y = _tiny_data()
    global_batch = 16

    def train(strategy):
        with strategy.scope():
            model = _tiny_model()
            opt = OURS[name]()
            opt.build(model.trainable_variables)

        @tf.function
        def step(xb, yb):
            def replica_step(xr, yr):
                with tf.GradientTape() as tape:
                    per_example = tf.reduce_mean(tf.square(model(xr) - yr), axis=-1)
                    loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
                grads = tape.gradient(loss, model.trainable_variables)
                opt.apply_gradients(zip(grads, model.trainable_variables))

            strategy.run(replica_step, args=(xb, yb))

        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch)
        for xb, yb in strategy.experimental_distribute_dataset(data):
            step(xb, yb)
        return [w.numpy() for w in model.trainable_variables]

    single = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
    mirrored = train(two_cpu_strategy)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- .keras in a fresh process
_LOADER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    import tfcourse  # registers the optimizers: no custom_objects below
    folder = sys.argv[1]
    expected = json.load(open(folder + "/expected.json"))
    report = {}
    for name, info in expected.items():
        model = keras.saving.load_model(f"{folder}/{name}.keras")
        opt = model.optimizer
        saved = np.load(f"{folder}/{name}.npz")
        same_state = all(
            np.array_equal(np.asarray(v.numpy()), saved[f"v{i}"]) for i, v in enumerate(opt.variables)
        ) and len(opt.variables) == len(saved.files)
        x = np.ones((4, 6), "float32")
        model.fit(x, np.zeros((4, 1), "float32"), verbose=0)
        report[name] = {
            "class": f"{type(opt).__module__}.{type(opt).__name__}",
            "config_equal": json.dumps(opt.get_config(), sort_keys=True, default=str) == info["config"],
            "same_state": bool(same_state),
            "iterations_after_fit": int(opt.iterations.numpy()),
        }
    print("RESULT " + json.dumps(report))
    """
)


def test_keras_file_loads_in_fresh_process(tmp_path):
    x, y = _tiny_data(n=32)
    expected = {}
    for name in IDS:
        model = _tiny_model()
        model.compile(optimizer=OURS[name](), loss="mse")
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        model.save(tmp_path / f"{name}.keras")
        np.savez(tmp_path / f"{name}.npz", **{f"v{i}": v.numpy() for i, v in enumerate(model.optimizer.variables)})
        expected[name] = {"config": json.dumps(model.optimizer.get_config(), sort_keys=True, default=str)}
    (tmp_path / "expected.json").write_text(json.dumps(expected))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", _LOADER, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    report = json.loads(line[len("RESULT ") :])
    for name in IDS:
        got = report[name]
        assert got["class"].startswith("tfcourse.optimizers."), got
        assert got["config_equal"] and got["same_state"], (name, got)
        assert got["iterations_after_fit"] == 3, (name, got)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (tfo.SGD, keras.optimizers.SGD),
        (tfo.Adagrad, keras.optimizers.Adagrad),
        (tfo.RMSprop, keras.optimizers.RMSprop),
        (tfo.Adam, keras.optimizers.Adam),
    ],
    ids=lambda cls: cls.__name__,
)
def test_constructor_signature_is_keras_drop_in(ours, theirs):
    """Same argument names, order and defaults as the Keras class (a drop-in replacement);
    tfcourse's own options are keyword-only, so no positional call changes meaning."""
    def params(cls, kinds):
        return [(p.name, p.default, p.kind) for p in inspect.signature(cls.__init__).parameters.values() if p.kind in kinds]

    shared = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.VAR_KEYWORD)
    assert params(ours, shared) == params(theirs, shared)
    extra = {"Adam": [("fused", False, inspect.Parameter.KEYWORD_ONLY)]}.get(ours.__name__, [])
    assert params(ours, (inspect.Parameter.KEYWORD_ONLY,)) == extra

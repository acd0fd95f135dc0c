"""`tfcourse.serving.export`: versioned SavedModel + .keras, atomic, reloadable without tfcourse (L11)."""

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

import tfcourse
from tfcourse.serving import classifier_output, export, next_version, read_class_names
from tfcourse.training import get_strategy, train

REPO = Path(__file__).resolve().parents[2]
SIGNATURES = ["serving_default", "serving_float_hw", "serving_uint8", "serving_uint8_hw"]


def _images(n=6):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 28, 28, 1), dtype=np.uint8)


def _cnn(logits=False):
    keras.utils.set_random_seed(2)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation=None if logits else "softmax"),
        ]
    )


def _expected(model, images, logits=False):
    out = model(images.astype("float32") / 255.0, training=False)
    out = np.asarray(tf.cast(out, "float32"))
    return tf.nn.softmax(out).numpy() if logits else out


def test_layout_versions_and_signatures(tmp_path):
    model = _cnn()
    first = export(model, "digits", root=tmp_path)
    second = export(model, "digits", root=tmp_path)
    assert first == tmp_path / "digits" / "1" and second == tmp_path / "digits" / "2"
    assert (first / "saved_model.pb").is_file() and (first / "variables").is_dir()
    assert (first / "model.keras").is_file()
    assert next_version(tmp_path / "digits") == 3
    assert export(model, "digits", root=tmp_path, version=7).name == "7"
    assert next_version(tmp_path / "digits") == 8
    # No temporary folders are left behind (TF Serving only looks at integer folders).
    assert sorted(p.name for p in (tmp_path / "digits").iterdir()) == ["1", "2", "7"]

    loaded = tf.saved_model.load(str(first))
    assert sorted(loaded.signatures) == SIGNATURES
    images = _images()
    want = _expected(model, images)
    for name, batch in [
        ("serving_uint8", images),
        ("serving_uint8_hw", images[..., 0]),
        ("serving_default", images.astype("float32") / 255),
        ("serving_float_hw", images[..., 0].astype("float32") / 255),
    ]:
        out = loaded.signatures[name](images=tf.constant(batch))
        assert sorted(out) == ["class_id", "class_name", "probabilities"]
        np.testing.assert_allclose(out["probabilities"].numpy(), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["class_id"].numpy(), want.argmax(axis=1))
        np.testing.assert_array_equal(out["class_name"].numpy(), [str(c).encode() for c in want.argmax(axis=1)])
    assert read_class_names(first) == tuple(str(i) for i in range(10))  # default names


def test_never_overwrites_and_is_atomic(tmp_path, monkeypatch):
    model = _cnn()
    export(model, "m", root=tmp_path, version=1)
    before = sorted(p.name for p in (tmp_path / "m" / "1").iterdir())
    with pytest.raises(FileExistsError):
        export(model, "m", root=tmp_path, version=1)
    assert sorted(p.name for p in (tmp_path / "m" / "1").iterdir()) == before

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export(model, "m", root=tmp_path)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]  # no half-written version 2


def test_validation(tmp_path):
    model = _cnn()
    with pytest.raises(ValueError, match="`name` must be a folder name"):
        export(model, "../escape", root=tmp_path)
    with pytest.raises(ValueError, match="`version` must be an integer >= 1. Received: version=0"):
        export(model, "m", root=tmp_path, version=0)
    with pytest.raises(ValueError, match="`model` must be a keras.Model"):
        export("model", "m", root=tmp_path)


RELOAD = textwrap.dedent(
    """
    import json, sys
    import numpy as np, tensorflow as tf, keras
    path, images_path, out_path = sys.argv[1:4]
    images = np.load(images_path)
    loaded = tf.saved_model.load(path)
    outs = loaded.signatures["serving_uint8"](images=tf.constant(images))
    layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
    via_layer = layer(images.astype("float32") / 255.0)
    assert not any(name == "tfcourse" or name.startswith("tfcourse.") for name in sys.modules)
    np.savez(out_path, probabilities=outs["probabilities"].numpy(), class_id=outs["class_id"].numpy(),
             layer_probabilities=np.asarray(via_layer["probabilities"]))
    """
)


def _reload_in_fresh_process(path, images, tmp_path):
    np.save(tmp_path / "images.npy", images)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-c", RELOAD, str(path), str(tmp_path / "images.npy"), str(tmp_path / "out.npz")],
        env=env,
        cwd=tmp_path,  # not the repository: tfcourse is not importable by accident
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(tmp_path / "out.npz")


def test_round_trip_in_fresh_process_without_tfcourse(tmp_path):
    """A model with tfcourse layers and a tfcourse optimizer, trained under MirroredStrategy
    with a logits output, reloads with TensorFlow alone (tf.saved_model.load and TFSMLayer)."""
    layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3), tfcourse.layers.BatchNormalization()]
    layers += [keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(10)]
    optimizer = tfcourse.optimizers.Adam(learning_rate=1e-3)

    images = _images(32)
    labels = np.arange(32) % 10
    result = train(
        lambda: keras.Sequential(layers),
        (images.astype("float32") / 255, labels),
        epochs=1,
        global_batch_size=16,
        strategy=get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"]),
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    path = export(result.model, "custom_parts", root=tmp_path)  # Dense(10): logits, read from the model
    want = _expected(result.model, images[:8], logits=True)
    got = _reload_in_fresh_process(path, images[:8], tmp_path)
    np.testing.assert_allclose(got["probabilities"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["layer_probabilities"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got["class_id"], want.argmax(axis=1))

    # The .keras file beside it reloads (with tfcourse imported, its classes are registered).
    reloaded = keras.saving.load_model(path / "model.keras")
    np.testing.assert_allclose(_expected(reloaded, images[:8], logits=True), want, rtol=1e-5, atol=1e-6)
    assert type(reloaded.optimizer).__module__.startswith("tfcourse.")


def test_saved_model_cli_lists_the_signature(tmp_path):
    path = export(_cnn(), "cli", root=tmp_path)
    cli = Path(sys.executable).with_name("saved_model_cli")
    if not cli.exists():
        pytest.skip("saved_model_cli is not installed beside this Python")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [str(cli), "show", "--dir", str(path), "--tag_set", "serve", "--signature_def", "serving_uint8"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DT_UINT8" in done.stdout and "(-1, 28, 28, 1)" in done.stdout
    assert "outputs['probabilities']" in done.stdout and "outputs['class_id']" in done.stdout
    json.dumps(done.stdout)  # plain text


def test_mixed_precision_model_exports_float32(tmp_path):
    images = _images(16)
    result = train(
        _cnn, (images.astype("float32") / 255, np.arange(16) % 10), epochs=1, global_batch_size=8,
        mixed_precision="mixed_bfloat16",
    )
    loaded = tf.saved_model.load(str(export(result.model, "bf16", root=tmp_path)))
    out = loaded.signatures["serving_uint8"](images=tf.constant(images))
    assert out["probabilities"].dtype == tf.float32
    np.testing.assert_allclose(out["probabilities"].numpy().sum(axis=1), 1.0, rtol=1e-2)


# ---------------------------------------------------------------- output kind: softmax exactly once
def _dense_head(head):
    """Flatten -> Dense(10) with fixed, large weights (peaked probabilities), then `head` layers."""
    rng = np.random.default_rng(3)
    kernel = rng.normal(scale=0.3, size=(784, 10)).astype("float32")
    bias = rng.normal(size=(10,)).astype("float32")
    activation = "softmax" if head == "dense_softmax" else None
    dense = keras.layers.Dense(10, activation=activation)
    extra = {
        "logits": [],
        "dense_softmax": [],
        "softmax_layer": [keras.layers.Softmax()],
        "activation_softmax": [keras.layers.Activation("softmax")],
        "softmax_then_dropout": [keras.layers.Softmax(), keras.layers.Dropout(0.5)],
    }[head]
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), dense, *extra])
    dense.set_weights([kernel, bias])
    return model


@pytest.mark.parametrize(
    "head", ["logits", "dense_softmax", "softmax_layer", "activation_softmax", "softmax_then_dropout"]
)
def test_softmax_is_applied_exactly_once(tmp_path, head):
    images = _images(8)
    logits = _dense_head("logits")(images.astype("float32") / 255.0).numpy()
    want = tf.nn.softmax(logits).numpy()
    assert want.max(axis=1).mean() > 0.5  # peaked: a second softmax would flatten it visibly

    model = _dense_head(head)
    assert classifier_output(model) == ("logits" if head == "logits" else "probabilities")
    loaded = tf.saved_model.load(str(export(model, head, root=tmp_path)))
    got = loaded.signatures["serving_uint8"](images=tf.constant(images))["probabilities"].numpy()
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_negative_control_wrong_output_kind_gives_softmax_twice(tmp_path):
    images = _images(8)
    want = tf.nn.softmax(_dense_head("logits")(images.astype("float32") / 255.0)).numpy()
    path = export(_dense_head("softmax_layer"), "twice", root=tmp_path, output="logits")  # wrong on purpose
    got = tf.saved_model.load(str(path)).signatures["serving_uint8"](images=tf.constant(images))
    assert np.abs(got["probabilities"].numpy() - want).max() > 0.2


class _Scores(keras.layers.Layer):
    def call(self, x):
        return keras.ops.softmax(x)


def test_output_kind_cannot_be_guessed_for_custom_or_shape_layers(tmp_path):
    custom = keras.Sequential([keras.Input((4,)), keras.layers.Dense(9), _Scores()])
    with pytest.raises(ValueError, match="Cannot tell whether the output layer .*_scores.* Pass output="):
        export(custom, "c", root=tmp_path)
    flat = keras.Sequential([keras.Input((3, 3, 1)), keras.layers.Conv2D(2, 1), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="Cannot tell whether the output layer"):
        classifier_output(flat)
    with pytest.raises(ValueError, match="`output` must be one of 'logits', 'probabilities'. Received: output='probs'"):
        export(custom, "c", root=tmp_path, output="probs")
    with pytest.raises(ValueError, match="not both"):
        export(custom, "c", root=tmp_path, output="logits", from_logits=True)
    assert not (tmp_path / "c").exists()
    # The explicit argument decides: the custom softmax is not applied twice.
    path = export(custom, "c", root=tmp_path, output="probabilities")
    x = np.random.default_rng(0).random((5, 2, 2, 1)).astype("float32")
    got = tf.saved_model.load(str(path)).signatures["serving_default"](images=tf.constant(x))
    np.testing.assert_allclose(got["probabilities"].numpy(), custom(x.reshape(5, 4)).numpy(), rtol=1e-5)
    # A functional model: the layer producing the output decides, nested models are looked into.
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.Sequential([keras.layers.Dense(3, activation="softmax")])(inputs))
    assert classifier_output(functional) == "probabilities"


# ---------------------------------------------------------------- input shape and dtype from the model
def test_rnn_reading_rows_serves_images(tmp_path):
    keras.utils.set_random_seed(4)
    rnn = keras.Sequential([keras.Input((28, 28)), keras.layers.SimpleRNN(8), keras.layers.Dense(10)])
    loaded = tf.saved_model.load(str(export(rnn, "rnn", root=tmp_path)))
    assert sorted(loaded.signatures) == SIGNATURES
    assert loaded.signatures["serving_uint8_hw"].structured_input_signature[1]["images"].shape.as_list() == [
        None, 28, 28]
    images = _images(5)
    want = tf.nn.softmax(rnn(images[..., 0].astype("float32") / 255.0)).numpy()
    for name, batch in [("serving_uint8", images), ("serving_uint8_hw", images[..., 0])]:
        got = loaded.signatures[name](images=tf.constant(batch))["probabilities"].numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_colour_images_of_another_size(tmp_path):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([
        keras.Input((12, 16, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
        keras.layers.Dense(4, activation="softmax"),
    ])
    loaded = tf.saved_model.load(str(export(model, "rgb", root=tmp_path)))
    assert sorted(loaded.signatures) == ["serving_default", "serving_uint8"]  # no "_hw": 3 channels
    spec = loaded.signatures["serving_uint8"].structured_input_signature[1]["images"]
    assert spec.shape.as_list() == [None, 12, 16, 3] and spec.dtype == tf.uint8
    images = np.random.default_rng(1).integers(0, 256, (3, 12, 16, 3), dtype=np.uint8)
    got = loaded.signatures["serving_uint8"](images=tf.constant(images))["probabilities"].numpy()
    np.testing.assert_allclose(got, model(images / 255.0).numpy(), rtol=1e-5, atol=1e-6)


def test_flat_inputs_and_uint8_models(tmp_path):
    mlp = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    loaded = tf.saved_model.load(str(export(mlp, "mlp", root=tmp_path)))
    images = _images(4)
    got = loaded.signatures["serving_uint8"](images=tf.constant(images))["probabilities"].numpy()
    np.testing.assert_allclose(got, mlp(images.reshape(4, 784) / 255.0).numpy(), rtol=1e-5, atol=1e-6)

    odd = keras.Sequential([keras.Input((300,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"Pass image_shape=\(H, W\)"):
        export(odd, "odd", root=tmp_path)
    with pytest.raises(ValueError, match="`image_shape` must be"):
        export(odd, "odd", root=tmp_path, image_shape=(10, 20))
    spec = tf.saved_model.load(str(export(odd, "odd", root=tmp_path, image_shape=(10, 30)))).signatures[
        "serving_default"].structured_input_signature[1]["images"]
    assert spec.shape.as_list() == [None, 10, 30, 1]

    # A model that takes uint8 pixels itself: uint8 passes through, [0, 1] floats are scaled back.
    raw = keras.Sequential([
        keras.Input((28, 28, 1), dtype="uint8"), keras.layers.Rescaling(1 / 255.0), keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])
    loaded = tf.saved_model.load(str(export(raw, "raw", root=tmp_path)))
    want = tf.nn.softmax(raw(images)).numpy()
    for name, batch in [("serving_uint8", images), ("serving_default", images / np.float32(255))]:
        got = loaded.signatures[name](images=tf.constant(batch))["probabilities"].numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_class_names_are_stored_and_served(tmp_path):
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
             "Ankle boot"]
    model = _cnn()
    path = export(model, "fashion", root=tmp_path, class_names=names)
    assert read_class_names(path) == tuple(names)
    assert (path / "assets.extra" / "class_names.txt").read_text(encoding="utf-8").splitlines() == names
    images = _images(6)
    out = tf.saved_model.load(str(path)).signatures["serving_uint8"](images=tf.constant(images))
    want = [names[c].encode() for c in _expected(model, images).argmax(axis=1)]
    assert list(out["class_name"].numpy()) == want
    with pytest.raises(ValueError, match="`class_names` must be 10 non-empty one-line names"):
        export(model, "fashion", root=tmp_path, class_names=names[:9])
    assert sorted(p.name for p in (tmp_path / "fashion").iterdir()) == ["1"]


def test_subclassed_model_without_inputs_is_refused(tmp_path):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(10)

        def call(self, x):
            return self.dense(keras.ops.reshape(x, (-1, 784)))

    model = Subclassed()
    model(np.zeros((1, 28, 28, 1), "float32"))
    with pytest.raises(ValueError, match="`model` must have known inputs and outputs before export"):
        export(model, "sub", root=tmp_path)
    assert not (tmp_path / "sub").exists()

"""`export`: versioned SavedModel + .keras, atomic, reloadable without tfcourse (lesson L11)."""

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
from tfcourse.training import export, get_strategy, next_version, train

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
        assert sorted(out) == ["class_id", "probabilities"]
        np.testing.assert_allclose(out["probabilities"].numpy(), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["class_id"].numpy(), want.argmax(axis=1))


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
    layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3)]
    if hasattr(tfcourse.layers, "BatchNormalization"):
        layers.append(tfcourse.layers.BatchNormalization())
    layers += [keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(10)]
    optimizer = tfcourse.optimizers.Adam(learning_rate=1e-3) if hasattr(tfcourse.optimizers, "Adam") else "adam"

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
    path = export(result.model, "custom_parts", root=tmp_path, from_logits=True)
    want = _expected(result.model, images[:8], logits=True)
    got = _reload_in_fresh_process(path, images[:8], tmp_path)
    np.testing.assert_allclose(got["probabilities"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["layer_probabilities"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got["class_id"], want.argmax(axis=1))

    # The .keras file beside it reloads (with tfcourse imported, its classes are registered).
    reloaded = keras.saving.load_model(path / "model.keras")
    np.testing.assert_allclose(_expected(reloaded, images[:8], logits=True), want, rtol=1e-5, atol=1e-6)
    if hasattr(tfcourse.optimizers, "Adam"):
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

"""`tfcourse predict`: images converted to the model's input, classified by a SavedModel, named (L11)."""

import keras
import numpy as np
import pytest
from PIL import Image

from tfcourse import cli
from tfcourse.data import class_names, load_arrays
from tfcourse.serving import PredictError, export, load_image, load_model, predict, resolve_model_dir, to_mnist


def _digit(size=28):
    """A white-on-black bar ('1'-like) in a size x size image."""
    image = np.zeros((size, size), np.uint8)
    image[size // 5 : size - size // 5, size // 2 - size // 14 : size // 2 + size // 14 + 1] = 255
    return image


@pytest.fixture(scope="module")
def model_root(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    root = tmp_path_factory.mktemp("saved")
    export(model, "digits", root=root)
    export(model, "digits", root=root)
    return root / "digits", model


def test_mnist_sized_white_on_black_is_kept_exactly(tmp_path):
    image = _digit()
    Image.fromarray(image).save(tmp_path / "d.png")
    np.testing.assert_array_equal(load_image(tmp_path / "d.png")[..., 0], image)


def test_large_dark_on_light_image_is_inverted_cropped_and_centred(tmp_path):
    big = 255 - _digit(280)  # black digit on white paper, 10x MNIST size
    big = np.roll(big, (30, -60), axis=(0, 1))  # off-centre
    Image.fromarray(big).convert("RGB").save(tmp_path / "d.jpg", quality=95)
    out = load_image(tmp_path / "d.jpg")[..., 0]
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out[0].max() < 40 and out[:, 0].max() < 40  # black background
    assert out.max() > 200  # white strokes
    rows, cols = np.nonzero(out > 64)
    assert rows.max() - rows.min() + 1 <= 21  # longer side fitted into the 20-pixel box
    total = out.sum()
    cy = (np.arange(28)[:, None] * out).sum() / total
    cx = (np.arange(28)[None, :] * out).sum() / total
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1  # centre of mass in the middle


def test_transparent_png_and_blank_image(tmp_path):
    rgba = np.zeros((50, 40, 4), np.uint8)
    rgba[10:40, 18:22] = (0, 0, 0, 255)  # black ink on a transparent background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    assert load_image(tmp_path / "t.png").max() > 200
    assert to_mnist(np.full((64, 64), 255, np.uint8)).max() == 0  # blank paper -> blank digit


def test_bad_paths_give_clear_errors(tmp_path):
    with pytest.raises(PredictError, match="image not found: .*missing.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(PredictError, match="not a file"):
        load_image(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(PredictError, match="is not a PNG or JPEG image"):
        load_image(tmp_path / "notes.txt")
    Image.fromarray(_digit()).save(tmp_path / "d.gif")
    with pytest.raises(PredictError, match="is a GIF image; expected PNG or JPEG"):
        load_image(tmp_path / "d.gif")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PredictError, match="holds no SavedModel"):
        resolve_model_dir(tmp_path / "empty")
    with pytest.raises(PredictError, match="model folder not found"):
        resolve_model_dir(tmp_path / "nowhere")


def test_predict_uses_latest_version_and_matches_model(tmp_path, model_root):
    root, model = model_root
    assert resolve_model_dir(root).name == "2"
    assert resolve_model_dir(root / "1").name == "1"
    images = [_digit(), 255 - _digit(100)]
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    results = predict(root, paths)
    batch = np.stack([load_image(p) for p in paths]).astype("float32") / 255
    want = model(batch).numpy()
    for result, row in zip(results, want):
        assert result.class_id == int(row.argmax()) and result.class_name == str(result.class_id)
        assert result.probability == pytest.approx(float(row.max()), rel=1e-5)
        np.testing.assert_allclose(result.probabilities, row, rtol=1e-5, atol=1e-6)


def test_cli_prints_class_and_probability(tmp_path, model_root, capsys):
    root, _ = model_root
    Image.fromarray(_digit()).save(tmp_path / "one.png")
    assert cli.main(["predict", "--model", str(root), str(tmp_path / "one.png")]) == 0
    out = capsys.readouterr().out
    probability = predict(root, [tmp_path / "one.png"])[0]
    assert out == (
        f"{tmp_path / 'one.png'}: {probability.class_name} "
        f"(class {probability.class_id}, probability {probability.probability:.3f})\n"
    )


def test_cli_bad_input_exits_2_with_one_line(tmp_path, model_root, capsys):
    root, _ = model_root
    assert cli.main(["predict", "--model", str(root), str(tmp_path / "nope.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfcourse: error: image not found") and "Traceback" not in err
    (tmp_path / "x.png").write_bytes(b"\x89PNG but broken")
    assert cli.main(["predict", "--model", str(root), str(tmp_path / "x.png")]) == 2
    assert "is not a PNG or JPEG image" in capsys.readouterr().err
    Image.fromarray(_digit()).save(tmp_path / "ok.png")
    assert cli.main(["predict", "--model", str(tmp_path / "nomodel"), str(tmp_path / "ok.png")]) == 2
    assert "model folder not found" in capsys.readouterr().err


def test_fashion_cnn_cli_prints_class_names(tmp_path, capsys):
    """A Fashion-MNIST CNN exported with its class names: the CLI prints "Ankle boot", ..."""
    keras.utils.set_random_seed(1)
    images, labels = load_arrays("fashion_mnist", "train[:2048]")
    model = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(10),
    ])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images / np.float32(255), labels, epochs=3, batch_size=64, verbose=0)
    names = class_names("fashion_mnist")
    assert names[9] == "Ankle boot"
    root = tmp_path / "saved"
    export(model, "fashion_cnn", root=root, class_names=names)

    test_images, test_labels = load_arrays("fashion_mnist", "test[:20]")
    paths = []
    for i, image in enumerate(test_images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image[..., 0]).save(paths[-1])
    assert cli.main(["predict", "--model", str(root / "fashion_cnn"), *map(str, paths)]) == 0
    lines = capsys.readouterr().out.splitlines()
    want = tf_softmax(model(test_images / np.float32(255)).numpy())
    assert len(lines) == len(paths)
    for line, path, row in zip(lines, paths, want):
        assert line == f"{path}: {names[row.argmax()]} (class {row.argmax()}, probability {row.max():.3f})"
    assert load_model(root / "fashion_cnn").class_names == names
    # The printed names line up with the true labels far above chance (2 of 20; seeds 1-3 gave 16-17).
    assert sum(line.split(": ", 1)[1].startswith(names[label] + " (") for line, label in zip(lines, test_labels)) >= 12


def tf_softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_rnn_reading_rows_predicts_image_files(tmp_path):
    keras.utils.set_random_seed(2)
    rnn = keras.Sequential([keras.Input((28, 28)), keras.layers.SimpleRNN(8), keras.layers.Dense(10)])
    path = export(rnn, "rnn", root=tmp_path / "saved", class_names=[f"digit {i}" for i in range(10)])
    Image.fromarray(_digit()).save(tmp_path / "one.png")
    [result] = predict(path, [tmp_path / "one.png"])
    want = tf_softmax(rnn(_digit()[None].astype("float32") / 255).numpy())[0]
    np.testing.assert_allclose(result.probabilities, want, rtol=1e-5, atol=1e-6)
    assert result.class_name == f"digit {want.argmax()}"


def test_colour_image_is_resized_for_a_colour_model(tmp_path):
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "red.png")
    out = load_image(tmp_path / "red.png", (12, 16, 3))
    assert out.shape == (12, 16, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], 200)
    np.testing.assert_array_equal(out[..., 1:], 0)

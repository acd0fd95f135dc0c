"""`tfcourse predict`: images of any size converted like MNIST, classified by a SavedModel (L11)."""

import keras
import numpy as np
import pytest
from PIL import Image

from tfcourse import cli
from tfcourse.predict import PredictError, load_image, predict, resolve_model_dir, to_mnist
from tfcourse.training import export


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
        assert result.class_id == int(row.argmax())
        assert result.probability == pytest.approx(float(row.max()), rel=1e-5)
        np.testing.assert_allclose(result.probabilities, row, rtol=1e-5, atol=1e-6)


def test_cli_prints_class_and_probability(tmp_path, model_root, capsys):
    root, _ = model_root
    Image.fromarray(_digit()).save(tmp_path / "one.png")
    assert cli.main(["predict", "--model", str(root), str(tmp_path / "one.png")]) == 0
    out = capsys.readouterr().out
    assert "one.png: class " in out and "(probability " in out


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

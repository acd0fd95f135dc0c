"""The string-in, string-out SavedModel: tokenizing in TF ops, export layout, plain-TF loading, CLI."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.data import dates
from tfcourse.seq2seq import build_seq2seq, export_date_translator, greedy_decode, tokenize_in_graph, translate_dates
from tfcourse.seq2seq.serving import main

TEXTS = ["25th of March 2021", "3/25/21", "  Thursday, March 25, 2021 ", "25 März 2021", "12.01.1999"]


def test_tokenize_in_graph_equals_the_numpy_encoding():
    texts = [t.strip() for t in TEXTS]
    expected = dates.encode_inputs(texts)
    np.testing.assert_array_equal(tokenize_in_graph(tf.constant(TEXTS)).numpy(), expected)
    assert (expected == 1).sum() == 1  # the "ä": unknown, in both


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = build_seq2seq(len(dates.INPUT_CHARS) + 2, len(dates.OUTPUT_CHARS) + 1, units=8, embedding_dim=4)
    root = tmp_path_factory.mktemp("models")
    return model, root, export_date_translator(model, "dates", root=root)


def test_plain_tensorflow_loads_and_calls_the_string_signature(exported):
    model, root, path = exported
    assert path == root / "dates" / "1" and (path / "saved_model.pb").is_file()
    assert not [p for p in (root / "dates").iterdir() if p.name.startswith(".")]  # no temporary left behind
    loaded = tf.saved_model.load(str(path))
    served = loaded.serving_default(tf.constant(TEXTS))["iso_date"]
    assert served.dtype == tf.string and served.shape == (len(TEXTS),)
    python = dates.decode_targets(greedy_decode(model, dates.encode_inputs([t.strip() for t in TEXTS]), 10).tokens)
    assert [s.decode() for s in served.numpy()] == python
    signature = loaded.signatures["serving_default"]
    assert signature(texts=tf.constant(TEXTS[:2]))["iso_date"].numpy().tolist() == served.numpy()[:2].tolist()
    assert translate_dates(root / "dates", TEXTS) == python


def test_versions_are_never_overwritten(exported):
    model, root, _ = exported
    with pytest.raises(FileExistsError):
        export_date_translator(model, "dates", root=root, version=1)
    with pytest.raises(ValueError, match=r"`name` must be a folder name"):
        export_date_translator(model, "../dates", root=root)


def test_command_line(exported, capsys):
    _, root, _ = exported
    assert main(["--model", str(root / "dates"), "3/25/21", "25th of March 2021"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("3/25/21 -> ") and len(lines[0].split(" -> ")[1]) == 10
    assert main(["--model", str(root / "missing"), "3/25/21"]) == 2
    assert "model folder not found" in capsys.readouterr().err

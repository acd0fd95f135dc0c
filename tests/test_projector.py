"""`tfcourse.projector`: the embedding projector's TSV pair, written atomically (lesson L15)."""

import numpy as np
import pytest

from tfcourse import projector


def test_round_trip_rows_match_words(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    words = ["[UNK]", "the", "and", "god", "earth"]
    vectors_path, metadata_path = projector.write_projector_files(tmp_path, vectors, words)
    lines = vectors_path.read_text().splitlines()
    assert len(lines) == 5 and all(len(line.split("\t")) == 3 for line in lines)
    assert metadata_path.read_text() == "[UNK]\nthe\nand\ngod\nearth\n"  # one column: no header
    read_vectors, read_words = projector.read_projector_files(tmp_path)
    assert read_words == words
    np.testing.assert_allclose(read_vectors, vectors, rtol=5e-6)  # 6 significant digits


@pytest.mark.parametrize(
    "vectors, words, match",
    [
        (np.zeros((2, 3)), ["a"], "one row per word"),
        (np.zeros(3), ["a", "b", "c"], "one row per word"),
        (np.array([[np.nan, 0.0]]), ["a"], "must be finite"),
        (np.zeros((1, 2)), ["a\tb"], "no tab or line break"),
        (np.zeros((1, 2)), [""], "non-empty"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(tmp_path, vectors, words, match):
    with pytest.raises(ValueError, match=match):
        projector.write_projector_files(tmp_path, vectors, words)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_the_old_files(tmp_path, monkeypatch):
    projector.write_projector_files(tmp_path, np.ones((2, 2)), ["a", "b"])
    before = (tmp_path / "vectors.tsv").read_text()

    def die(path, text):
        raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(projector, "atomic_write_text", die)
    with pytest.raises(KeyboardInterrupt):
        projector.write_projector_files(tmp_path, np.zeros((3, 2)), ["x", "y", "z"])
    assert (tmp_path / "vectors.tsv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.tsv", "vectors.tsv"]

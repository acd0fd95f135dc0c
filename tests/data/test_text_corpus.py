"""The text corpus of lesson L15: read from its pinned .deb, prepared atomically, loaded offline.

Facts checked: the World English Bible's Genesis 1:1 as published, about 917,000 words, and the
WEB's rendering of God's name as "Yahweh" (between 5,000 and 7,000 times).
"""

import collections
import re
import subprocess
import sys
import textwrap

import pytest

from tfcourse.data import DataSourceError
from tfcourse.data import text_corpus as tc


@pytest.fixture(scope="module")
def real_deb():
    return tc.find_corpus_deb()  # `make data` downloads it


def test_real_source_reads_to_the_pinned_verses(real_deb):
    verses = tc.read_corpus_deb(real_deb)  # checks the .deb's and the text's SHA-256
    assert len(verses) == tc.CORPUS_VERSES == 37_481
    assert "In the beginning, God created the heavens and the earth." in verses
    assert not any("<" in verse or ">" in verse for verse in verses)  # no markup left
    words = collections.Counter(w for v in verses for w in re.findall(r"[a-z']+", v.lower()))
    assert 900_000 < sum(words.values()) < 1_000_000 and words["the"] > 60_000
    assert 5_000 < words["yahweh"] < 7_000


def test_osis_to_plain_drops_notes_and_titles_keeps_words():
    osis = (
        '<title type="main">Genesis</title><w lemma="strong:H1">In</w> <w>the</w> '
        '<w>beginning</w>, <w>God</w><note placement="foot"><reference>1:1 </reference>'
        'The Hebrew word &amp; more</note><w>created</w> \u201cthe heavens\u201d\u2014and '
        "the earth\u2019s <w>waters</w> ."
    )
    assert tc.osis_to_plain(osis) == "In the beginning, God created \"the heavens\" and the earth's waters."


def test_checksum_mismatch_is_refused_with_the_fix_and_writes_nothing(real_deb, tmp_path):
    corrupt = tmp_path / tc.CORPUS_DEB_NAME
    data = bytearray(real_deb.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    data_dir = tmp_path / "tfds"
    with pytest.raises(DataSourceError, match="(?s)SHA-256 mismatch.*apt-get download sword-text-web=426.0-1"):
        tc.prepare_corpus(data_dir=data_dir, deb=corrupt)
    assert not tc.corpus_path(data_dir).exists()
    assert not list(data_dir.glob(".tfcourse-staging-*"))


def test_missing_source_and_unprepared_corpus_say_how_to_fix(tmp_path):
    with pytest.raises(DataSourceError, match="(?s)not found.*apt-get download"):
        tc.find_corpus_deb(sources_dir=tmp_path)
    with pytest.raises(DataSourceError, match="(?s)not prepared.*tfcourse data prepare --dataset world_english_bible"):
        tc.load_corpus(data_dir=tmp_path)


def test_parsed_text_differing_from_the_pin_is_refused(real_deb, tmp_path):
    with pytest.raises(DataSourceError, match="expected 37481"):
        tc.read_corpus_deb(real_deb, expected_text_sha256="0" * 64)


def test_interrupted_prepare_leaves_nothing_then_prepare_is_idempotent(real_deb, tmp_path, monkeypatch):
    from tensorflow_datasets import dataset_builders

    real_store = dataset_builders.store_as_tfds_dataset

    def store_then_die(**kwargs):
        verses = kwargs["split_datasets"]["train"]

        def first_verses_then_crash():
            for index, item in enumerate(verses):
                if index == 1000:
                    raise KeyboardInterrupt("simulated interruption")
                yield item

        kwargs["split_datasets"] = dict(kwargs["split_datasets"], train=first_verses_then_crash())
        return real_store(**kwargs)

    monkeypatch.setattr(dataset_builders, "store_as_tfds_dataset", store_then_die)
    with pytest.raises(KeyboardInterrupt):
        tc.prepare_corpus(data_dir=tmp_path, deb=real_deb)
    assert not tc.corpus_path(tmp_path).exists()
    assert not list(tmp_path.glob(".tfcourse-staging-*"))

    monkeypatch.setattr(dataset_builders, "store_as_tfds_dataset", real_store)
    first = tc.prepare_corpus(data_dir=tmp_path, deb=real_deb)
    assert first.created and first.path == tc.corpus_path(tmp_path)
    stamp = (first.path / "dataset_info.json").stat().st_mtime_ns
    second = tc.prepare_corpus(data_dir=tmp_path, deb=real_deb)
    assert not second.created
    assert (first.path / "dataset_info.json").stat().st_mtime_ns == stamp
    verses = tc.load_corpus(data_dir=tmp_path)
    assert len(verses) == tc.CORPUS_VERSES and verses[1] == "In the beginning, God created the heavens and the earth."

    # A plain `tfds.load` by name reads it in a fresh process, with no tfcourse import.
    script = textwrap.dedent(f"""
        import tensorflow_datasets as tfds
        ds = tfds.load("world_english_bible", split="train", data_dir={str(tmp_path)!r})
        print(ds.cardinality().numpy())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(tc.CORPUS_VERSES)

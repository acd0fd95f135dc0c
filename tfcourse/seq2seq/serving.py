"""A date translator as a SavedModel: tf.string in, tf.string out, loadable by plain TensorFlow.

Introduced in lesson L16 (`lessons/16_seq2seq_attention.py`).

    path = export_date_translator(model, "16_seq2seq_attention")   # saved_models/<name>/<version>/
    tf.saved_model.load(str(path)).serving_default(tf.constant(["3/25/21"]))
        -> {"iso_date": [b"2021-03-25"]}
    translate_dates("saved_models/16_seq2seq_attention", ["25th of March 2021"])  -> ["2021-03-25"]

Command line (the highest version under the folder, or a version folder):

    python -m tfcourse.seq2seq --model saved_models/16_seq2seq_attention "25th of March 2021"

Written like `tfcourse.serving.export`: into a temporary folder renamed into place as the next
integer version, never overwriting one. Tokenizing and greedy decoding are TensorFlow ops inside
the signature, so the caller needs neither tfcourse nor Keras.
"""

import argparse
import re
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfcourse._atomic import atomic_directory
from tfcourse._validation import check_positive_int
from tfcourse.data.dates import INPUT_CHARS, MAX_INPUT_LENGTH, OUTPUT_CHARS, OUTPUT_LENGTH, START
from tfcourse.seq2seq.decoding import greedy_decode
from tfcourse.serving.versions import PredictError, next_version, resolve_model_dir

__all__ = ["export_date_translator", "main", "tokenize_in_graph", "translate_dates"]

_UNKNOWN, _CODEPOINTS = 1, 128  # ASCII; any other character reads as unknown


def _lookup_table():
    table = np.full(_CODEPOINTS + 1, _UNKNOWN, np.int32)
    for i, char in enumerate(INPUT_CHARS):
        table[ord(char)] = i + 2
    return tf.constant(table)


def tokenize_in_graph(texts, length=MAX_INPUT_LENGTH):
    """tf.string (N,) -> int32 tokens (N, length) as `tfcourse.data.dates.encode_inputs`, in TF ops (L16).

        codepoints = unicode_decode(strip(text)) ; token = table[min(codepoint, 128)]
        right-pad with 0 (a longer text is cut at `length`)
    """
    codepoints = tf.strings.unicode_decode(tf.strings.strip(texts), "UTF-8", errors="replace")
    tokens = tf.ragged.map_flat_values(lambda c: tf.gather(_lookup_table(), tf.minimum(c, _CODEPOINTS)), codepoints)
    return tokens.to_tensor(default_value=0, shape=[None, length])


def export_date_translator(model, name, *, root="saved_models", version=None):
    """Write the trained `Seq2Seq` as `<root>/<name>/<version>/` with a string signature (lesson L16).

        serving_default(texts: tf.string (N,)) -> {"iso_date": tf.string (N,)}
        iso_date = join(OUTPUT_CHARS[y_t - 1] for t) with y = greedy_decode(tokenize(texts))

    version: integer >= 1, None for the next free one; an existing version raises FileExistsError.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError(f"`name` must be a folder name of letters, digits, '_', '-' and '.'. Received: name={name!r}")
    model_root = Path(root) / name
    version = check_positive_int("version", next_version(model_root) if version is None else version)
    alphabet = tf.constant(["?", *OUTPUT_CHARS])

    def serve(texts):
        tokens = greedy_decode(model, tokenize_in_graph(texts), OUTPUT_LENGTH, start=START).tokens
        return {"iso_date": tf.strings.reduce_join(tf.gather(alphabet, tokens), axis=-1)}

    final = model_root / str(version)
    with atomic_directory(final) as tmp:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(name="serving_default", fn=serve,
                             input_signature=[tf.TensorSpec([None], tf.string, name="texts")])  # fmt: skip
        archive.write_out(str(tmp), verbose=False)
    return final


def translate_dates(model_dir, texts):
    """ISO dates for `texts` from an exported translator folder (lesson L16).

        version = resolve_model_dir(model_dir) ; tf.saved_model.load(version).serving_default(texts)
    """
    loaded = tf.saved_model.load(str(resolve_model_dir(model_dir)))
    outputs = loaded.serving_default(tf.constant(list(texts), tf.string))["iso_date"]
    return [value.decode("utf-8") for value in outputs.numpy()]


def main(argv=None):
    """`python -m tfcourse.seq2seq --model DIR TEXT...`: print "TEXT -> ISO" lines (lesson L16)."""
    parser = argparse.ArgumentParser(description="Translate dates with an exported L16 SavedModel.")
    parser.add_argument("--model", type=Path, required=True, help="saved_models/<name> or a version folder")
    parser.add_argument("texts", nargs="+", help='dates, e.g. "25th of March 2021"')
    args = parser.parse_args(argv)
    try:
        isos = translate_dates(args.model, args.texts)
    except PredictError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for text, iso in zip(args.texts, isos):
        print(f"{text} -> {iso}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

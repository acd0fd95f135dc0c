"""Seq2seq with attention: translate human-readable dates into ISO dates with a GRU encoder-decoder.

What you will learn [004 4.3]:
- a synthetic but meaningful sequence task drawn from a seed (`tfcourse.data.dates`):
  "25th of March 2021", "3/25/21", "Thursday, March 25, 2021", ... -> "2021-03-25", in 14
  formats and three letter cases, with test days that never occur in training;
- an encoder-decoder (`tfcourse.seq2seq.Seq2Seq`): a bidirectional GRU reads the characters, a
  GRU decoder writes the ISO date one character at a time; trained with teacher forcing (the
  decoder is fed the true previous character, so one pass covers the whole target);
- additive (Bahdanau) attention written out (`tfcourse.layers.BahdanauAttention`):
  score = v . tanh(W_q h_t + W_k m_j), weights = softmax over the source, context = sum of
  weights * m_j; it equals `keras.layers.AdditiveAttention` on the same weights, since Keras's
  layer is the same formula applied to inputs projected beforehand (query @ W_q, key = memory @ W_k,
  its `scale` = v);
- the same model without attention, which must squeeze the whole date into one state vector:
  with the same 5 epochs it is far behind (it learns much more slowly, it is not a ceiling);
- greedy decoding and beam search written out (`tfcourse.seq2seq.greedy_decode`, `beam_search`);
- attention heat-maps: which source characters each output character looked at;
- a SavedModel with a string-in, string-out signature, callable from plain TensorFlow
  (`tf.saved_model.load(path).serving_default(tf.constant(["3/25/21"]))`) or from the shell
  (`python -m tfcourse.seq2seq --model saved_models/16_seq2seq_attention "3/25/21"`).

Runtime: about 5-8 minutes on 2 CPU cores (`--quick`: about 20 s; it trains one model on 640 dates).
Expected (thresholds the tests check: `--quick` in tests/lessons, the full run in
benchmarks/lessons.py's FULL_RUN_CHECKS):
- no test day occurs in the training pairs;
- the written-out attention equals keras.layers.AdditiveAttention on the trained weights (max
  difference < 1e-5);
- the training loss falls from the first epoch to the last (both models in the full run);
- beam search of width 1 returns greedy's tokens and scores (to 1e-5); width 3 finds a sequence
  at least as likely as greedy's for every test date (full run; it is not a theorem, see
  `beam_search`);
- the exported SavedModel, loaded by plain `tf.saved_model.load`, returns the same ISO strings
  as greedy decoding in Python, for every test date tried;
- full run: >= 99% exact match on held-out test dates with attention, and more than without
  (the measured table is in benchmarks/results/lessons/16_seq2seq_attention.json).
Notes followed: 004 (outline 4.3, seq2seq and attention); the notes give only the outline.
"""

# %% Setup
import datetime

import keras
import numpy as np
import tensorflow as tf

from tfcourse.data import dates
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.seq2seq import (
    beam_search,
    build_seq2seq,
    export_date_translator,
    greedy_decode,
    teacher_forcing_inputs,
)
from tfcourse.training import train

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "16_seq2seq_attention")
results = {}
TRAIN = 640 if args.quick else 20_000
TEST = 128 if args.quick else 4_000
EPOCHS = 2 if args.quick else 5
BATCH = 64 if args.quick else 128
UNITS = 32 if args.quick else 64
# The model without attention is trained in the full run only: a second model costs ~10 s of
# graph building alone, and `--quick` is too short for the comparison to mean anything.
VARIANTS = (("attention", True),) if args.quick else (("attention", True), ("no_attention", False))
SOURCE_VOCABULARY = len(dates.INPUT_CHARS) + 2  # + padding and unknown
TARGET_VOCABULARY = len(dates.OUTPUT_CHARS) + 1  # + START

# %% The task: dates in many formats -> ISO 8601
# Every calendar day from 1950 to 2049 is a training day or a test day, fixed by a hash of the
# day; the pairs are then drawn from the seed. A test date is never seen in training, in any format.
train_texts, train_isos = dates.date_pairs(TRAIN, "train", seed=args.seed)
test_texts, test_isos = dates.date_pairs(TEST, "test", seed=args.seed)
results["train_pairs"], results["test_pairs"] = TRAIN, TEST
results["formats"] = len(dates.FORMATS)
results["test_dates_seen_in_training"] = len(set(train_isos) & set(test_isos))
for text, iso in list(zip(train_texts, train_isos))[:6]:
    print(f"{text!r:>40} -> {iso}")

source = dates.encode_inputs(train_texts)
target = dates.encode_targets(train_isos)
test_source = dates.encode_inputs(test_texts)


def trim_padding(inputs, labels):
    """Cut each batch at its longest text: the GRUs then run ~20 steps instead of 40."""
    source_batch, target_in = inputs
    width = tf.reduce_max(tf.reduce_sum(tf.cast(source_batch > 0, tf.int32), axis=1))
    return (source_batch[:, :width], target_in), labels


training_data = (
    tf.data.Dataset.from_tensor_slices(((source, teacher_forcing_inputs(target, start=dates.START)), target))
    .shuffle(TRAIN, seed=args.seed)
    .batch(BATCH)
    .map(trim_padding)
)


# %% Train with and without attention, by teacher forcing
# Both models have the same encoder and decoder; only the attention context differs. The loss
# is the cross-entropy of each next character given the true previous ones. The exact match
# counts a test date right only if all 10 characters are.
def fit(attention):
    build = lambda: build_seq2seq(SOURCE_VOCABULARY, TARGET_VOCABULARY, units=UNITS, attention=attention)  # noqa: E731
    return train(build, training_data, epochs=EPOCHS, global_batch_size=BATCH, seed=args.seed,
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                 metrics=(keras.metrics.SparseCategoricalAccuracy(name="accuracy"),),
                 optimizer=lambda: keras.optimizers.Adam(3e-3, global_clipnorm=1.0))  # fmt: skip


def exact_match(model):
    predicted = dates.decode_targets(greedy_decode(model, test_source, dates.OUTPUT_LENGTH).tokens.numpy())
    return float(np.mean([p == iso for p, iso in zip(predicted, test_isos)])), predicted


models, predictions = {}, {}
for name, attention in VARIANTS:
    run = fit(attention)
    models[name] = run.model
    results[f"{name}_first_epoch_loss"] = run.history["loss"][0]
    results[f"{name}_final_loss"] = run.history["loss"][-1]
    results[f"{name}_test_exact_match"], predictions[name] = exact_match(run.model)
model = models["attention"]
print(f"\n{'model':<16}{'exact match on held-out dates':>32}")
for name in models:
    print(f"{name:<16}{results[f'{name}_test_exact_match']:>32.4f}")

# %% Bahdanau attention against keras.layers.AdditiveAttention
# Keras's layer scores reduce_sum(scale * tanh(query + key)) with no projections of its own:
# feeding it query @ W_q and key = memory @ W_k, with scale = v, is the same computation.
memory, state, mask = model.encode(test_source[:32])
query = keras.random.normal((32, dates.OUTPUT_LENGTH, UNITS), seed=args.seed)
ours, our_weights = model.attention_layer(query, memory, mask=mask, return_attention_scores=True)
layer = model.attention_layer
keras_attention = keras.layers.AdditiveAttention(use_scale=True)
keras_inputs = [query @ layer.query_kernel, memory, memory @ layer.key_kernel]
keras_attention(keras_inputs, mask=[None, mask])  # build, then copy v into `scale`
keras_attention.scale.assign(layer.scale)
theirs, their_weights = keras_attention(keras_inputs, mask=[None, mask], return_attention_scores=True)
results["attention_max_difference_vs_keras"] = float(
    max(np.max(np.abs(ours - theirs)), np.max(np.abs(our_weights - their_weights)))
)
print(f"max |ours - keras.layers.AdditiveAttention| = {results['attention_max_difference_vs_keras']:.2e}")

# %% Greedy decoding and beam search
# Greedy feeds back the argmax; beam search keeps the 3 best partial dates at every step. A
# sequence's score is its log-probability, sum_t log p(y_t | y_<t, source).
greedy = greedy_decode(model, test_source, dates.OUTPUT_LENGTH)
beam1 = beam_search(model, test_source, dates.OUTPUT_LENGTH, beam_width=1)
beam3 = beam_search(model, test_source, dates.OUTPUT_LENGTH, beam_width=3)
greedy_scores = greedy.scores.numpy()
results["beam1_tokens_differing_from_greedy"] = int(np.sum(beam1.tokens[:, 0] != greedy.tokens.numpy()))
results["beam1_max_score_difference_vs_greedy"] = float(np.max(np.abs(beam1.scores[:, 0] - greedy_scores)))
results["beam3_below_greedy_score"] = int(np.sum(beam3.scores[:, 0] < greedy_scores - 1e-5))
results["beam3_above_greedy_score"] = int(np.sum(beam3.scores[:, 0] > greedy_scores + 1e-5))
beam_predictions = dates.decode_targets(beam3.tokens[:, 0])
results["attention_beam3_test_exact_match"] = float(np.mean([p == t for p, t in zip(beam_predictions, test_isos)]))

# %% Attention heat-maps
# Row t shows where output character t looked in the source (weights of the trained model for
# three formats of the same day). The bidirectional encoder lets a character's state carry its
# neighbours too, so the weights need not sit exactly on the characters copied.
import matplotlib.pyplot as plt  # noqa: E402

picks = [dates.FORMATS.index(f) for f in ("{nth} of {month} {yyyy}", "{m}/{d}/{yy}", "{weekday}, {month} {d}, {yyyy}")]
examples = [dates.format_date(datetime.date(2021, 3, 25), dates.FORMATS[i]) for i in picks]
decoded = greedy_decode(model, dates.encode_inputs(examples), dates.OUTPUT_LENGTH)
fig, axes = plt.subplots(1, len(examples), figsize=(5 * len(examples), 3.6))
for ax, text, tokens, weights in zip(axes, examples, decoded.tokens.numpy(), decoded.attention.numpy()):
    ax.imshow(weights[:, : len(text)], cmap="viridis", aspect="auto", vmin=0, vmax=1)
    ax.set_xticks(range(len(text)), list(text), fontsize=7)
    ax.set_yticks(range(dates.OUTPUT_LENGTH), list(dates.decode_targets(tokens[None])[0]))
    ax.set_title(repr(text), fontsize=9)
fig.suptitle("Attention weights: output character (rows) over source characters (columns)")
save_figure(fig, out / "attention_heatmaps.png")
results["heatmap_examples"] = " | ".join(examples)

# %% Export a string-in, string-out SavedModel and call it from plain TensorFlow
# Tokenizing and greedy decoding are TF ops inside the signature; the version folder is written
# under a temporary name and renamed into place.
version_dir = export_date_translator(model, "16_seq2seq_attention", root=args.saved_models_dir)
reloaded = tf.saved_model.load(str(version_dir))
served = reloaded.serving_default(tf.constant(test_texts[:64]))["iso_date"].numpy()
results["saved_model"] = str(version_dir)
results["saved_model_strings_checked"] = len(served)
results["saved_model_mismatches_vs_greedy"] = int(
    sum(s.decode() != p for s, p in zip(served, predictions["attention"][:64]))
)
for text in examples:
    print(f"{text!r:>40} -> {reloaded.serving_default(tf.constant([text]))['iso_date'][0].numpy().decode()}")
report(results, out / "results.json", title="L16 seq2seq with attention")

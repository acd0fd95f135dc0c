"""Word embeddings: TextVectorization, Embedding, and skip-gram with negative sampling on a real corpus.

What you will learn:
- turning raw text into integer ids with `keras.layers.TextVectorization` (lower-case, strip
  punctuation, split on spaces, a vocabulary of the most frequent words) [004 4.2];
- what `keras.layers.Embedding` is: a trainable table W (vocabulary x D) whose lookup
  W[id] equals one_hot(id) @ W, without ever building the one-hot vector;
- skip-gram with negative sampling (word2vec), written out: subsampling of frequent words,
  (target, context) pairs from a window, K negative words drawn from unigram^0.75, and the loss
      loss = -log sigmoid(u_context . v_target) - sum_k log sigmoid(-u_negative_k . v_target);
- cosine nearest neighbours and analogies (a - b + c) in the trained space;
- an export for the TensorBoard embedding projector (vectors.tsv + metadata.tsv);
- why an embedding's gradient is sparse (`tf.IndexedSlices`: only the looked-up rows), and that
  tfcourse's Adam / Adagrad / RMSprop give the same update from it as from the dense gradient,
  while Keras's built-in Adam does not when a batch repeats a word.
The corpus is real English: the World English Bible (public domain, about 917,000 words),
read from Debian's `sword-text-web` package and prepared offline by `make data`
(`tfcourse.data.text_corpus`).

Runtime: about 1.5-2 minutes on 2 CPU cores (`--quick`: about 15-20 s with the TF import; it trains
on 200,000 pairs for 1 epoch, the full run on all 1.6 million pairs for 5 epochs).
Expected (thresholds the tests check: `--quick` in tests/lessons, the full run in
benchmarks/lessons.py's FULL_RUN_CHECKS):
- `Embedding(ids)` equals `one_hot(ids) @ W` exactly;
- the written-out skip-gram loss equals (1 + K) x Keras's BinaryCrossentropy(from_logits=True)
  to 1e-5;
- the negatives drawn by inverse-CDF sampling hit "the" as often as unigram^0.75 says (to 0.005),
  less than half as often as "the" occurs in the corpus;
- the embedding table's gradient is a `tf.IndexedSlices`; with a repeated word, tfcourse's
  Adam, Adagrad and RMSprop give the same table from it as from the dense gradient (to 1e-6)
  and Keras's built-in Adam differs by more than 1e-3;
- the skip-gram loss on a fixed probe of held-out pairs falls during training: below 0.8x its value at
  initialization (full run: below 0.65x);
- related word pairs (father/mother, gold/silver, day/night, ...) have a mean cosine similarity
  (of mean-centered vectors) at least 0.15 above that of random word pairs (full run: 0.3),
  while in the untrained table the gap is under 0.1 in size (the control: with 16 pairs of
  random 64-d vectors its standard deviation is about 0.03); after the short `--quick`
  training, random pairs have a mean cosine above 0.3 before centering (a direction all vectors
  share; it shrinks with longer training, see the full run's
  `random_pairs_mean_cosine_uncentered`);
- full run: at least 2 of the 6 analogies (king - man + woman = queen, ...) put the expected
  word in the top 5, and the expected word's median rank among the 6,000 words is 25 or better,
  against over 1,000 in the untrained table (the control). The `--quick` run is too short for
  analogies; it only prints them.
Notes followed: 004 4.2 (word embeddings and NLP; the notes give only the heading, so this
lesson follows Mikolov et al. 2013, "Distributed representations of words and phrases", and
the TensorFlow word2vec tutorial).
"""

# %% Setup
import keras
import numpy as np
import tensorflow as tf
from keras import ops

import tfcourse.optimizers
from tfcourse.data.text_corpus import CORPUS_NAME, load_corpus
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.projector import read_projector_files, write_projector_files
from tfcourse.training import train

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
rng = np.random.default_rng(args.seed)
out = output_dir(args, "15_word_embeddings")
results = {}
VOCABULARY_SIZE = 6_000  # ids 0 (padding) and 1 ([UNK]) included
EMBEDDING_DIM = 64
WINDOW = 3  # context words on each side of the target
NEGATIVES = 5  # K noise words per (target, context) pair
SUBSAMPLING = 1e-4  # Mikolov's t: frequent words are kept with probability ~ sqrt(t / frequency)
BATCH_SIZE = 1024
EPOCHS = 1 if args.quick else 5
PAIRS = 200_000 if args.quick else None  # None: every pair of the corpus


# %% 1. The corpus and TextVectorization
# `load_corpus()` reads the prepared TFDS dataset (one string per verse); it never downloads.
verses = load_corpus()
vectorizer = keras.layers.TextVectorization(
    max_tokens=VOCABULARY_SIZE, standardize="lower_and_strip_punctuation", ragged=True
)
vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(verses)).batch(4096))
vocabulary = [str(word) for word in vectorizer.get_vocabulary()]  # most frequent first; 0 = "" (padding), 1 = "[UNK]"
word_index = {word: index for index, word in enumerate(vocabulary)}
ids = vectorizer(tf.constant(list(verses)))  # a RaggedTensor: one row of ids per verse
tokens = ids.flat_values.numpy()
verse_of_token = np.repeat(np.arange(len(verses)), ids.row_lengths().numpy())
example = "In the beginning, God created the heavens and the earth."
print(f"{CORPUS_NAME}: {len(verses):,} verses, {len(tokens):,} words, vocabulary {len(vocabulary):,}")
print(f"{example!r} -> {vectorizer(tf.constant([example])).numpy()[0].tolist()}")
results["corpus_verses"] = len(verses)
results["corpus_words"] = int(len(tokens))
results["vocabulary_size"] = len(vocabulary)
results["unknown_word_fraction"] = float(np.mean(tokens == 1))


# %% 2. An Embedding is a lookup table
# Row i of the table is word i's vector: the lookup equals a one-hot vector times the table.
embedding = keras.layers.Embedding(VOCABULARY_SIZE, 8)
sample_ids = tokens[:12]
looked_up = embedding(sample_ids)
one_hot_product = ops.matmul(ops.one_hot(sample_ids, VOCABULARY_SIZE), embedding.embeddings)
results["embedding_vs_one_hot_matmul_max_abs_diff"] = float(ops.max(ops.abs(looked_up - one_hot_product)))


# %% 3. Skip-gram training pairs, written out
# Subsampling: a word of corpus frequency f is kept with probability min(1, sqrt(t/f) + t/f), so
# "the" (f ~ 0.07) is mostly dropped and rare words always stay. [UNK] is dropped too.
counts = np.bincount(tokens, minlength=VOCABULARY_SIZE).astype(np.float64)
frequency = counts / counts.sum()
with np.errstate(divide="ignore"):
    keep_probability = np.minimum(1.0, np.sqrt(SUBSAMPLING / frequency) + SUBSAMPLING / frequency)
kept = (tokens > 1) & (rng.random(len(tokens)) < keep_probability[tokens])
kept_tokens, kept_verses = tokens[kept], verse_of_token[kept]
# Every word is a target; every word within WINDOW positions of it in the same verse a context.
targets, contexts = [], []
for offset in range(1, WINDOW + 1):
    same_verse = kept_verses[:-offset] == kept_verses[offset:]
    left, right = kept_tokens[:-offset][same_verse], kept_tokens[offset:][same_verse]
    targets += [left, right]  # each pair in both directions
    contexts += [right, left]
targets, contexts = np.concatenate(targets), np.concatenate(contexts)
if PAIRS is not None:
    chosen = rng.choice(len(targets), size=PAIRS, replace=False)
    targets, contexts = targets[chosen], contexts[chosen]
order = rng.permutation(len(targets))
targets, contexts = targets[order].astype(np.int32), contexts[order].astype(np.int32)
# Negative sampling: K noise words per pair from unigram^0.75 (rarer words more often than their
# frequency), drawn afresh for every batch, so no pair sees the same negatives twice. Inverse-CDF
# sampling: draw u ~ U(0, 1) and take the first word whose cumulative probability exceeds u.
# A negative can equal the true context; with 6,000 words that is rare and harmless.
noise = counts ** 0.75
noise[:2] = 0.0  # never padding or [UNK]
noise /= noise.sum()
noise_cdf = tf.constant(np.cumsum(noise), tf.float32)


def with_negatives(target, context):
    """(target, candidates = [context, K negatives]), labels [1, 0, ..., 0] for a batch of pairs."""
    batch = tf.shape(target)[0]
    uniform = tf.random.uniform((batch * NEGATIVES,))
    negatives = tf.minimum(tf.searchsorted(noise_cdf, uniform, side="right"), VOCABULARY_SIZE - 1)
    negatives = tf.reshape(negatives, (batch, NEGATIVES))
    candidates = tf.concat([context[:, None], negatives], axis=1)  # (batch, 1 + K)
    labels = tf.concat([tf.ones((batch, 1)), tf.zeros((batch, NEGATIVES))], axis=1)
    return (target, candidates), labels


print(f"{kept.sum():,} of {len(tokens):,} words kept by subsampling; {len(targets):,} training pairs")
print("Genesis 1:1 after subsampling:", " ".join(vocabulary[t] for t in kept_tokens[kept_verses == 1]))
(_, example_candidates), _ = with_negatives(targets[:1], contexts[:1])
print("a pair:", vocabulary[targets[0]], "->", vocabulary[contexts[0]],
      "| negatives:", [vocabulary[n] for n in example_candidates.numpy()[0, 1:]])  # fmt: skip
sampled = with_negatives(targets[:20_000], contexts[:20_000])[0][1].numpy()[:, 1:].ravel()
results["negatives_most_frequent_word_share"] = float(np.mean(sampled == 2))  # "the": id 2
results["negatives_expected_most_frequent_word_share"] = float(noise[2])
results["corpus_most_frequent_word_share"] = float(frequency[2])  # ^0.75 gives it less
results["words_kept_by_subsampling"] = int(kept.sum())
results["training_pairs"] = int(len(targets))


# %% 4. The model and the loss, written out
# Two tables, as in word2vec: v (a word as target) and u (a word as context). The score of a
# (target, candidate) pair is the dot product u_candidate . v_target.
class SkipGram(keras.Model):
    """Scores (batch, 1 + K): u_candidate . v_target for the true context and K negatives."""

    def __init__(self, vocabulary_size, dim, **kwargs):
        super().__init__(**kwargs)
        self.target_embedding = keras.layers.Embedding(vocabulary_size, dim, name="target_embedding")
        self.context_embedding = keras.layers.Embedding(vocabulary_size, dim, name="context_embedding")

    def call(self, inputs):
        target, candidates = inputs
        v = self.target_embedding(target)  # (batch, D)
        u = self.context_embedding(candidates)  # (batch, 1 + K, D)
        return ops.einsum("bd,bkd->bk", v, u)


def skipgram_loss(labels, scores):
    """Per pair: -log sigmoid(score of the context) - sum over negatives of log sigmoid(-score)."""
    signs = 2.0 * labels - 1.0  # +1 for the context, -1 for a negative
    return -ops.sum(ops.log_sigmoid(signs * scores), axis=-1)


def build_model():
    model = SkipGram(VOCABULARY_SIZE, EMBEDDING_DIM)
    model(with_negatives(targets[:1], contexts[:1])[0])  # create the weights
    return model


# The written-out loss is binary cross-entropy summed over the 1 + K columns.
# A fixed probe of 4,096 pairs, held out of training, on which the loss is measured as it trains.
PROBE = 4_096
probe = with_negatives(targets[:PROBE], contexts[:PROBE])
untrained = build_model()
probe_scores = untrained(probe[0])
written_out = ops.mean(skipgram_loss(probe[1], probe_scores))
keras_bce = keras.losses.BinaryCrossentropy(from_logits=True)(probe[1], probe_scores) * (1 + NEGATIVES)
results["skipgram_loss_vs_keras_bce_abs_diff"] = float(ops.abs(written_out - keras_bce))
untrained_table = untrained.target_embedding.embeddings.numpy()  # the control of section 7


# %% 5. The embedding's gradient is sparse
# Only the looked-up rows of the table get a gradient, so TensorFlow returns a tf.IndexedSlices
# (rows + their values), not a (vocabulary x D) tensor of mostly zeros. A word looked up twice in
# a batch gives its row twice. Adam, Adagrad and RMSprop square the gradient, so the two pieces
# a and b must be summed first: (a + b)^2, not a^2 + b^2. tfcourse's optimizers do that; a small
# case with word 3 three times in the batch shows the difference.
small_table = np.random.default_rng(args.seed).normal(size=(10, 4)).astype(np.float32)
small_ids = tf.constant([3, 3, 7, 1, 3])
small_weights = tf.constant(np.random.default_rng(args.seed + 1).normal(size=(5, 4)), tf.float32)


def table_after_steps(make_optimizer, densify, steps=3):
    layer = keras.layers.Embedding(10, 4)
    layer.build()
    layer.embeddings.assign(small_table)
    optimizer = make_optimizer()
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(small_ids) * small_weights)
        (gradient,) = tape.gradient(loss, layer.trainable_variables)
        if densify:
            gradient = tf.convert_to_tensor(gradient)
        optimizer.apply_gradients([(gradient, layer.embeddings)])
    return layer.embeddings.numpy(), type(gradient).__name__


_, results["embedding_gradient_type"] = table_after_steps(lambda: keras.optimizers.SGD(0.1), densify=False)
for name, make_optimizer in [
    ("tfcourse_adam", lambda: tfcourse.optimizers.Adam(0.1)),
    ("tfcourse_adagrad", lambda: tfcourse.optimizers.Adagrad(0.1)),
    ("tfcourse_rmsprop", lambda: tfcourse.optimizers.RMSprop(0.1)),
    ("keras_adam", lambda: keras.optimizers.Adam(0.1)),
]:
    sparse, _ = table_after_steps(make_optimizer, densify=False)
    dense, _ = table_after_steps(make_optimizer, densify=True)
    results[f"{name}_sparse_vs_dense_max_abs_diff"] = float(np.max(np.abs(sparse - dense)))
    print(f"{name}: sparse vs dense gradient, max |difference| after 3 steps: "
          f"{results[f'{name}_sparse_vs_dense_max_abs_diff']:.2e}")  # fmt: skip


# %% 6. Training through the shared engine
# The probe loss is measured before training and every few steps (the same pairs each time).
class ProbeLoss(keras.callbacks.Callback):
    """The skip-gram loss on the fixed probe pairs, at step 0 and every `every` steps."""

    def __init__(self, every):
        super().__init__()
        self.every, self.steps, self.losses, self._seen = every, [], [], 0

    def _measure(self):
        self.steps.append(self._seen)
        self.losses.append(float(ops.mean(skipgram_loss(probe[1], self.model(probe[0])))))

    def on_train_begin(self, logs=None):
        self._measure()

    def on_epoch_begin(self, epoch, logs=None):
        self._last_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        self._seen += batch - self._last_batch
        self._last_batch = batch
        if self._seen - self.steps[-1] >= self.every:
            self._measure()

    def on_train_end(self, logs=None):
        if self.steps[-1] != self._seen:
            self._measure()
        results["probe_loss_steps"] = self._seen


# Keras runs `steps_per_execution` steps per call and does not stop a call at the end of an epoch,
# so an epoch is a whole number of calls here (a few pairs are left out).
STEPS_PER_EXECUTION = 16
steps_per_epoch = (len(targets) - PROBE) // BATCH_SIZE // STEPS_PER_EXECUTION * STEPS_PER_EXECUTION
used = slice(PROBE, PROBE + steps_per_epoch * BATCH_SIZE)
pairs = tf.data.Dataset.from_tensor_slices((targets[used], contexts[used])).batch(BATCH_SIZE).map(with_negatives)
results["training_steps"] = steps_per_epoch * EPOCHS
probe_loss = ProbeLoss(every=max(1, steps_per_epoch * EPOCHS // 20))
run = train(
    build_model,
    pairs,
    epochs=EPOCHS,
    global_batch_size=BATCH_SIZE,
    optimizer=lambda: tfcourse.optimizers.Adam(0.01),  # the sparse path of section 5
    loss=skipgram_loss,
    metrics=(),
    steps_per_execution=STEPS_PER_EXECUTION,
    callbacks=[probe_loss],
)
model = run.model
results["probe_loss_at_init"] = probe_loss.losses[0]
results["probe_loss_final"] = probe_loss.losses[-1]
results["probe_loss_final_over_init"] = probe_loss.losses[-1] / probe_loss.losses[0]
print(f"probe loss: {probe_loss.losses[0]:.3f} at init ((1 + K) log 2 = {(1 + NEGATIVES) * np.log(2):.3f}),"
      f" {probe_loss.losses[-1]:.3f} after {probe_loss.steps[-1]} steps")  # fmt: skip

import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(probe_loss.steps, probe_loss.losses, marker="o")
ax.axhline((1 + NEGATIVES) * np.log(2), color="gray", linestyle="--", label="(1 + K) log 2: all scores 0")
ax.set(xlabel="training step", ylabel="skip-gram loss on the probe pairs", title="Skip-gram with negative sampling")
ax.legend()
save_figure(fig, out / "skipgram_loss.png")


# %% 7. Nearest neighbours and analogies
# Cosine similarity of the target vectors: cos(a, b) = a . b / (|a| |b|).
def unit_rows(table):
    return table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)


# Early in training the vectors share one common direction (every word is pushed the same way by
# the negatives), which makes even random words look similar: measured below, before centering. As
# in Mu & Viswanath 2018 ("all-but-the-top"), subtract the mean vector before taking cosines.
vectors = model.target_embedding.embeddings.numpy()
uncentered = unit_rows(vectors)
results["random_pairs_mean_cosine_uncentered"] = float(np.mean(np.sum(
    uncentered[rng.integers(2, 2_002, 5_000)] * uncentered[rng.integers(2, 2_002, 5_000)], axis=1)))  # fmt: skip
centered = vectors - vectors[2:].mean(axis=0)
unit = unit_rows(centered)


def nearest(query, k=5, exclude=()):
    scores = unit @ unit_rows(query[None])[0]
    scores[[0, 1, *exclude]] = -np.inf  # never padding, [UNK] or the query words
    best = np.argsort(-scores)[:k]
    return [(vocabulary[i], float(scores[i])) for i in best]


for word in ["god", "king", "father", "gold", "water", "day", "sword", "sheep"]:
    shown = ", ".join(f"{w} {s:.2f}" for w, s in nearest(centered[word_index[word]], exclude=[word_index[word]]))
    print(f"nearest to {word!r}: {shown}")
    results[f"nearest_to_{word}"] = shown

# Related pairs vs random pairs: the check that the space means something. Nearest neighbours
# are close by construction; a fixed list of related pairs is not.
RELATED = [("father", "mother"), ("son", "daughter"), ("brother", "sister"), ("king", "queen"),
           ("man", "woman"), ("gold", "silver"), ("day", "night"), ("heaven", "earth"),
           ("sheep", "goats"), ("bread", "wine"), ("east", "west"), ("north", "south"),
           ("sons", "daughters"), ("hand", "arm"), ("bronze", "iron"), ("ox", "donkey")]  # fmt: skip
RELATED = [(a, b) for a, b in RELATED if a in word_index and b in word_index]
random_pairs = rng.integers(2, 2_002, size=(5_000, 2))  # among the 2,000 most frequent words
random_pairs = random_pairs[random_pairs[:, 0] != random_pairs[:, 1]]


def related_and_random_cosines(table):
    table = unit_rows(table - table[2:].mean(axis=0))
    related = np.mean([table[word_index[a]] @ table[word_index[b]] for a, b in RELATED])
    random = np.mean(np.sum(table[random_pairs[:, 0]] * table[random_pairs[:, 1]], axis=1))
    return float(related), float(random)


related, random = related_and_random_cosines(vectors)
untrained_related, untrained_random = related_and_random_cosines(untrained_table)
results["related_pairs_count"] = len(RELATED)
results["related_pairs_mean_cosine"] = related
results["random_pairs_mean_cosine"] = random
results["related_minus_random_cosine"] = related - random
results["untrained_related_minus_random_cosine"] = untrained_related - untrained_random
print(f"mean cosine: related pairs {related:.3f}, random pairs {random:.3f} "
      f"(untrained table: {untrained_related:.3f} vs {untrained_random:.3f})")  # fmt: skip

# Analogies: b is to a as d is to c, so d ~ a - b + c ("king" - "man" + "woman" ~ "queen").
ANALOGIES = [("king", "man", "woman", "queen"), ("father", "man", "woman", "mother"),
             ("brother", "man", "woman", "sister"), ("son", "man", "woman", "daughter"),
             ("sons", "son", "daughter", "daughters"), ("kings", "king", "prince", "princes")]  # fmt: skip


def analogy(table, a, b, c, expected):
    """Top 5 words for a - b + c, and the expected word's rank among all words (1 = nearest)."""
    scores = table @ unit_rows((table[word_index[a]] - table[word_index[b]] + table[word_index[c]])[None])[0]
    scores[[0, 1, word_index[a], word_index[b], word_index[c]]] = -np.inf  # never the inputs
    top = [vocabulary[i] for i in np.argsort(-scores)[:5]]
    return top, int(np.sum(scores > scores[word_index[expected]])) + 1


untrained_unit = unit_rows(untrained_table - untrained_table[2:].mean(axis=0))
hits, ranks, untrained_ranks = 0, [], []
for a, b, c, expected in ANALOGIES:
    top, rank = analogy(unit, a, b, c, expected)
    hits += expected in top
    ranks.append(rank)
    untrained_ranks.append(analogy(untrained_unit, a, b, c, expected)[1])  # the control
    print(f"{a} - {b} + {c} = {', '.join(top)}   ({expected!r}: rank {rank} of {len(vocabulary) - 5})")
results["analogies_total"] = len(ANALOGIES)
results["analogies_expected_in_top5"] = hits
results["analogies_median_rank_of_expected"] = float(np.median(ranks))
results["untrained_analogies_median_rank_of_expected"] = float(np.median(untrained_ranks))

# A 2-D picture: the first two principal components of a few groups of words.
GROUPS = {"family": ["father", "mother", "son", "daughter", "brother", "sister", "wife", "husband"],
          "metals": ["gold", "silver", "bronze", "iron", "copper", "tin", "lead"],
          "animals": ["sheep", "goats", "cattle", "donkey", "camels", "lion", "ox", "horses"],
          "numbers": ["two", "three", "four", "five", "seven", "ten", "twelve", "hundred"]}  # fmt: skip
shown_words = [w for group in GROUPS.values() for w in group if w in word_index]
points = unit[[word_index[w] for w in shown_words]]
points = points - points.mean(axis=0)
_, _, components = np.linalg.svd(points, full_matrices=False)
xy = points @ components[:2].T
fig, ax = plt.subplots(figsize=(7, 6))
for color, (group, words) in zip(["C0", "C1", "C2", "C3"], GROUPS.items()):
    rows = [shown_words.index(w) for w in words if w in word_index]
    ax.scatter(xy[rows, 0], xy[rows, 1], color=color, label=group)
    for row in rows:
        ax.annotate(shown_words[row], xy[row], fontsize=8)
ax.set(title="Word vectors, first two principal components", xlabel="PC 1", ylabel="PC 2")
ax.legend()
save_figure(fig, out / "word_vectors_pca.png")


# %% 8. Export for the embedding projector
# vectors.tsv + metadata.tsv, one word per row (padding left out), the centered vectors. Open them in the TensorBoard
# projector or at projector.tensorflow.org ("Load"). These files are the lesson's product: a
# word -> vector lookup is not an image classifier, which is what `tfcourse.training.export`
# serves, so no SavedModel is written.
projector_dir = out / "projector"
write_projector_files(projector_dir, centered[1:], vocabulary[1:])
read_vectors, read_words = read_projector_files(projector_dir)
results["projector_rows"] = len(read_words)
results["projector_dim"] = int(read_vectors.shape[1])
results["projector_max_abs_diff"] = float(np.max(np.abs(read_vectors - centered[1:])))
results["projector_dir"] = str(projector_dir)

report(results, out / "results.json", title="Lesson 15: word embeddings")

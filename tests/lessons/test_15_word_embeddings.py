"""Smoke test: lesson L15 runs and shows its word-embedding claims (`--quick`)."""

import numpy as np

from tfcourse.projector import read_projector_files


def test_word_embeddings_lesson_quick_run(run_lesson):
    run = run_lesson("15_word_embeddings", timeout=600)  # ~20 s on an idle machine; CI may be shared
    r = run.results

    # the real corpus, vectorized
    assert r["corpus_verses"] == 37_481 and 900_000 < r["corpus_words"] < 1_000_000
    assert r["vocabulary_size"] == 6_000 and r["unknown_word_fraction"] < 0.05
    # an Embedding lookup is one_hot @ W, exactly
    assert r["embedding_vs_one_hot_matmul_max_abs_diff"] == 0.0
    assert r["training_pairs"] == 200_000
    # negatives follow unigram^0.75, which draws "the" less often than the corpus has it
    assert abs(r["negatives_most_frequent_word_share"] - r["negatives_expected_most_frequent_word_share"]) < 0.005
    assert r["negatives_expected_most_frequent_word_share"] < 0.5 * r["corpus_most_frequent_word_share"]
    # the written-out loss is (1 + K) x binary cross-entropy
    assert r["skipgram_loss_vs_keras_bce_abs_diff"] < 1e-5
    # sparse gradients: tfcourse's adaptive optimizers match the dense path, Keras's Adam does not
    assert r["embedding_gradient_type"] == "IndexedSlices"
    for name in ("adam", "adagrad", "rmsprop"):
        assert r[f"tfcourse_{name}_sparse_vs_dense_max_abs_diff"] < 1e-6, name
    assert r["keras_adam_sparse_vs_dense_max_abs_diff"] > 1e-3  # the negative control
    # the skip-gram loss falls; it starts at (1 + K) log 2 (all scores ~ 0)
    assert abs(r["probe_loss_at_init"] - 6 * np.log(2)) < 0.01
    assert r["probe_loss_final_over_init"] < 0.8
    # an epoch is whole calls of 16 steps over the pairs left after the 4,096 probe pairs
    assert r["training_steps"] == r["probe_loss_steps"] == (200_000 - 4_096) // 1024 // 16 * 16
    # related words are closer than random words; not so in the untrained table (control)
    assert r["related_pairs_count"] == 16
    assert r["related_minus_random_cosine"] > 0.15
    assert abs(r["untrained_related_minus_random_cosine"]) < 0.1  # its std is about 0.03
    assert r["random_pairs_mean_cosine_uncentered"] > 0.3  # the shared direction after a short training
    # analogies are printed; quick mode is too short to get them (checked on the full run)
    assert r["analogies_total"] == 6

    # the projector export: one row per word except padding, read back equal
    vectors, words = read_projector_files(run.out / "projector")
    assert vectors.shape == (5_999, 64) and words[0] == "[UNK]" and "god" in words
    assert r["projector_rows"] == 5_999 and r["projector_max_abs_diff"] < 1e-4
    for figure in ("skipgram_loss", "word_vectors_pca"):
        assert (run.out / f"{figure}.png").stat().st_size > 10_000, figure

"""Smoke test: lesson L16 (seq2seq with attention) runs with --quick and its quick-mode claims hold.

The >= 99% exact match and the gap to the model without attention need the full run; they are
checked by benchmarks/lessons.py's FULL_RUN_CHECKS on the committed full-run JSON.
"""

from pathlib import Path


def test_seq2seq_attention_lesson_quick_run(run_lesson):
    run = run_lesson("16_seq2seq_attention")
    r = run.results
    assert "== L16 seq2seq with attention ==" in run.stdout
    assert r["test_dates_seen_in_training"] == 0
    # The written-out attention is keras.layers.AdditiveAttention on the same (trained) weights.
    assert r["attention_max_difference_vs_keras"] < 1e-5
    assert "max |ours - keras.layers.AdditiveAttention|" in run.stdout
    # Teacher forcing trains: the loss falls from the uniform guess ln(12) = 2.48.
    assert r["attention_final_loss"] < r["attention_first_epoch_loss"] < 2.49
    # Beam search of width 1 is greedy decoding, tokens and scores.
    assert r["beam1_tokens_differing_from_greedy"] == 0
    assert r["beam1_max_score_difference_vs_greedy"] < 1e-5
    # The SavedModel, loaded by plain TensorFlow, answers strings with greedy decoding's strings.
    assert Path(r["saved_model"]).parent == run.models / "16_seq2seq_attention"
    assert r["saved_model_strings_checked"] == 64 and r["saved_model_mismatches_vs_greedy"] == 0
    assert (run.out / "attention_heatmaps.png").stat().st_size > 10_000

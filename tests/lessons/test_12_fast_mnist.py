"""Smoke test: lesson L12 builds the fast MNIST recipe trick by trick and trains it (`--quick`)."""

from pathlib import Path

SLUGS = ["baseline", "in_memory", "batch_256", "steps_per_execution", "smaller_net", "strided_stem", "no_metric",
         "warmup_cosine", "adam_betas", "label_smoothing", "bfloat16", "fused_adam", "xla"]  # fmt: skip


def test_fast_mnist_lesson_quick_run(run_lesson):
    run = run_lesson("12_fast_mnist", timeout=900)
    r = run.results

    # the baseline: capped at 1 epoch in --quick, so 99% is not reached and the lesson says so
    assert r["baseline_epochs"] == 1 and r["baseline_reached_99"] is False
    assert "99% NOT reached" in run.stdout
    assert r["baseline_test_accuracy"] > 0.5 and r["baseline_train_seconds"] > 0
    # the trick table: all thirteen rows, each trained (accuracy far above chance, 0.1)
    assert r["trick_rows"] == len(SLUGS)
    for slug in SLUGS:
        assert r[f"trick_{slug}_seconds"] > 0
        assert r[f"trick_{slug}_val_accuracy"] > 0.5, slug
    # --quick: the 1-epoch baseline of section 1 is the baseline row's run
    assert r["trick_baseline_seconds"] == r["baseline_train_seconds"]
    # both pipelines shuffle N items with the same seed: the same batches, so the same model;
    # the in-memory tensor changes the speed only (at most 2 of the 2,000 validation predictions differ)
    assert abs(r["trick_in_memory_val_accuracy"] - r["trick_baseline_val_accuracy"]) <= 1e-3
    table = (run.out / "tricks.md").read_text().splitlines()
    assert len(table) == 2 + len(SLUGS)
    assert (run.out / "tricks.png").stat().st_size > 10_000
    # the recipe's precision "auto": bfloat16 exactly where the CPU has bfloat16 instructions
    from tfcourse.training import cpu_has_native_bfloat16

    assert r["record_policy"] == ("mixed_bfloat16" if cpu_has_native_bfloat16() else "float32")
    assert f"record recipe's precision here: {r['record_policy']}" in run.stdout
    # the record recipe on 20,000 images, one epoch (header: test accuracy > 0.96 in --quick)
    assert r["record_train_images"] == 20_000
    assert r["test_accuracy"] > 0.96 and r["train_seconds"] > 0
    exported = Path(r["saved_model"])
    assert exported.parent == run.models / "12_fast_mnist"
    assert (exported / "saved_model.pb").is_file()

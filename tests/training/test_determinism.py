"""Deterministic mode: two seeded CPU runs give bit-identical weights (lesson L11).

Op determinism is process-wide and cannot be turned off, so the runs happen in a
subprocess and leave this test process untouched.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfcourse.training import enable_determinism

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import keras, numpy as np, tensorflow as tf
    from tfcourse.training import train

    # tf.data seeds combine the global seed with the op seed: seed first, then build data
    # (as lessons do), so both runs' shuffles see the same global seed.
    keras.utils.set_random_seed(123)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 4, 128)

    def build():
        return keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(), keras.layers.Dropout(0.3), keras.layers.Dense(4, activation="softmax"),
        ])

    def run(seed=123):
        data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(128, seed=7).batch(16)
        result = train(build, data, epochs=2, global_batch_size=16, seed=seed, deterministic=True)
        return result.model.get_weights()

    a, b = run(), run()
    assert all(np.array_equal(u, v) for u, v in zip(a, b)), "weights differ"
    print("BIT-IDENTICAL")
    # Negative control: the comparison can fail. Another seed gives other weights (so the two
    # identical runs above are not identical because training ignored its inputs).
    c = run(seed=124)
    assert not all(np.array_equal(u, v) for u, v in zip(a, c)), "a different seed gave the same weights"
    print("SEED-SENSITIVE")
    """
)


def test_two_seeded_runs_are_bit_identical():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "BIT-IDENTICAL" in done.stdout and "SEED-SENSITIVE" in done.stdout


def test_seed_validation():
    with pytest.raises(ValueError, match=r"`seed` must be in \[0, 4294967296\). Received: seed=-1"):
        enable_determinism(-1)
    with pytest.raises(ValueError, match="`seed` must be an integer"):
        enable_determinism(1.5)

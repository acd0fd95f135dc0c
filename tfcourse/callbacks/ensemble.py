"""Average the predictions of several models or saved checkpoints (notes 001 §6).

Introduced in lesson L05.
"""

from pathlib import Path

import keras
import numpy as np

from tfcourse._validation import check_positive_int


def ensemble_predict(models, x, batch_size=256):
    """The mean of the predicted probabilities of several models (lesson L05).

    Introduced in lesson L05 (notes 001 §6: train several models, from different
    initializations or the checkpoints of one run, and average their predictions):

        p(x) = (1 / M) * sum_m model_m(x)

    `models` holds `keras.Model`s and/or paths of `.keras` files (e.g. the per-epoch files
    of `train(..., checkpoint_dir=...)`); each must output probabilities (softmax).
    Returns a NumPy array shaped like one model's output.
    """
    models = list(models)
    if not models:
        raise ValueError("`models` must hold at least one keras.Model or .keras path. Received: models=[]")
    batch_size = check_positive_int("batch_size", batch_size)
    total = None
    for item in models:
        model = item if isinstance(item, keras.Model) else keras.saving.load_model(Path(item))
        predictions = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float64")
        total = predictions if total is None else total + predictions
    return total / len(models)

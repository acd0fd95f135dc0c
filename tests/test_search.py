"""tfcourse.search: log-uniform sampling, random search, coarse-to-fine, edge warnings, outputs."""

import csv
import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.search import LogUniform, Uniform, engine_objective, random_search, refine


def _peak_at_1e_3(params):
    return -((math.log10(params["learning_rate"]) + 3) ** 2)


def test_log_uniform_gives_each_decade_the_same_share():
    rng = np.random.default_rng(0)
    values = np.array([LogUniform(1e-6, 1e1).sample(rng) for _ in range(7000)])
    assert values.min() >= 1e-6 and values.max() <= 10
    decades = np.histogram(np.log10(values), bins=7, range=(-6, 1))[0]
    assert decades.min() > 850 and decades.max() < 1150  # ~1000 each
    uniform = np.array([Uniform(1e-6, 1e1).sample(rng) for _ in range(7000)])
    assert np.mean(uniform > 1) > 0.85  # control: a plain uniform draw wastes the small decades


def test_random_search_is_seeded_and_finds_the_peak():
    space = {"learning_rate": LogUniform(1e-6, 1e1)}
    first = random_search(_peak_at_1e_3, space, trials=40, seed=3)
    again = random_search(_peak_at_1e_3, space, trials=40, seed=3)
    assert first.trials == again.trials
    assert abs(math.log10(first.best["learning_rate"]) + 3) < 0.3
    assert first.ranked()[0]["score"] >= first.ranked()[-1]["score"]


def test_refine_narrows_around_the_best_and_fine_search_improves():
    space = {"learning_rate": LogUniform(1e-6, 1e1), "dropout": Uniform(0.0, 0.9)}
    coarse = random_search(lambda p: _peak_at_1e_3(p) - 10 * (p["dropout"] - 0.3) ** 2, space, trials=30, seed=0)
    fine_space = refine(coarse, top_k=3)
    assert fine_space["learning_rate"].low > 1e-6 and fine_space["learning_rate"].high < 10
    assert fine_space["learning_rate"].low <= coarse.best["learning_rate"] <= fine_space["learning_rate"].high
    fine = random_search(lambda p: _peak_at_1e_3(p) - 10 * (p["dropout"] - 0.3) ** 2, fine_space, trials=30, seed=1)
    assert fine.best["score"] >= coarse.best["score"]


def test_edge_warning_only_when_the_best_is_at_the_edge():
    space = {"learning_rate": LogUniform(1e-6, 1e1)}
    with pytest.warns(UserWarning, match="high edge"):
        random_search(lambda p: p["learning_rate"], space, trials=30)  # keeps rising: widen the range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        random_search(_peak_at_1e_3, space, trials=30)


def test_table_csv_and_figure(tmp_path):
    results = random_search(_peak_at_1e_3, {"learning_rate": LogUniform(1e-5, 1e-1)}, trials=6)
    assert results.table().count("\n") == 6 + 1
    rows = list(csv.DictReader(open(results.to_csv(tmp_path / "search.csv"))))
    assert len(rows) == 6 and float(rows[0]["score"]) == results.trials[0]["score"]
    figure = results.figure("learning_rate")
    assert figure.axes[0].get_xscale() == "log"


def test_clear_errors():
    with pytest.raises(ValueError, match=r"`low` must be in \(0, inf\)"):
        LogUniform(0, 1)
    with pytest.raises(ValueError, match="`high` must be > `low`"):
        Uniform(1, 1)
    with pytest.raises(ValueError, match="`trials` must be an integer >= 1"):
        random_search(_peak_at_1e_3, {"learning_rate": LogUniform(1e-3, 1)}, trials=0)
    with pytest.raises(ValueError, match="`space` must name at least one parameter"):
        random_search(_peak_at_1e_3, {}, trials=1)


def test_engine_objective_trains_through_train_and_scores_validation():
    rng = np.random.RandomState(0)
    x = rng.randn(256, 8).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    train_data = tf.data.Dataset.from_tensor_slices((x[:192], y[:192])).batch(64)
    validation = tf.data.Dataset.from_tensor_slices((x[192:], y[192:])).batch(64)

    def build(params):
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])

    objective = engine_objective(build, train_data, validation, epochs=10, global_batch_size=64,
                                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    good, useless = objective({"learning_rate": 0.05}), objective({"learning_rate": 1e-7})
    assert good > 0.85 and good > useless + 0.2

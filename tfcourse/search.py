"""Hyperparameter search the notes' way: random, log-uniform, then coarse to fine [001 §5].

Introduced in lesson L10.

    space = {"learning_rate": LogUniform(1e-6, 1e1), "l2": LogUniform(1e-6, 1e-1)}
    coarse = random_search(objective, space, trials=20, seed=0)   # objective(params) -> validation score
    fine = random_search(objective, refine(coarse, space), trials=10, seed=1)
    print(fine.table()); fine.to_csv("search.csv"); fine.figure("learning_rate")

The objective scores each trial on ONE fixed validation split (the notes: no k-fold for big
networks); `engine_objective` builds such an objective on `tfcourse.training.train`.
"""

import csv
import dataclasses
import io
import math
import warnings

import numpy as np

from tfcourse._atomic import atomic_write_text
from tfcourse._validation import check_fraction, check_positive, check_positive_int

__all__ = ["LogUniform", "SearchResults", "Uniform", "engine_objective", "random_search", "refine"]


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """A range sampled uniformly in its exponent: 10 ** uniform(log10 low, log10 high). Lesson L10.

    The notes' `lr = 10 ** uniform(-6, 1)`: each decade gets the same share of the trials,
    which a plain uniform draw over [1e-6, 10] would almost all spend in [1, 10].
    """

    low: float
    high: float

    def __post_init__(self):
        check_positive("low", self.low)
        if not self.high > self.low:
            raise ValueError(f"`high` must be > `low`. Received: low={self.low}, high={self.high}")

    def sample(self, rng):
        return float(10 ** rng.uniform(math.log10(self.low), math.log10(self.high)))

    def position(self, value):
        """Where `value` sits in the range, 0 (low end) to 1 (high end), on the sampling scale."""
        return (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))

    def narrowed(self, low, high):
        return LogUniform(max(low, self.low), min(high, self.high))

    log_scale = True


@dataclasses.dataclass(frozen=True)
class Uniform:
    """A range sampled uniformly, for parameters without a natural scale (a dropout rate). Lesson L10."""

    low: float
    high: float

    def __post_init__(self):
        if not self.high > self.low:
            raise ValueError(f"`high` must be > `low`. Received: low={self.low}, high={self.high}")

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))

    def position(self, value):
        return (value - self.low) / (self.high - self.low)

    def narrowed(self, low, high):
        return Uniform(max(low, self.low), min(high, self.high))

    log_scale = False


@dataclasses.dataclass
class SearchResults:
    """Trials of a search, best first by `table()`. Introduced in lesson L10.

    trials: list of {"trial": i, <param>: value, ..., "score": objective}; `maximize` says
    whether a higher score is better. `edge_warnings` lists the parameters whose best value lies
    in the outer `edge` fraction of its range (the optimum may lie outside: widen the range).
    """

    trials: list
    space: dict
    maximize: bool = True
    edge: float = 0.1

    def ranked(self):
        return sorted(self.trials, key=lambda t: t["score"], reverse=self.maximize)

    @property
    def best(self):
        return self.ranked()[0]

    @property
    def edge_warnings(self):
        best = self.best
        messages = []
        for name, dist in self.space.items():
            position = dist.position(best[name])
            if position < self.edge or position > 1 - self.edge:
                side = "low" if position < self.edge else "high"
                messages.append(f"best {name}={best[name]:.3g} lies at the {side} edge of [{dist.low:g}, "
                                f"{dist.high:g}]: the optimum may be outside the range; widen it")
        return messages

    def table(self, top=None):
        names = list(self.space)
        lines = ["| trial | " + " | ".join(names) + " | score |", "|---" * (len(names) + 2) + "|"]
        for t in self.ranked()[:top]:
            lines.append(f"| {t['trial']} | " + " | ".join(f"{t[n]:.3g}" for n in names) + f" | {t['score']:.4f} |")
        return "\n".join(lines)

    def to_csv(self, path):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["trial", *self.space, "score"])
        writer.writeheader()
        writer.writerows(self.trials)
        atomic_write_text(path, buffer.getvalue())
        return path

    def figure(self, name, ax=None):
        """Score against one parameter, on a log axis for a LogUniform range; the best trial marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        ax.scatter([t[name] for t in self.trials], [t["score"] for t in self.trials], s=18)
        ax.scatter([self.best[name]], [self.best["score"]], s=60, marker="*", color="red", label="best")
        if self.space[name].log_scale:
            ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("score")
        ax.legend()
        return ax.figure


def random_search(objective, space, trials, *, seed=0, maximize=True):
    """Random search [001 §5]: each trial draws every parameter from its range. Lesson L10.

        for i in range(trials): params = {name: dist.sample()}; score = objective(params)

    Random beats grid search when few parameters matter: every trial tries a new value of each.
    Warns (UserWarning) when the best value sits at the edge of its range.
    """
    check_positive_int("trials", trials)
    if not space:
        raise ValueError(f"`space` must name at least one parameter. Received: space={space!r}")
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(trials):
        params = {name: dist.sample(rng) for name, dist in space.items()}
        rows.append({"trial": index, **params, "score": float(objective(params))})
    results = SearchResults(rows, dict(space), maximize)
    for message in results.edge_warnings:
        warnings.warn(message, UserWarning, stacklevel=2)
    return results


def refine(results, space=None, *, top_k=3, margin=0.5):
    """Coarse to fine [001 §5]: a narrower space around the `top_k` best trials. Lesson L10.

        new range of each parameter = [min, max] of the top_k values, widened by `margin` of
        its width on each side (in decades for a LogUniform), clipped to the old range
    """
    check_positive_int("top_k", top_k)
    check_fraction("margin", margin)
    space = dict(space or results.space)
    top = results.ranked()[:top_k]
    narrowed = {}
    for name, dist in space.items():
        values = [t[name] for t in top]
        if dist.log_scale:
            low, high = math.log10(min(values)), math.log10(max(values))
            width = max(high - low, 0.1)
            narrowed[name] = dist.narrowed(10 ** (low - margin * width), 10 ** (high + margin * width))
        else:
            low, high = min(values), max(values)
            width = max(high - low, 1e-3 * (dist.high - dist.low))
            narrowed[name] = dist.narrowed(low - margin * width, high + margin * width)
    return narrowed


def engine_objective(build_model, train_data, validation_data, *, epochs, global_batch_size, metric="val_accuracy",
                     **train_kwargs):
    """An objective that trains one trial through `tfcourse.training.train`. Introduced in lesson L10.

    `build_model(params)` returns an uncompiled model; `params["learning_rate"]` (if present)
    sets Adam's learning rate, unless `train_kwargs` gives an `optimizer`. Every trial is scored
    by `metric` of its last epoch on the same `validation_data`.
    """
    from tfcourse.training import train

    def objective(params):
        import keras

        kwargs = dict(train_kwargs)
        if "optimizer" not in kwargs and "learning_rate" in params:
            kwargs["optimizer"] = lambda: keras.optimizers.Adam(params["learning_rate"])
        result = train(lambda: build_model(params), train_data, validation_data=validation_data, epochs=epochs,
                       global_batch_size=global_batch_size, **kwargs)
        return result.history[metric][-1]

    return objective

"""Sanity checks before a long training run [001 §2]. Introduced in lesson L10."""

import dataclasses
import math

import keras
import numpy as np

from tfcourse._validation import check_in_range, check_positive, check_positive_int

__all__ = ["SanityReport", "sanity_check"]


@dataclasses.dataclass
class SanityReport:
    """The checks `sanity_check` ran. Introduced in lesson L10.

    checks: list of dicts (name, passed, detail, counts); `passed` is True when every check that
    counts passed (the random-labels row is the notes' caveat, reported, not counted).
    """

    checks: list

    @property
    def passed(self):
        return all(c["passed"] for c in self.checks if c["counts"])

    def __getitem__(self, name):
        return next(c for c in self.checks if c["name"] == name)

    def __str__(self):
        lines = [f"sanity check: {'passed' if self.passed else 'FAILED'}"]
        for c in self.checks:
            mark = ("ok  " if c["passed"] else "FAIL") if c["counts"] else "note"
            lines.append(f"  [{mark}] {c['name']}: {c['detail']}")
        return "\n".join(lines)


def _initial_loss(model, x, y, loss):
    data_loss = float(loss(y, model(x, training=False)))
    regularization = float(sum(float(np.sum(t)) for t in model.losses)) if model.losses else 0.0
    return data_loss, regularization


def _steps_to_memorize(model, x, y, loss, learning_rate, max_steps):
    """Full-batch Adam steps until every example is classified right; None if never."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    for step in range(1, max_steps + 1):
        model.train_on_batch(x, y)
        if step % 5 == 0 and np.all(np.argmax(model.predict_on_batch(x), -1) == y):
            return step
    return None


def sanity_check(build_model, data, num_classes, *, regularization=1e-2, overfit_examples=20, max_steps=300,
                 learning_rate=1e-2, initial_loss_tolerance=0.1, seed=0):
    """The notes' checks before training for real [001 §2]. Introduced in lesson L10.

        1. with regularization off, the untrained loss is close to ln(num_classes)
           (|loss - ln C| <= initial_loss_tolerance * ln C): the classes start out equally likely;
        2. adding regularization raises the initial loss;
        3. the model overfits `overfit_examples` examples to 100% train accuracy within `max_steps`
           full-batch steps (if it cannot, something is broken);
        4. caveat (reported, not counted): the same holds with random labels, so memorizing
           a small set proves the plumbing, not that the model will generalize.

    `build_model(regularization)` returns an uncompiled model with `num_classes` logits, whose
    weight penalty is `regularization` (0 = off); `data` is (x, y) with integer labels.
    Returns a `SanityReport`.
    """
    check_positive_int("num_classes", num_classes)
    check_positive("regularization", regularization)
    check_positive_int("overfit_examples", overfit_examples)
    check_positive_int("max_steps", max_steps)
    check_in_range("initial_loss_tolerance", initial_loss_tolerance, 0, 1, low_inclusive=False)
    x, y = (np.asarray(a) for a in data)
    if len(x) < overfit_examples:
        raise ValueError(f"`data` must hold at least `overfit_examples`={overfit_examples} examples. "
                         f"Received: {len(x)} examples")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    checks = []

    keras.utils.set_random_seed(seed)
    plain_loss, _ = _initial_loss(build_model(0.0), x[:512], y[:512], loss)
    chance = math.log(num_classes)
    checks.append({"name": "initial loss vs ln(C)", "counts": True,
                   "passed": abs(plain_loss - chance) <= initial_loss_tolerance * chance,
                   "detail": f"loss {plain_loss:.4f} vs ln({num_classes}) = {chance:.4f}", "value": plain_loss})

    keras.utils.set_random_seed(seed)
    data_loss, penalty = _initial_loss(build_model(regularization), x[:512], y[:512], loss)
    checks.append({"name": "regularization raises the loss", "counts": True,
                   "passed": data_loss + penalty > plain_loss and penalty > 0,
                   "detail": f"{plain_loss:.4f} -> {data_loss + penalty:.4f} (penalty {penalty:.4f})",
                   "value": data_loss + penalty})

    small_x, small_y = x[:overfit_examples], y[:overfit_examples]
    for name, labels, counts in (("overfits a small subset", small_y, True),
                                 ("random labels overfit too (caveat)",
                                  np.random.default_rng(seed).permutation(small_y), False)):
        keras.utils.set_random_seed(seed)
        steps = _steps_to_memorize(build_model(0.0), small_x, labels, loss, learning_rate, max_steps)
        checks.append({"name": name, "counts": counts, "passed": steps is not None, "value": steps,
                       "detail": (f"100% train accuracy on {overfit_examples} examples after {steps} steps"
                                  if steps else f"not 100% after {max_steps} steps")})
    return SanityReport(checks)

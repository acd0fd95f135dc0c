"""Optimizers from the course notes, as Keras 3 optimizer subclasses.

Introduced in lesson L03. Each class is a drop-in replacement for the Keras optimizer of
the same name (same arguments, defaults and meaning) written from the notes' formulas;
importing this package registers them with `keras.saving` (package "tfcourse").

    SGD(learning_rate, momentum, nesterov)     notes 000, 001 §4.1-4.3
    EWMAMomentum(learning_rate, beta)          notes 004 §2.2.5
    Adagrad / AdaGrad                          notes 000, 001 §4.6.1
    RMSprop / RMSProp                          notes 000, 001 §4.6.2, 004 §2.2.6
    Adam                                       notes 000, 001 §4.6.3, 004 §2.2.7-8
    equivalent_learning_rate(...)              maps the three momentum forms onto each other
"""

from tfcourse.optimizers.adagrad import AdaGrad, Adagrad
from tfcourse.optimizers.adam import Adam
from tfcourse.optimizers.ewma_momentum import (
    MOMENTUM_FORMS,
    EWMAMomentum,
    equivalent_learning_rate,
)
from tfcourse.optimizers.rmsprop import RMSProp, RMSprop
from tfcourse.optimizers.sgd import SGD

__all__ = [
    "MOMENTUM_FORMS",
    "SGD",
    "AdaGrad",
    "Adagrad",
    "Adam",
    "EWMAMomentum",
    "RMSProp",
    "RMSprop",
    "equivalent_learning_rate",
]

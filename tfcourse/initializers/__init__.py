"""Weight initializers from the notes, as `keras.initializers.Initializer` subclasses.

Introduced in lesson L04 (`lessons/04_initialization.py`).

    GlorotNormal / GlorotUniform   Xavier, variance 2 / (fan_in + fan_out)   (tanh)
    HeNormal / HeUniform           variance 2 / fan_in                        (ReLU)
    LecunNormal / LecunUniform     variance 1 / fan_in
    NotesXavier / NotesHe          the notes' literal randn / sqrt(fan_in), randn / sqrt(fan_in / 2)
    RandomNormal                   N(0, 0.02)

Fans follow Keras: a Dense kernel (in, out) has fan_in = in; a Conv kernel (*window, in, out)
has fan_in = in * prod(window). An integer `seed` makes the draws reproducible.
"""

from tfcourse.initializers._base import compute_fans
from tfcourse.initializers.glorot import GlorotNormal, GlorotUniform
from tfcourse.initializers.he import HeNormal, HeUniform
from tfcourse.initializers.lecun import LecunNormal, LecunUniform
from tfcourse.initializers.notes import NotesHe, NotesXavier
from tfcourse.initializers.random_normal import RandomNormal

__all__ = [
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "NotesHe",
    "NotesXavier",
    "RandomNormal",
    "compute_fans",
]

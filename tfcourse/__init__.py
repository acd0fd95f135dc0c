"""tfcourse: a Keras 3 / TensorFlow companion to a deep-learning course.

Importing the package registers every tfcourse optimizer, initializer and layer with
`keras.saving`, so `.keras` files that use them load with no `custom_objects`.
The data tools (`tfcourse.data`) import TensorFlow Datasets only when used.
"""

__version__ = "0.1.0"

from tfcourse import initializers, layers, optimizers, schedules  # noqa: E402,F401  (registers serializables)

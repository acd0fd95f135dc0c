"""Check the first loss against ln(num_classes), and catch a loss stuck at chance (notes 001 §3).

Introduced in lesson L05.
"""

import math
import warnings

import keras

from tfcourse._validation import check_int, check_one_of, check_positive, check_positive_int


class SanityCheck(keras.callbacks.Callback):
    """The notes' first sanity checks on the loss of a softmax classifier (lesson L05).

    Introduced in lesson L05 (notes 001 §3.1, 001 §2). An untrained C-class softmax predicts
    about 1/C for every class, so its cross-entropy is -ln(1/C) = ln(C) (2.302 for C = 10):

        chance = ln(num_classes)
        first training batch:  problem if |loss - chance| > tolerance
        each epoch end:        stuck += 1 if |loss - chance| < stuck_tolerance else stuck = 0
                               problem if stuck >= stuck_epochs   (a loss that never leaves chance,
                               the ln 5 = 1.609 symptom of the notes' broken multi-GPU run)

    A problem is appended to `self.problems` and either warned about (`action="warn"`) or
    ends training (`action="stop"`, `model.stop_training = True`). The first loss includes
    any regularization penalty, so use a tolerance that covers it.

    Args:
        num_classes: int >= 2.
        tolerance: float > 0, allowed |first loss - ln(num_classes)| in nats. Defaults to 0.5.
        stuck_tolerance: float > 0, a loss this close to chance counts as stuck. Defaults to 0.01.
        stuck_epochs: int >= 1, consecutive stuck epochs before a problem. Defaults to 3.
        action: "warn" or "stop".
        monitor: the logged loss. Defaults to "loss".
    """

    def __init__(self, num_classes, tolerance=0.5, stuck_tolerance=0.01, stuck_epochs=3, action="warn",
                 monitor="loss"):
        super().__init__()
        self.num_classes = check_int("num_classes", num_classes, low=2)
        self.tolerance = float(check_positive("tolerance", tolerance))
        self.stuck_tolerance = float(check_positive("stuck_tolerance", stuck_tolerance))
        self.stuck_epochs = check_positive_int("stuck_epochs", stuck_epochs)
        self.action = check_one_of("action", action, ("warn", "stop"))
        self.monitor = monitor
        self.chance_loss = math.log(self.num_classes)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.first_loss = None
        self.stuck = 0
        self.problems = []

    def _problem(self, message):
        self.problems.append(message)
        if self.action == "stop":
            self.model.stop_training = True
        else:
            warnings.warn(message, stacklevel=3)

    def on_train_batch_end(self, batch, logs=None):
        if self.first_loss is not None or not logs or self.monitor not in logs:
            return
        self.first_loss = float(logs[self.monitor])
        if not abs(self.first_loss - self.chance_loss) <= self.tolerance:
            self._problem(
                f"SanityCheck: first-batch loss {self.first_loss:.4f} is not near ln({self.num_classes}) = "
                f"{self.chance_loss:.4f} (tolerance {self.tolerance}); check the initialization, the labels "
                "and the loss (from_logits?)."
            )

    def on_epoch_end(self, epoch, logs=None):
        if not logs or self.monitor not in logs:
            return
        loss = float(logs[self.monitor])
        self.stuck = self.stuck + 1 if abs(loss - self.chance_loss) < self.stuck_tolerance else 0
        if self.stuck == self.stuck_epochs:
            self._problem(
                f"SanityCheck: loss stuck at chance ln({self.num_classes}) = {self.chance_loss:.4f} for "
                f"{self.stuck} epochs (epoch {epoch + 1}: {loss:.4f}); the model is not learning."
            )

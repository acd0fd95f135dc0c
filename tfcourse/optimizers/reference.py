"""The notes' optimizer pseudo-code, line for line, in NumPy (a reference for tests/lessons).

Introduced in lesson L03.

Each class holds the state of ONE parameter array and has `step(x, dx) -> new x`. They
follow the notes literally (explicit m_hat / v_hat, epsilon where the notes put it) and
take options only where the Keras convention differs, so tests can show both the
difference and the mapping that removes it:

    SGDRef                 x -= lr*dx                                         001 §4.1
    MomentumRef(form=...)  "accumulate" 000, "velocity" 001 §4.2, "ewma" 004 §2.2.5
    NesterovRef            v_prev = v; v = mu*v - lr*dx; x += -mu*v_prev + (1+mu)*v  001 §4.3
    AdagradRef             cache += dx**2; x -= lr*dx/(sqrt(cache) + eps)     000, 001 §4.6.1
    RMSPropRef             cache = r*cache + (1-r)*dx**2; x -= lr*dx/(sqrt(cache) + eps)
    AdamRef                m, v, m_hat = m/(1-b1**t), v_hat = v/(1-b2**t);
                           x -= lr*m_hat/(sqrt(v_hat) + eps)                  000, 004 §2.2.7

`epsilon_inside=True` puts epsilon under the root (Keras, notes 004); `initial_cache`
starts AdaGrad's cache away from 0 (Keras: 0.1); AdamRef's `epsilon` may be a function
of t (to apply the mapping eps_notes(t) = epsilon_keras / sqrt(1 - beta_2**t)).
"""

import numpy as np


class SGDRef:
    def __init__(self, lr):
        self.lr = lr

    def step(self, x, dx):
        return x - self.lr * dx


class MomentumRef:
    """The three textbook momentum forms; same trajectory iff lr_acc = lr_vel = (1-b)*lr_ewma."""

    def __init__(self, lr, beta, form="velocity"):
        self.lr, self.beta, self.form, self.v = lr, beta, form, 0.0

    def step(self, x, dx):
        if self.form == "accumulate":  # notes 000: Vx = rho*Vx + dx; x -= lr*Vx
            self.v = self.beta * self.v + dx
            return x - self.lr * self.v
        if self.form == "velocity":  # notes 001 §4.2: v = mu*v - lr*dx; x += v
            self.v = self.beta * self.v - self.lr * dx
            return x + self.v
        if self.form == "ewma":  # notes 004 §2.2.5: S = b*S + (1-b)*dW; W -= lr*S
            self.v = self.beta * self.v + (1 - self.beta) * dx
            return x - self.lr * self.v
        raise ValueError(f"unknown momentum form {self.form!r}")


class NesterovRef:
    def __init__(self, lr, mu):
        self.lr, self.mu, self.v = lr, mu, 0.0

    def step(self, x, dx):
        v_prev = self.v
        self.v = self.mu * self.v - self.lr * dx
        return x - self.mu * v_prev + (1 + self.mu) * self.v


def _denominator(cache, eps, inside):
    return np.sqrt(cache + eps) if inside else np.sqrt(cache) + eps


class AdagradRef:
    def __init__(self, lr, eps=1e-7, *, epsilon_inside=False, initial_cache=0.0):
        self.lr, self.eps, self.inside, self.cache = (
            lr,
            eps,
            epsilon_inside,
            initial_cache,
        )

    def step(self, x, dx):
        self.cache = self.cache + dx * dx
        return x - self.lr * dx / _denominator(self.cache, self.eps, self.inside)


class RMSPropRef:
    """Notes form, plus Keras's `momentum` and `centered` options (0 / False = the notes)."""

    def __init__(
        self,
        lr,
        decay_rate=0.9,
        eps=1e-7,
        *,
        epsilon_inside=False,
        momentum=0.0,
        centered=False,
    ):
        self.lr, self.rho, self.eps, self.inside = lr, decay_rate, eps, epsilon_inside
        self.momentum, self.centered = momentum, centered
        self.cache, self.mean_grad, self.m = 0.0, 0.0, 0.0

    def step(self, x, dx):
        self.cache = self.rho * self.cache + (1 - self.rho) * dx * dx
        cache = self.cache
        if self.centered:
            self.mean_grad = self.rho * self.mean_grad + (1 - self.rho) * dx
            cache = cache - self.mean_grad**2
        update = self.lr * dx / _denominator(cache, self.eps, self.inside)
        if self.momentum > 0:
            self.m = self.momentum * self.m + update
            update = self.m
        return x - update


class AdamRef:
    """Adam exactly as notes 000 writes it (explicit bias correction, t advancing from 1)."""

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8, *, amsgrad=False):
        self.lr, self.beta1, self.beta2, self.eps, self.amsgrad = (
            lr,
            beta1,
            beta2,
            eps,
            amsgrad,
        )
        self.m, self.v, self.v_max, self.t = 0.0, 0.0, 0.0, 0

    def step(self, x, dx):
        self.t += 1
        t = self.t
        self.m = self.beta1 * self.m + (1 - self.beta1) * dx
        self.v = self.beta2 * self.v + (1 - self.beta2) * dx * dx
        v = self.v
        if self.amsgrad:
            self.v_max = np.maximum(self.v_max, self.v)
            v = self.v_max
        m_hat = self.m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        eps = self.eps(t) if callable(self.eps) else self.eps
        return x - self.lr * m_hat / (np.sqrt(v_hat) + eps)


def keras_adam_epsilon(epsilon, beta2):
    """The notes' eps(t) that reproduces Keras's fixed "epsilon hat": epsilon / sqrt(1 - beta2**t)."""
    return lambda t: epsilon / np.sqrt(1 - beta2**t)

"""Checkers of chapter 7, "Gradient descent"."""

from __future__ import annotations

import numpy as np

from lmcore.exercises import exercise, expect, typical_mistake


def _hessians():
    rng = np.random.default_rng(7)
    cases = [np.array([[4.0]]), np.diag([1.0, 10.0]), np.array([[2.0, 1.0], [1.0, 3.0]])]
    for size in (3, 5):
        Q, _ = np.linalg.qr(rng.normal(size=(size, size)))
        cases.append(Q @ np.diag(rng.uniform(0.1, 20.0, size)) @ Q.T)
    # a matrix whose largest diagonal entry is not its largest eigenvalue
    cases.append(np.array([[5.0, 4.0], [4.0, 5.0]]))
    return cases


@exercise("ch07.stable_learning_rate", function_name="stable_learning_rate", points=2,
          title="The largest stable learning rate of a quadratic")
def _check_stable_learning_rate(stable_learning_rate):
    for H in _hessians():
        want = 2.0 / np.linalg.eigvalsh(H).max()
        got = stable_learning_rate(H.copy())
        expect(np.ndim(got) == 0, f"for H = {H.round(3).tolist()} return one number; yours "
                                  f"returned {got!r}.")
        got = float(got)
        expect(abs(got - want) <= 1e-9 * max(1.0, want),
               f"for H = {H.round(3).tolist()} (eigenvalues {np.linalg.eigvalsh(H).round(3).tolist()}) "
               f"the largest stable learning rate is {want:.6f}; yours is {got:.6f}. Gradient "
               f"descent multiplies each eigen-direction by 1 - lr * lambda per step.")


_check_stable_learning_rate.n_cases = len(_hessians())


@typical_mistake("ch07.stable_learning_rate")
def _one_over_lambda(hessian):
    return float(1.0 / np.linalg.eigvalsh(hessian).max())


@typical_mistake("ch07.stable_learning_rate")
def _largest_diagonal_entry(hessian):
    return float(2.0 / np.max(np.diag(hessian)))


def _adam_reference(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_cases():
    rng = np.random.default_rng(11)
    cases = []
    theta = rng.normal(size=4)
    cases.append((theta, rng.normal(size=4), np.zeros(4), np.zeros(4), 1, 0.01, 0.9, 0.999, 1e-8))
    cases.append((theta, rng.normal(size=4), rng.normal(size=4) * 0.1, rng.uniform(0, 0.1, 4), 5, 0.001,
                  0.9, 0.999, 1e-8))
    cases.append((rng.normal(size=(2, 3)), 100 * rng.normal(size=(2, 3)), np.zeros((2, 3)),
                  np.zeros((2, 3)), 1, 0.1, 0.8, 0.99, 1e-8))
    cases.append((theta, rng.normal(size=4) * 1e-3, rng.normal(size=4) * 1e-3, rng.uniform(0, 1e-6, 4), 200,
                  0.01, 0.9, 0.999, 1e-3))
    return cases


@exercise("ch07.adam_step", function_name="adam_step", points=3, title="One step of Adam",
          forbidden=("lmcore.Adam", "lmcore.optim.Adam", "torch.optim.Adam"))
def _check_adam_step(adam_step):
    for case in _adam_cases():
        theta, grad, m, v, t, lr, beta1, beta2, eps = case
        given = [a.copy() for a in (theta, grad, m, v)]
        got = adam_step(theta, grad, m, v, t, lr, beta1=beta1, beta2=beta2, eps=eps)
        expect(isinstance(got, tuple) and len(got) == 3,
               f"adam_step should return a tuple (theta, m, v); yours returned {type(got).__name__}.")
        for before, after, name in zip(given, (theta, grad, m, v), ("theta", "grad", "m", "v")):
            expect(np.array_equal(before, after), f"adam_step modified its argument {name!r} in place; "
                                                  "return new arrays instead.")
        want = _adam_reference(*case)
        setting = f"t={t}, lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps}"
        for name, w, g in zip(("m", "v"), want[1:], got[1:]):
            expect(np.shape(g) == np.shape(w) and np.allclose(g, w, rtol=1e-9, atol=1e-15),
                   f"with {setting} the new {name} should be {np.round(w, 6).tolist()}; yours is "
                   f"{np.round(np.asarray(g), 6).tolist()}. Check eq-adam-moments.")
        expect(np.shape(got[0]) == np.shape(want[0]) and np.allclose(got[0], want[0], rtol=1e-9, atol=1e-12),
               f"with {setting} the new theta should be {np.round(want[0], 6).tolist()}; yours is "
               f"{np.round(np.asarray(got[0]), 6).tolist()}. Did you divide m and v by 1 - beta^t "
               f"(the bias correction) and add eps after the square root?")


_check_adam_step.n_cases = len(_adam_cases())


@typical_mistake("ch07.adam_step")
def _no_bias_correction(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return theta - lr * m / (np.sqrt(v) + eps), m, v


@typical_mistake("ch07.adam_step")
def _eps_inside_root(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / np.sqrt(v_hat + eps), m, v


@typical_mistake("ch07.adam_step")
def _in_place(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
    return theta - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps), m, v

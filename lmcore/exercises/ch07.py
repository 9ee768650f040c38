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


def _amsgrad_reference(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """torch.optim.Adam(amsgrad=True) for one step, run on copies of the given state."""
    import torch
    param = torch.tensor(np.array(theta, dtype=float), requires_grad=True)
    optimiser = torch.optim.Adam([param], lr=lr, betas=(beta1, beta2), eps=eps, amsgrad=True)
    param.grad = torch.tensor(np.array(grad, dtype=float))
    optimiser.state[param] = {
        "step": torch.tensor(float(t - 1)),
        "exp_avg": torch.tensor(np.array(m, dtype=float)),
        "exp_avg_sq": torch.tensor(np.array(v, dtype=float)),
        "max_exp_avg_sq": torch.tensor(np.array(v_max, dtype=float)),
    }
    optimiser.step()
    state = optimiser.state[param]
    return (param.detach().numpy(), state["exp_avg"].numpy(), state["exp_avg_sq"].numpy(),
            state["max_exp_avg_sq"].numpy())


def _amsgrad_cases():
    rng = np.random.default_rng(11)
    cases = []
    theta = rng.normal(size=4)
    # the first step: every state is zero
    cases.append((theta, rng.normal(size=4), np.zeros(4), np.zeros(4), np.zeros(4), 1, 0.01,
                  0.9, 0.999, 1e-8))
    # a later step after large gradients: v_max is above the new v in some coordinates only
    v = rng.uniform(0, 0.1, 4)
    v_max = v * np.array([5.0, 1.0, 20.0, 1.0])
    cases.append((theta, rng.normal(size=4) * 0.01, rng.normal(size=4) * 0.1, v, v_max, 5,
                  0.001, 0.9, 0.999, 1e-8))
    # a matrix, other betas, a large gradient that raises v above v_max in some places
    v = rng.uniform(0, 1, (2, 3))
    cases.append((rng.normal(size=(2, 3)), 100 * rng.normal(size=(2, 3)), np.zeros((2, 3)), v,
                  2 * v, 3, 0.1, 0.8, 0.99, 1e-8))
    # late in training, a large eps
    v = rng.uniform(0, 1e-6, 4)
    cases.append((theta, rng.normal(size=4) * 1e-3, rng.normal(size=4) * 1e-3, v, 3 * v, 200,
                  0.01, 0.9, 0.999, 1e-3))
    return cases


@exercise("ch07.amsgrad_step", function_name="amsgrad_step", points=3,
          title="One step of AMSGrad",
          forbidden=("lmcore.Adam", "lmcore.optim.Adam", "torch.optim.Adam",
                     "lmcore.optim.AdamW", "torch.optim.AdamW"))
def _check_amsgrad_step(amsgrad_step):
    for case in _amsgrad_cases():
        theta, grad, m, v, v_max, t, lr, beta1, beta2, eps = case
        given = [a.copy() for a in (theta, grad, m, v, v_max)]
        got = amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=beta1, beta2=beta2, eps=eps)
        expect(isinstance(got, tuple) and len(got) == 4,
               f"amsgrad_step should return a tuple (theta, m, v, v_max); yours returned "
               f"{type(got).__name__}.")
        for before, after, name in zip(given, (theta, grad, m, v, v_max),
                                       ("theta", "grad", "m", "v", "v_max")):
            expect(np.array_equal(before, after),
                   f"amsgrad_step modified its argument {name!r} in place; return new arrays "
                   "instead.")
        want = _amsgrad_reference(*case)
        setting = f"t={t}, lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps}"
        for name, w, g in zip(("m", "v", "v_max"), want[1:], got[1:]):
            expect(np.shape(g) == np.shape(w) and np.allclose(g, w, rtol=1e-9, atol=1e-15),
                   f"with {setting} the new {name} should be {np.round(w, 6).tolist()}; yours "
                   f"is {np.round(np.asarray(g), 6).tolist()}. v_max keeps the element-wise "
                   "maximum of the old v_max and the new (uncorrected) v.")
        expect(np.shape(got[0]) == np.shape(want[0])
               and np.allclose(got[0], want[0], rtol=1e-9, atol=1e-12),
               f"with {setting} the new theta should be {np.round(want[0], 6).tolist()}; yours "
               f"is {np.round(np.asarray(got[0]), 6).tolist()}. The step divides the "
               "bias-corrected m by sqrt(v_max / (1 - beta2^t)) + eps.")


_check_amsgrad_step.n_cases = len(_amsgrad_cases())


def _moments(grad, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * grad, beta2 * v + (1 - beta2) * grad ** 2


@typical_mistake("ch07.amsgrad_step")
def _plain_adam(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)
    step = lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return theta - step, m, v, np.maximum(v_max, v)


@typical_mistake("ch07.amsgrad_step")
def _maximum_of_corrected(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)
    v_max = np.maximum(v_max, v / (1 - beta2 ** t))        # stores corrected values
    return theta - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v_max) + eps), m, v, v_max


@typical_mistake("ch07.amsgrad_step")
def _amsgrad_in_place(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
    np.maximum(v_max, v, out=v_max)
    step = lr * (m / (1 - beta1 ** t)) / (np.sqrt(v_max / (1 - beta2 ** t)) + eps)
    return theta - step, m, v, v_max

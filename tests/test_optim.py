"""Chapter 7's claims about gradient descent, momentum and Adam, and lmcore.optim against torch.

References: closed forms on quadratics (eigen-decomposition), torch.optim.SGD / torch.optim.Adam
step by step, and Hugging Face's get_linear_schedule_with_warmup for the schedule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lmcore
from lmcore.optim import SGD, Adam, gradient_descent, momentum_descent, quadratic_rate, warmup_linear_decay


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---- gradient descent on quadratics -----------------------------------------------------------

def test_gradient_descent_is_exported_and_returns_the_trajectory_from_x0():
    path = lmcore.gradient_descent(lambda x: 2 * x, np.array([[1.0, -2.0], [0.5, 3.0]]), lr=0.1, steps=7)
    assert path.shape == (8, 2, 2)
    assert np.array_equal(path[0], [[1.0, -2.0], [0.5, 3.0]])
    assert np.allclose(path[3], 0.8 ** 3 * path[0])


def test_scalar_start_gives_a_one_dimensional_trajectory():
    path = gradient_descent(lambda x: x, 1.0, lr=0.5, steps=3)
    assert path.shape == (4,) and np.allclose(path, [1, 0.5, 0.25, 0.125])


@pytest.mark.parametrize("lr, regime", [(0.49, "converges"), (0.50, "oscillates"), (0.51, "diverges")])
def test_three_regimes_on_f_equals_two_x_squared(lr, regime):
    L = 4.0  # f(x) = (L/2) x^2, so lr < 2/L = 0.5 converges
    path = gradient_descent(lambda x: L * x, np.array([1.0]), lr=lr, steps=300)[:, 0]
    if regime == "converges":
        assert abs(path[-1]) < 1e-4 and np.all(np.diff(np.abs(path)) < 0)
    elif regime == "oscillates":
        assert np.allclose(np.abs(path), 1.0)
        assert np.all(path[1:] == -path[:-1])
    else:
        assert abs(path[-1]) > 1e2 and np.all(np.diff(np.abs(path)) > 0)


def test_gradient_descent_equals_the_eigen_closed_form():
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    lambdas = np.array([0.3, 1.0, 2.5, 6.0])
    A = Q @ np.diag(lambdas) @ Q.T
    start = rng.normal(size=4)
    path = gradient_descent(lambda x: A @ x, start, lr=0.25, steps=30)
    for t in (0, 1, 10, 30):
        assert np.allclose(path[t], Q @ ((1 - 0.25 * lambdas) ** t * (Q.T @ start)), atol=1e-12)


def test_convergence_iff_lr_below_two_over_lambda_max():
    A = np.diag([1.0, 10.0])
    for lr, converges in [(0.05, True), (0.199, True), (0.201, False), (0.3, False)]:
        end = gradient_descent(lambda x: A @ x, [1.0, 1.0], lr=lr, steps=3000)[-1]
        assert (np.linalg.norm(end) < 1e-6) == converges
        assert (quadratic_rate(lr, [1.0, 10.0]) < 1) == converges


def test_best_fixed_step_gives_rate_kappa_minus_one_over_kappa_plus_one():
    for kappa in (2.0, 10.0, 100.0):
        best = 2 / (1 + kappa)
        assert quadratic_rate(best, [1.0, kappa]) == pytest.approx((kappa - 1) / (kappa + 1), abs=1e-12)
        for other in (0.9 * best, 1.1 * best):
            assert quadratic_rate(other, [1.0, kappa]) > quadratic_rate(best, [1.0, kappa])


def test_measured_rate_equals_quadratic_rate_with_and_without_momentum():
    A = np.diag([1.0, 4.0, 9.0])
    for lr, mu in [(0.1, 0.0), (0.15, 0.0), (0.1, 0.5), (0.05, 0.9)]:
        path = momentum_descent(lambda x: A @ x, [1.0, 1.0, 1.0], lr, mu, 600)
        norms = np.linalg.norm(path, axis=1)
        measured = (norms[600] / norms[400]) ** (1 / 200)
        assert measured == pytest.approx(quadratic_rate(lr, [1.0, 4.0, 9.0], mu), rel=2e-2)


def test_momentum_descent_is_the_heavy_ball_and_zero_momentum_is_plain_descent():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    grad = lambda x: A @ x  # noqa: E731
    path = momentum_descent(grad, [1.0, -1.0], 0.1, 0.8, 40)
    expected = [np.array([1.0, -1.0])]
    expected.append(expected[0] - 0.1 * grad(expected[0]))
    for _ in range(39):
        expected.append(expected[-1] - 0.1 * grad(expected[-1]) + 0.8 * (expected[-1] - expected[-2]))
    assert np.allclose(path, np.stack(expected), atol=1e-12)
    assert np.array_equal(momentum_descent(grad, [1.0, -1.0], 0.1, 0.0, 10),
                          gradient_descent(grad, [1.0, -1.0], 0.1, 10))


def test_tuned_momentum_rate_is_sqrt_kappa_minus_one_over_plus_one():
    kappa = 400.0
    mu = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    lr = 4 / (math.sqrt(kappa) + 1) ** 2
    for lam in np.linspace(1, kappa, 9):
        assert quadratic_rate(lr, [lam], mu) == pytest.approx(math.sqrt(mu), abs=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0, steps=5), "'lr' argument of gradient_descent"),
    (dict(lr=-0.1, steps=5), "'lr' argument of gradient_descent"),
    (dict(lr=0.1, steps=0), "'steps' argument of gradient_descent"),
    (dict(lr=0.1, steps=-3), "'steps' argument of gradient_descent"),
    (dict(lr=float("nan"), steps=3), "'lr' argument of gradient_descent"),
])
def test_gradient_descent_rejects_bad_lr_and_steps_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gradient_descent(lambda x: x, [1.0], **kwargs)


def test_gradient_descent_names_a_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match="same shape as x0"):
        gradient_descent(lambda x: np.zeros(3), [1.0, 2.0], lr=0.1, steps=2)
    with pytest.raises(TypeError, match="'steps' argument"):
        gradient_descent(lambda x: x, [1.0], lr=0.1, steps=2.5)
    with pytest.raises(TypeError, match="'grad_fn' argument"):
        gradient_descent("not a function", [1.0], lr=0.1, steps=2)


def test_momentum_of_one_or_more_is_rejected():
    with pytest.raises(ValueError, match="'momentum' argument of momentum_descent"):
        momentum_descent(lambda x: x, [1.0], 0.1, 1.0, 3)


# ---- optimisers against torch.optim -----------------------------------------------------------

def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 10, generator=g)
    y = torch.randint(3, (64,), generator=g)
    W0 = 0.1 * torch.randn(10, 3, generator=g)
    b0 = torch.zeros(3)
    return X, y, W0, b0


def _lockstep(make_ours, make_torch, steps=60, seed=0):
    X, y, W0, b0 = _problem(seed)
    ours = [W0.clone().requires_grad_(True), b0.clone().requires_grad_(True)]
    theirs = [W0.clone().requires_grad_(True), b0.clone().requires_grad_(True)]
    opt_ours, opt_theirs = make_ours(ours), make_torch(theirs)
    g = torch.Generator().manual_seed(seed + 1)
    worst = 0.0
    for _ in range(steps):
        rows = torch.randint(64, (16,), generator=g)
        for params, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            F.cross_entropy(X[rows] @ params[0] + params[1], y[rows]).backward()
            opt.step()
        worst = max(worst, max((a - b).abs().max().item() for a, b in zip(ours, theirs)))
    return worst


@pytest.mark.parametrize("lr, momentum", [(0.1, 0.0), (0.5, 0.0), (0.1, 0.9), (0.3, 0.5)])
def test_sgd_equals_torch_sgd_step_by_step(lr, momentum):
    worst = _lockstep(lambda p: SGD(p, lr=lr, momentum=momentum),
                      lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum))
    assert worst < 1e-6


@pytest.mark.parametrize("lr, betas, eps", [(1e-3, (0.9, 0.999), 1e-8), (0.05, (0.9, 0.999), 1e-8),
                                            (0.01, (0.8, 0.99), 1e-6), (0.01, (0.0, 0.9), 1e-8)])
def test_adam_equals_torch_adam_step_by_step(lr, betas, eps):
    worst = _lockstep(lambda p: Adam(p, lr=lr, betas=betas, eps=eps),
                      lambda p: torch.optim.Adam(p, lr=lr, betas=betas, eps=eps))
    assert worst < 1e-6


def test_adam_first_step_moves_every_coordinate_by_lr():
    w = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    opt = Adam([w], lr=0.01)
    (w * torch.tensor([5.0, -0.01, 300.0], dtype=torch.float64)).sum().backward()
    opt.step()
    assert torch.allclose((w.detach() - torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)).abs(),
                          torch.full((3,), 0.01, dtype=torch.float64), rtol=1e-5)


def test_adam_is_invariant_to_the_scale_of_the_loss():
    finals = []
    for scale in (1.0, 1000.0):
        w = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64, requires_grad=True)
        opt = Adam([w], lr=0.05, eps=0.0)
        for _ in range(30):
            opt.zero_grad()
            (scale * ((w - torch.tensor([0.2, 0.3, -0.4], dtype=torch.float64)) ** 2 * torch.tensor([1.0, 10.0, 0.1], dtype=torch.float64)).sum()).backward()
            opt.step()
        finals.append(w.detach())
    assert torch.allclose(finals[0], finals[1], atol=1e-12)


def test_optimisers_skip_parameters_without_gradients_and_zero_grad_clears():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.sum().backward()
    opt.step()
    assert torch.equal(b.detach(), torch.ones(2)) and not torch.equal(a.detach(), torch.ones(2))
    opt.zero_grad()
    assert a.grad is None


def test_optimiser_arguments_are_checked_with_clear_messages():
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="'lr' argument of SGD"):
        SGD(p, lr=0)
    with pytest.raises(ValueError, match="'momentum' argument of SGD"):
        SGD(p, lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match=r"'betas\[1\]' argument of Adam"):
        Adam(p, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="'params' argument of Adam"):
        Adam(torch.zeros(2, requires_grad=True))
    with pytest.raises(TypeError, match=r"'params\[0\]' argument of SGD"):
        SGD([torch.zeros(2)], lr=0.1)


# ---- schedule ---------------------------------------------------------------------------------

def test_warmup_linear_decay_equals_transformers_linear_schedule():
    transformers = pytest.importorskip("transformers")
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=3e-4)
    scheduler = transformers.get_linear_schedule_with_warmup(opt, num_warmup_steps=40, num_training_steps=300)
    for step in range(320):
        assert warmup_linear_decay(step, peak_lr=3e-4, warmup_steps=40, total_steps=300) == pytest.approx(
            opt.param_groups[0]["lr"], abs=1e-15)
        opt.step()
        scheduler.step()


def test_warmup_linear_decay_endpoints_and_errors():
    kwargs = dict(peak_lr=1.0, warmup_steps=10, total_steps=110)
    assert warmup_linear_decay(0, **kwargs) == 0 and warmup_linear_decay(10, **kwargs) == 1.0
    assert warmup_linear_decay(60, **kwargs) == 0.5 and warmup_linear_decay(200, **kwargs) == 0.0
    assert warmup_linear_decay(5, peak_lr=1.0, warmup_steps=0, total_steps=10) == 0.5
    with pytest.raises(ValueError, match="'total_steps' argument of warmup_linear_decay"):
        warmup_linear_decay(0, peak_lr=1.0, warmup_steps=10, total_steps=10)


# ---- AdamW (chapter 9) ------------------------------------------------------------------------

@pytest.mark.parametrize("lr, betas, eps, weight_decay", [
    (1e-3, (0.9, 0.999), 1e-8, 0.01), (0.05, (0.9, 0.999), 1e-8, 0.1),
    (0.01, (0.8, 0.99), 1e-6, 0.0), (0.01, (0.9, 0.98), 1e-6, 0.5)])
def test_adamw_equals_torch_adamw_step_by_step(lr, betas, eps, weight_decay):
    from lmcore.optim import AdamW
    worst = _lockstep(lambda p: AdamW(p, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay),
                      lambda p: torch.optim.AdamW(p, lr=lr, betas=betas, eps=eps,
                                                  weight_decay=weight_decay))
    assert worst < 1e-6


def test_adamw_decay_is_decoupled_from_the_gradient():
    """With a zero gradient Adam's step is 0, so AdamW only shrinks the weights by lr * wd;
    Adam with L2 in the loss would instead move every coordinate by about lr."""
    from lmcore.optim import AdamW
    w = torch.tensor([2.0, -4.0], requires_grad=True)
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = torch.zeros(2)
    opt.step()
    assert torch.allclose(w.detach(), torch.tensor([2.0, -4.0]) * (1 - 0.1 * 0.5))


def test_adamw_arguments_are_checked_with_clear_messages():
    from lmcore.optim import AdamW
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="'weight_decay' argument of AdamW"):
        AdamW(p, weight_decay=-0.1)
    with pytest.raises(ValueError, match=r"'betas\[0\]' argument of AdamW"):
        AdamW(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="'lr' argument of AdamW"):
        AdamW(p, lr=0)

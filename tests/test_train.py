"""lmcore.train.fit, the book's training loop (chapter 9): it learns, clips, follows its
schedule and names bad arguments."""

from __future__ import annotations

import pytest
import torch

import lmcore
from lmcore.optim import warmup_linear_decay
from lmcore.train import History, clip_grad_norm, fit, plot_history


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _problem(seed=0, n=256):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g)
    y = (X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) > 0).long()
    return X, y


def _batches(X, y, size=32):
    return [(X[i:i + size], y[i:i + size]) for i in range(0, len(X), size)]


def _loss(model, batch):
    x, y = batch
    logits = model(x)
    accuracy = (logits.argmax(-1) == y).float().mean()
    return torch.nn.functional.cross_entropy(logits, y), {"accuracy": accuracy}


def test_fit_is_exported_and_the_loss_goes_down_on_a_tiny_problem():
    torch.manual_seed(0)
    X, y = _problem()
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    held_out = _problem(seed=1, n=128)

    def evaluate(m):
        loss, metrics = _loss(m, held_out)
        return {"loss": loss, **metrics}

    history = lmcore.fit(model, _loss, _batches(X, y), steps=120, lr=0.05, progress=False,
                         evaluate=evaluate, eval_every=40)
    assert isinstance(history, History) and history.steps == 120
    assert sum(history.train_loss[-10:]) / 10 < 0.5 * sum(history.train_loss[:10]) / 10
    assert history.eval_steps == [40, 80, 120]
    assert history.final_eval["accuracy"] > 0.9
    assert set(history.train_metrics[0]) == {"accuracy"}
    assert model.training  # left in training mode


def test_schedule_is_warmup_then_linear_decay():
    X, y = _problem()
    model = torch.nn.Linear(5, 2)
    history = fit(model, _loss, _batches(X, y), steps=50, lr=0.01, warmup_steps=10,
                  progress=False)
    expected = [warmup_linear_decay(t, peak_lr=0.01, warmup_steps=10, total_steps=50)
                for t in range(50)]
    assert history.lr == pytest.approx(expected)
    assert history.lr[0] == 0.0 and max(history.lr) == pytest.approx(0.01)


def test_the_update_is_adamw_with_the_scheduled_rate_and_no_decay_on_biases():
    """Two steps of fit equal two hand-made steps of torch.optim.AdamW with the same rates,
    weight decay on the matrix only."""
    X, y = _problem()
    torch.manual_seed(3)
    ours = torch.nn.Linear(5, 2)
    theirs = torch.nn.Linear(5, 2)
    theirs.load_state_dict(ours.state_dict())
    batches = _batches(X, y)[:3]
    history = fit(ours, lambda m, b: _loss(m, b)[0], batches, steps=3, lr=0.1, warmup_steps=1,
                  weight_decay=0.3, max_grad_norm=None, progress=False)
    opt = torch.optim.AdamW([{"params": [theirs.weight], "weight_decay": 0.3},
                             {"params": [theirs.bias], "weight_decay": 0.0}],
                            lr=0.1, eps=1e-6)
    for step, batch in enumerate(batches):
        for group in opt.param_groups:
            group["lr"] = history.lr[step]
        opt.zero_grad()
        _loss(theirs, batch)[0].backward()
        opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_clip_grad_norm_equals_torch_and_clips():
    torch.manual_seed(0)
    a = [torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)]
    b = [p.detach().clone().requires_grad_() for p in a]
    for ps in (a, b):
        (sum((p ** 3).sum() for p in ps)).backward()
    norm = clip_grad_norm(a, 0.5)
    torch_norm = torch.nn.utils.clip_grad_norm_(b, 0.5)
    assert norm == pytest.approx(float(torch_norm), rel=1e-6) and norm > 0.5
    for p, q in zip(a, b):
        assert torch.allclose(p.grad, q.grad, atol=1e-7)
    after = torch.sqrt(sum((p.grad ** 2).sum() for p in a))
    assert float(after) == pytest.approx(0.5, rel=1e-4)


def test_fit_clips_every_step():
    X, y = _problem()
    model = torch.nn.Linear(5, 2)
    seen = []

    def loss_fn(m, batch):
        loss = 100 * _loss(m, batch)[0]       # large gradients
        return loss

    fit(model, loss_fn, _batches(X, y), steps=5, lr=0.01, max_grad_norm=0.1, progress=False,
        evaluate=lambda m: seen.append(torch.sqrt(sum((p.grad ** 2).sum()
                                                      for p in m.parameters()))) or {},
        eval_every=1)
    assert len(seen) == 5 and all(float(n) <= 0.1 + 1e-5 for n in seen)


def test_a_factory_gets_the_epoch_number_and_is_called_again():
    X, y = _problem(n=64)
    epochs = []

    def factory(epoch):
        epochs.append(epoch)
        return _batches(X, y)          # 2 batches per epoch

    fit(torch.nn.Linear(5, 2), _loss, factory, steps=5, lr=0.01, progress=False)
    assert epochs == [0, 1, 2]


def test_bad_arguments_are_named():
    model = torch.nn.Linear(5, 2)
    X, y = _problem(n=64)
    good = _batches(X, y)
    with pytest.raises(ValueError, match="'steps' argument of fit"):
        fit(model, _loss, good, steps=0, lr=0.1, progress=False)
    with pytest.raises(ValueError, match="'lr' argument of fit"):
        fit(model, _loss, good, steps=5, lr=-1.0, progress=False)
    with pytest.raises(ValueError, match="'warmup_steps' argument of fit"):
        fit(model, _loss, good, steps=5, lr=0.1, warmup_steps=5, progress=False)
    with pytest.raises(TypeError, match="'model' argument of fit"):
        fit("model", _loss, good, steps=5, lr=0.1, progress=False)
    with pytest.raises(TypeError, match="'loss_fn' argument of fit"):
        fit(model, lambda m, b: 3.0, good, steps=5, lr=0.1, progress=False)
    with pytest.raises(ValueError, match="'batches' argument of fit"):
        fit(model, _loss, iter(good), steps=5, lr=0.1, progress=False)
    with pytest.raises(ValueError, match="'max_grad_norm' argument of fit"):
        fit(model, _loss, good, steps=5, lr=0.1, max_grad_norm=0, progress=False)


def test_plot_history_draws_train_and_eval_curves():
    import matplotlib
    matplotlib.use("Agg")
    history = History(train_loss=[3.0, 2.5, 2.0, 1.8], lr=[0.1] * 4, grad_norm=[1.0] * 4,
                      train_metrics=[{}] * 4, eval_steps=[2, 4],
                      eval_metrics=[{"loss": 2.7}, {"loss": 2.1}])
    fig = plot_history(history, smooth=2)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3
    assert list(lines[-1].get_ydata()) == [2.7, 2.1]
    with pytest.raises(KeyError, match="no evaluation metric 'accuracy'"):
        history.eval_curve("accuracy")

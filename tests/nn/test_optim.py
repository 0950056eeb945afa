"""Optimisers against their update equations, resumption from state dicts, and LR schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.nn import (
    SGD,
    Adam,
    CosineLR,
    LinearWarmup,
    MultiStepLR,
    Parameter,
    StepLR,
    load,
    save,
)

seeds = st.integers(0, 2**32 - 1)


def quadratic_grad(p, target):
    """Gradient of 0.5 ||p - target||^2 written into p.grad, as backward() would."""
    p.grad = p.data - target


@given(seeds, st.floats(0.0, 0.95), st.floats(0.0, 0.1), st.booleans())
def test_sgd_follows_momentum_and_weight_decay_equations(seed, momentum, wd, nesterov):
    rng = np.random.default_rng(seed)
    target = rng.normal(size=3)
    p = Parameter(rng.normal(size=3))
    w, buf = p.data.copy(), None
    opt = SGD([p], lr=0.1, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    for _ in range(4):
        quadratic_grad(p, target)
        opt.step()
        g = (w - target) + wd * w  # g = grad + lambda w
        buf = g if buf is None else momentum * buf + g  # b = mu b + g
        w = w - 0.1 * ((g + momentum * buf) if nesterov else buf)
        np.testing.assert_allclose(p.data, w, rtol=1e-12)


@given(seeds, st.floats(0.0, 0.1))
def test_adam_follows_kingma_ba_algorithm_1(seed, wd):
    rng = np.random.default_rng(seed)
    target = rng.normal(size=4)
    p = Parameter(rng.normal(size=4))
    w, m, v = p.data.copy(), 0.0, 0.0
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for t in range(1, 5):
        quadratic_grad(p, target)
        opt.step()
        g = (w - target) + wd * w
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(p.data, w, rtol=1e-10)


def test_parameters_without_grad_are_left_alone_and_zero_grad_clears():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([a, b], lr=1.0, momentum=0.9)
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.data, 1.0)
    np.testing.assert_array_equal(a.data, 0.0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, 0.1, momentum=0.9), lambda ps: Adam(ps, 0.05)])
def test_resuming_from_a_saved_state_gives_the_same_trajectory(make, tmp_path):
    rng = np.random.default_rng(0)
    target, start = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))

    def run(p, opt, sched, steps):
        for _ in range(steps):
            quadratic_grad(p, target)
            opt.step()
            sched.step()

    p = Parameter(start)
    opt = make([p])
    sched = LinearWarmup(opt, 2, after=StepLR(opt, 3, gamma=0.5))
    run(p, opt, sched, 6)
    straight = p.data.copy()

    p2 = Parameter(start)
    opt2 = make([p2])
    sched2 = LinearWarmup(opt2, 2, after=StepLR(opt2, 3, gamma=0.5))
    run(p2, opt2, sched2, 3)
    ckpt = tmp_path / "ckpt.npz"
    save(ckpt, {"param": {"p": p2.data}, "opt": opt2.state_dict(), "sched": sched2.state_dict()})
    state = load(ckpt)
    p3 = Parameter(state["param"]["p"])
    opt3 = make([p3])
    sched3 = LinearWarmup(opt3, 2, after=StepLR(opt3, 3, gamma=0.5))
    opt3.load_state_dict(state["opt"])
    sched3.load_state_dict(state["sched"])
    run(p3, opt3, sched3, 3)
    np.testing.assert_allclose(p3.data, straight, rtol=1e-12)


def test_optimizer_state_dict_rejects_mismatched_state():
    opt = SGD([Parameter(np.ones(2))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="unknown parameters"):
        opt.load_state_dict({"lr": 0.1, "state": {"3": {"momentum_buffer": np.ones(2)}}})
    with pytest.raises(ValueError, match=r"must have shape \(2,\)"):
        opt.load_state_dict({"lr": 0.1, "state": {"0": {"momentum_buffer": np.ones(3)}}})


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: SGD([], lr=0.1), "at least one Tensor"),
        (lambda p: SGD([np.ones(2)], lr=0.1), "requires_grad=True"),
        (lambda p: SGD([p], lr=-1.0), "lr must be >= 0"),
        (lambda p: SGD([p], lr=0.1, momentum=1.0), r"momentum must be in \[0, 1\)"),
        (lambda p: SGD([p], lr=0.1, weight_decay=-1.0), "weight_decay must be >= 0"),
        (lambda p: Adam([p], betas=(0.9, 1.0)), "betas must be two numbers"),
        (lambda p: Adam([p], weight_decay=-1.0), "weight_decay must be >= 0"),
        (lambda p: StepLR(SGD([p], lr=0.1), 0), "step_size must be >= 1"),
        (lambda p: CosineLR(SGD([p], lr=0.1), 0), "total_steps must be >= 1"),
        (lambda p: LinearWarmup(SGD([p], lr=0.1), -1), "warmup_steps must be >= 0"),
        (lambda p: LinearWarmup(SGD([p], lr=0.1), 5, start_factor=2.0), "start_factor"),
    ],
)
def test_optimisers_and_schedules_reject_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make(Parameter(np.ones(2)))


# --------------------------------------------------------------------------- schedules
def lrs(sched, steps):
    out = [sched.optimizer.lr]
    for _ in range(steps):
        sched.step()
        out.append(sched.optimizer.lr)
    return out


def test_step_and_multistep_schedules():
    np.testing.assert_allclose(
        lrs(StepLR(SGD([Parameter([0.0])], 1.0), 2, 0.1), 4), [1, 1, 0.1, 0.1, 0.01]
    )
    multi = MultiStepLR(SGD([Parameter([0.0])], 0.02), [1, 3], gamma=0.1)
    np.testing.assert_allclose(lrs(multi, 4), [0.02, 0.002, 0.002, 0.0002, 0.0002])


def test_cosine_schedule_is_half_a_cosine_then_flat():
    sched = CosineLR(SGD([Parameter([0.0])], 2.0), total_steps=10, min_factor=0.1)
    got = lrs(sched, 12)
    expected = [
        2.0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 10) / 10))) for t in range(13)
    ]
    np.testing.assert_allclose(got, expected)


def test_linear_warmup_ramps_then_follows_the_wrapped_schedule():
    opt = SGD([Parameter([0.0])], 1.0)
    sched = LinearWarmup(opt, 4, start_factor=0.2, after=MultiStepLR(opt, [6], gamma=0.1))
    np.testing.assert_allclose(lrs(sched, 7), [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 0.1, 0.1])

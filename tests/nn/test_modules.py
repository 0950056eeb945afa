"""Modules: registration, state dicts, modes, initialisers, gradients, and a CNN that learns."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore.nn import (
    Adam,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Tensor,
    gradcheck,
    init,
    no_grad,
)
from bboxcore.nn.functional import softmax_cross_entropy

seeds = st.integers(0, 2**32 - 1)


def small_cnn(rng, n_class=4, bn=False):
    return Sequential(
        Conv2d(1, 8, 3, padding=1, rng=rng),
        *([BatchNorm2d(8)] if bn else []),
        ReLU(),
        MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(16 * 2 * 2, n_class, rng=rng),
    )


# --------------------------------------------------------------------------- registry and state
def test_parameters_are_found_in_registration_order_with_dotted_names():
    net = small_cnn(np.random.default_rng(0), bn=True)
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias", "8.weight", "8.bias",
    ]  # fmt: skip
    assert list(dict(net.named_buffers())) == ["1.running_mean", "1.running_var"]
    assert len(net.parameters()) == 8


def test_shared_parameter_is_listed_once_and_lists_of_modules_register():
    class Tied(Module):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.blocks = [Linear(2, 2, rng=rng), Linear(2, 2, rng=rng)]
            self.blocks[1].weight = self.blocks[0].weight

    names = [name for name, _ in Tied().named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.bias"]


def test_state_dict_round_trip_restores_outputs_exactly():
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(2, 1, 8, 8)).astype(np.float32))
    a, b = (
        small_cnn(np.random.default_rng(1), bn=True),
        small_cnn(np.random.default_rng(2), bn=True),
    )
    a(x)  # updates a's running statistics
    state = a.state_dict()
    before = {k: v.copy() for k, v in state.items()}
    b.load_state_dict(state)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).data, b(x).data)
    state["0.weight"][...] = 0  # state_dict returned copies: the model is untouched
    assert np.array_equal(a.state_dict()["0.weight"], before["0.weight"])


def test_load_state_dict_keeps_parameter_objects_and_rejects_mismatches():
    net = Linear(3, 2, rng=np.random.default_rng(0))
    weight = net.weight
    net.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2)})
    assert net.weight is weight and weight.dtype == np.float32
    np.testing.assert_array_equal(weight.data, 1.0)
    with pytest.raises(ValueError, match=r"missing \['bias'\]"):
        net.load_state_dict({"weight": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        net.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2), "extra": np.ones(1)})
    with pytest.raises(ValueError, match=r"state_dict\['weight'\] must have shape \(2, 3\)"):
        net.load_state_dict({"weight": np.ones((3, 2)), "bias": np.zeros(2)})
    net.load_state_dict({"weight": np.full((2, 3), 2.0)}, strict=False)
    np.testing.assert_array_equal(weight.data, 2.0)


def test_train_eval_switch_every_submodule():
    net = Sequential(Dropout(0.5, rng=np.random.default_rng(0)), Sequential(BatchNorm2d(2)))
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = Tensor(np.ones((1, 2, 2, 2)))
    np.testing.assert_allclose(net(x).data, 1 / np.sqrt(1 + 1e-5), rtol=1e-6)  # running stats
    assert all(m.training for m in net.train().modules())


def test_module_repr_shows_the_tree():
    text = repr(small_cnn(np.random.default_rng(0)))
    assert "(0): Conv2d(1, 8, kernel_size=(3, 3)" in text and "(7): Linear(64, 4)" in text


def test_module_without_forward_raises():
    with pytest.raises(NotImplementedError, match="must define forward"):
        Module()(Tensor([1.0]))


def test_layer_constructors_validate_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        Conv2d(0, 4, 3, rng=rng)
    with pytest.raises(TypeError, match="out_features must be a positive int"):
        Linear(3, 2.5, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        Linear(3, 2, rng=None)
    with pytest.raises(TypeError, match="Sequential takes Modules"):
        Sequential(ReLU(), lambda x: x)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        Dropout(2.0, rng=rng)
    with pytest.raises(ValueError, match=r"BatchNorm2d expects \(N, C, H, W\)"):
        BatchNorm2d(3)(Tensor(np.ones((2, 3))))


# --------------------------------------------------------------------------- initialisers
def test_kaiming_normal_std_is_gain_over_sqrt_fan_in():
    # He et al. 2015, Eq. 10: Var[w] = 2 / fan_in for ReLU
    conv = Conv2d(64, 128, 3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(conv.weight.data.std(), np.sqrt(2 / (64 * 9)), rtol=0.02)
    np.testing.assert_array_equal(conv.bias.data, 0.0)
    w = init.kaiming_normal_(np.empty((256, 512)), np.random.default_rng(0), mode="fan_out")
    np.testing.assert_allclose(w.std(), np.sqrt(2 / 256), rtol=0.02)


def test_normal_init_is_the_faster_rcnn_head_init_and_reproducible():
    a = init.normal_(Parameter(np.empty((100, 100))), np.random.default_rng(7))
    b = init.normal_(Parameter(np.empty((100, 100))), np.random.default_rng(7))
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_allclose(a.data.std(), init.HEAD_STD, rtol=0.03)


def test_initialisers_reject_bad_arguments():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(np.empty((2, 2)), np.random.default_rng(0), mode="avg")
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.kaiming_normal_(np.empty(3), np.random.default_rng(0))
    with pytest.raises(TypeError, match="floating Tensor or ndarray"):
        init.zeros_(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="std must be >= 0"):
        init.normal_(np.empty(3), np.random.default_rng(0), std=-1.0)


# --------------------------------------------------------------------------- module gradients
@settings(max_examples=8)  # ~160 inputs x 2 forward passes each: keep it CI-sized
@given(seeds)
def test_module_parameter_grads_match_finite_difference(seed):
    rng = np.random.default_rng(seed)
    net = Sequential(
        Conv2d(2, 3, 3, padding=1, rng=rng),
        BatchNorm2d(3),
        ReLU(),
        AvgPool2d(2),
        MaxPool2d(2, stride=1),
        Flatten(),
        Linear(3 * 2 * 2, 2, rng=rng),  # 6x6 -> avg 3x3 -> max (stride 1) 2x2
    ).astype(np.float64)
    x = rng.normal(size=(1, 2, 6, 6))
    assert gradcheck(lambda x, *params: net(x), [x, *net.parameters()])


def test_astype_converts_parameters_and_buffers():
    net = Sequential(Conv2d(1, 2, 3, rng=np.random.default_rng(0)), BatchNorm2d(2)).astype(
        np.float64
    )
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(b.dtype == np.float64 for _, b in net.named_buffers())


# --------------------------------------------------------------------------- the whole loop
def test_small_cnn_overfits_twenty_examples_to_full_accuracy():
    """The end-to-end proof that forward, backward, and the optimiser fit together."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(20, 1, 8, 8)).astype(np.float32))
    labels = np.arange(20) % 4  # random images, arbitrary labels: must be memorised
    net = small_cnn(rng)
    opt = Adam(net.parameters(), lr=1e-2)
    start = time.perf_counter()
    for _ in range(150):
        loss = softmax_cross_entropy(net(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with no_grad():
        accuracy = float((net(x).data.argmax(axis=1) == labels).mean())
    assert accuracy == 1.0, f"accuracy {accuracy} after 150 steps, loss {loss.item():.4f}"
    assert time.perf_counter() - start < 30  # "a few seconds"; generous for a shared CI box

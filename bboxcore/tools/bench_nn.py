r"""``bboxcore bench nn``: the autograd engine's kernels against the limits of the machine.

Every case is timed (median of repeated runs, float32) with one BLAS thread and
with two, and printed next to the limit it is held to, measured in the same run:

* **conv2d forward + backward** against its *GEMM floor*: the matrix products
  alone that an im2col convolution must do, on contiguous operands of the same
  shapes (K = C kh kw rows, P = N Ho Wo columns),

  .. math::
      Y = W\,\mathrm{cols}\ (F \times K \times P),\quad
      dW = dY\,\mathrm{cols}^\top\ (F \times P \times K),\quad
      d\mathrm{cols} = W^\top dY\ (K \times F \times P).

  The first layer reads the image, which needs no gradient, so it has no
  :math:`W^\top dY` (as in the detector). Bounds: 1.5x the floor with >= 16 input
  channels, 2.5x for the 3-channel first layer (where copying the image into
  columns is the cost).
* **max_pool2d / avg_pool2d**: the backward against the forward (bound: 1x), and
  the two together (moving work from one to the other changes the ratio, not the total).
* **batch norm** forward + backward (training) against one pass over the
  tensor's memory, a ``np.copyto`` of it (bound: 2x).
* **one training step** of each built-in Faster R-CNN preset (MNIST scenes
  128 px, NEON tiles 320 px, batch 2): wall time and tracemalloc peak, and the
  largest single array alive when the forward pass ends (the biggest temporary
  that the backward pass keeps).

Backward times are those of the op's ``backward`` closure as the engine calls it
(``out._backward(dout)``): the engine's own copies of ``dout`` and of leaf
gradients are not the op's cost.

Run ``bboxcore bench nn`` (the table) or ``python -m bboxcore.tools.bench_nn
--json out.json [--timer cpu] [--only WORD ...]`` (the table and the times as JSON, e.g.
to compare two trees; ``--timer cpu`` times by CPU time, steadier when the machine is
shared; ``--only pool batch_norm`` times only the cases whose name holds a word).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from bboxcore.tools.timing import Case, format_table, time_case

__all__ = ["BN_SHAPES", "CONV_CASES", "POOL_SHAPES", "THREADS", "suite_nn", "train_step_memory"]

#: BLAS threads every case is timed with.
THREADS = (1, 2)
#: (name, N, C, H, W, F, input needs a gradient, bound on time / GEMM floor); 3x3, padding 1.
CONV_CASES = (
    ("conv2d 2x16x160x160 3x3 16->32", 2, 16, 160, 160, 32, True, 1.5),
    ("conv2d 2x64x40x40 3x3 64->64", 2, 64, 40, 40, 64, True, 1.5),
    ("conv2d 2x128x40x40 3x3 128->128", 2, 128, 40, 40, 128, True, 1.5),
    ("conv2d 1x64x64x64 3x3 64->64", 1, 64, 64, 64, 64, True, 1.5),
    ("conv2d 2x3x320x320 3x3 3->16 (image)", 2, 3, 320, 320, 16, False, 2.5),
)
#: (N, C, H, W) inputs of the 2x2 / stride-2 pools: the NEON backbone's first and third blocks.
POOL_SHAPES = ((2, 16, 320, 320), (2, 64, 80, 80))
#: (N, C, H, W) inputs of batch norm: the NEON backbone's first and last blocks.
BN_SHAPES = ((2, 16, 320, 320), (2, 128, 40, 40))
#: Timed runs per case (after one warm-up).
REPEAT = 7


def _thread_limiter() -> Callable[[int], contextlib.AbstractContextManager]:
    """``limit(k)``: a context manager that runs BLAS with ``k`` threads (threadpoolctl)."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()  # found once: limit() is then ~30 us
    return lambda k: controller.limit(limits=k, user_api="blas")


def _with_threads(limit, k: int, fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with limit(k):
            fn()

    return run


def _conv_fns(rng: np.random.Generator, n, c, h, w, f, input_grad):
    """(bboxcore fwd + bwd, GEMM floor) callables of one 3x3 / padding-1 convolution."""
    from bboxcore import nn

    x = nn.Tensor(rng.standard_normal((n, c, h, w), dtype=np.float32), requires_grad=input_grad)
    weight = nn.Tensor(0.05 * rng.standard_normal((f, c, 3, 3), dtype=np.float32), True)
    bias = nn.Tensor(np.zeros(f, np.float32), requires_grad=True)
    dout = rng.standard_normal((n, f, h, w), dtype=np.float32)
    k, p = c * 9, n * h * w
    wmat = np.ascontiguousarray(weight.data.reshape(f, k))  # (F, K)
    cols = rng.standard_normal((k, p), dtype=np.float32)  # (K, P): every image's columns
    dy = np.ascontiguousarray(dout.transpose(1, 0, 2, 3).reshape(f, p))  # (F, P)

    def conv_step():
        out = nn.conv2d(x, weight, bias, padding=1)
        out._backward(dout)  # the op's backward, as the engine calls it

    def floor():
        wmat @ cols  # (F, K) @ (K, P): forward
        dy @ cols.T  # (F, P) @ (P, K): dW
        if input_grad:
            wmat.T @ dy  # (K, F) @ (F, P): dcols

    return conv_step, floor


def _pool_fns(rng: np.random.Generator, shape, pool):
    x = rng.standard_normal(shape, dtype=np.float32)
    from bboxcore import nn

    xt = nn.Tensor(x, requires_grad=True)
    out = pool(xt, 2)
    dout = rng.standard_normal(out.shape, dtype=np.float32)
    forward, backward = (lambda: pool(xt, 2)), (lambda: out._backward(dout))
    return forward, backward, (lambda: pool(xt, 2)._backward(dout))  # the last: fwd + bwd


def _bn_fns(rng: np.random.Generator, shape):
    from bboxcore import nn

    c = shape[1]
    x = nn.Tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
    gamma = nn.Tensor(np.ones(c, np.float32), requires_grad=True)
    beta = nn.Tensor(np.zeros(c, np.float32), requires_grad=True)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    dout = rng.standard_normal(shape, dtype=np.float32)
    buffer = np.empty(shape, np.float32)

    def step():
        out = nn.batch_norm(x, rm, rv, gamma, beta, training=True)
        out._backward(dout)

    return step, (lambda: np.copyto(buffer, x.data))


def _preset_step(preset: str, rng: np.random.Generator):
    """(one training step of the preset's model, its forward alone, what was built)."""
    from bboxcore.models import Target, mnist_config, neon_config
    from bboxcore.tools.synthetic import random_scenes

    config, size = {"mnist": (mnist_config(), 128), "neon": (neon_config(), 320)}[preset]
    try:
        from bboxcore.models import build_model

        model = build_model("faster_rcnn", config, seed=0)
    except ImportError:  # the registry imports every detector: one missing is not ours
        from bboxcore.models.faster_rcnn import FasterRCNN

        model = FasterRCNN(config, np.random.default_rng([0, 1]))
    images, bboxes, labels = random_scenes(rng, 2, size, config.n_class)
    targets = [Target(b, lab) for b, lab in zip(bboxes, labels)]
    params = model.parameters()

    def forward():
        return sum(model.loss(images, targets, np.random.default_rng(0)).values())

    def step():
        loss = forward()
        for p in params:
            p.grad = None
        loss.backward()

    return step, forward, f"{preset} preset, batch 2 x {size}^2 px"


def train_step_memory(preset: str, rng: np.random.Generator) -> dict:
    """Peak traced memory of one training step of a built-in preset, and its largest array.

    Parameters
    ----------
    preset : {'mnist', 'neon'}
        The model of :func:`bboxcore.models.presets.mnist_config` (2 scenes of 128 px)
        or :func:`~bboxcore.models.presets.neon_config` (2 tiles of 320 px).
    rng : numpy.random.Generator
        Source of the random scenes.

    Returns
    -------
    dict
        ``peak_mib`` (tracemalloc peak during forward + backward, above what was
        allocated before), ``largest_mib`` and ``largest_at`` (the largest single
        block alive when the forward pass ends, and the line that allocated it).

    Examples
    --------
    >>> train_step_memory("mnist", np.random.default_rng(0))["peak_mib"] > 1  # doctest: +SKIP
    True
    """
    from bboxcore.nn import workspace

    step, forward, _ = _preset_step(preset, rng)
    step()  # warm-up: lazily built state (anchors...) is not the step's memory
    workspace.clear()  # cached scratch arrays would hide the step's own allocations
    tracemalloc.start(4)
    try:
        base = tracemalloc.get_traced_memory()[0]
        loss = forward()
        snapshot = tracemalloc.take_snapshot()
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    largest = max(snapshot.traces, key=lambda t: t.size)
    # the line that asked for it, not the cache that handed it out
    frames = list(reversed(largest.traceback))  # the most recent call first
    frame = next((f for f in frames if "workspace" not in f.filename), frames[0])
    return {
        "peak_mib": (peak - base) / 2**20,
        "largest_mib": largest.size / 2**20,
        "largest_at": f"{frame.filename.split('bboxcore/')[-1]}:{frame.lineno}",
    }


def suite_nn(rng: np.random.Generator) -> list:
    """The cases of ``bboxcore bench nn`` (see the module docstring), in table order.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every input.

    Returns
    -------
    list of Case
        A ``gemm``/``copy``/``fwd`` limit row, then the ``bboxcore`` row whose note
        gives the ratio to it, per case and per BLAS thread count.

    Examples
    --------
    >>> cases = suite_nn(np.random.default_rng(0))  # doctest: +SKIP
    >>> len(cases) > 20  # doctest: +SKIP
    True
    """
    from bboxcore import nn

    limit = _thread_limiter()
    times: dict[str, float] = {}

    def record(key: str, text: str = "") -> Callable[[float], str]:
        def note(ms: float) -> str:
            times[key] = ms
            return text

        return note

    def versus(key: str, ref: str, what: str, bound: float) -> Callable[[float], str]:
        def note(ms: float) -> str:
            times[key] = ms
            ratio = ms / times[ref]
            flag = "ok" if ratio <= bound else "ABOVE"
            return f"{what} {times[ref]:.2f} ms, ratio {ratio:.2f} (bound {bound:g}, {flag})"

        return note

    conv = [(name, bound, *_conv_fns(rng, n, c, h, w, f, grad), grad)
            for name, n, c, h, w, f, grad, bound in CONV_CASES]  # fmt: skip
    pools = [(f"{pool.__name__} 2x2/2 {'x'.join(map(str, shape))}", *_pool_fns(rng, shape, pool))
             for pool in (nn.max_pool2d, nn.avg_pool2d) for shape in POOL_SHAPES]  # fmt: skip
    norms = [(f"batch_norm fwd+bwd {'x'.join(map(str, shape))}", *_bn_fns(rng, shape))
             for shape in BN_SHAPES]  # fmt: skip
    steps = []
    for preset in ("mnist", "neon"):
        try:
            steps.append((preset, *_preset_step(preset, rng)))
        except (ImportError, AttributeError, TypeError) as err:  # the models API is in flux
            steps.append((preset, None, None, f"model API unavailable: {err}"))

    def memory(preset: str) -> Callable[[float], str]:
        def note(ms: float) -> str:
            times[f"train step {preset} {THREADS[-1]}T"] = ms
            m = train_step_memory(preset, np.random.default_rng(0))
            times[f"train step {preset} peak MiB"] = m["peak_mib"]
            times[f"train step {preset} largest MiB"] = m["largest_mib"]
            return (
                f"peak {m['peak_mib']:.1f} MiB (tracemalloc); largest array "
                f"{m['largest_mib']:.1f} MiB from {m['largest_at']}"
            )

        return note

    # All one-thread cases first: after a two-thread case, OpenBLAS's idle worker keeps
    # spinning for a while and would steal the core of the next one-thread case.
    cases = []
    for k in THREADS:
        for name, bound, conv_step, floor, grad in conv:
            label = f"{name} fwd+bwd" + ("" if grad else " (no dx)")
            key = f"{label} {k}T"
            cases.append(Case("nn", label, f"gemm {k}T", _with_threads(limit, k, floor), REPEAT,
                              record(key + " floor", "GEMM floor")))  # fmt: skip
            cases.append(Case("nn", label, f"bboxcore {k}T", _with_threads(limit, k, conv_step),
                              REPEAT, versus(key, key + " floor", "floor", bound)))  # fmt: skip
        for label, fwd, bwd, both in pools:
            key = f"{label} {k}T"
            cases.append(Case("nn", label, f"fwd {k}T", _with_threads(limit, k, fwd), REPEAT,
                              record(key + " fwd")))  # fmt: skip
            cases.append(Case("nn", label, f"bwd {k}T", _with_threads(limit, k, bwd), REPEAT,
                              versus(key, key + " fwd", "fwd", 1.0)))  # fmt: skip
            cases.append(Case("nn", label, f"fwd+bwd {k}T", _with_threads(limit, k, both),
                              REPEAT, record(key + " fwd+bwd", "the whole")))  # fmt: skip
        for label, step, copy in norms:
            key = f"{label} {k}T"
            cases.append(Case("nn", label, f"copy {k}T", _with_threads(limit, k, copy), REPEAT,
                              record(key + " copy", "one pass over memory")))  # fmt: skip
            cases.append(Case("nn", label, f"bboxcore {k}T", _with_threads(limit, k, step),
                              REPEAT, versus(key, key + " copy", "copy", 2.0)))  # fmt: skip
        for preset, step, _, what in steps:
            label = f"train step {preset}"
            if step is None:
                cases.append(Case("nn", label, "skipped", lambda: None, 1, what))
                continue
            note = record(f"{label} {k}T", what) if k == THREADS[0] else memory(preset)
            cases.append(Case("nn", label, f"bboxcore {k}T", _with_threads(limit, k, step), 3,
                              note))  # fmt: skip
    suite_nn.times = times  # type: ignore[attr-defined]  # read by main() for --json
    return cases


def _median_ms(fn: Callable[[], object], repeat: int, clock: Callable[[], float]) -> float:
    """Median of ``repeat`` runs of ``fn`` by ``clock``, in ms, after one warm-up run."""
    fn()
    times = []
    for _ in range(max(1, repeat)):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return 1e3 * float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    """``python -m bboxcore.tools.bench_nn [--json PATH] [--seed S] [--only WORD ...]``.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        0.

    Raises
    ------
    SystemExit
        For ``--help`` (status 0) and unknown or malformed options (status 2),
        as :mod:`argparse` does.

    Examples
    --------
    Timing takes minutes; the options are all this example runs:

    >>> import contextlib, io
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
    ...     main(["--help"])
    >>> "--only WORD [WORD ...]" in out.getvalue()
    True
    """

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write {case: ms} to this file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timer",
        choices=("wall", "cpu"),
        default="wall",
        help="wall clock (default), or this process's CPU time: steadier on a busy machine, "
        "but a two-thread row then counts both threads",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORD",
        help="time only the cases whose name contains one of these words (e.g. pool)",
    )
    args = parser.parse_args(argv)
    cases = suite_nn(np.random.default_rng(args.seed))
    if args.only:
        cases = [c for c in cases if any(word in c.name for word in args.only)]
    if args.timer == "cpu":
        rows = [(c, _median_ms(c.fn, c.repeat, time.process_time)) for c in cases]
    else:
        rows = [(c, time_case(c)) for c in cases]
    print(format_table(rows), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(suite_nn.times, fh, indent=1)  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

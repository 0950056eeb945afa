r"""The RoI Align assignment, graded against :func:`bboxcore.roi.roi_align` (``aligned=True``).

Contract: :data:`bboxcore.grading.roi_align.contract.ROI_ALIGN_CONTRACT`; bugs:
:mod:`bboxcore.grading.roi_align.bugs`. One image's (C, H, W) feature map, RoIs
in image pixels, a fixed ``sampling_ratio`` and the aligned (half-pixel)
convention of Detectron2 (*Detection – 3 stages*, §B*; He et al. [1]_):

.. math::
    y_{r,c,i,j} = \frac{1}{g^2}\sum_{k,l=0}^{g-1}
        \mathrm{bilinear}\big(F_c,\ y_1 + (i + \tfrac{k + 0.5}{g})\,b_h,\
        x_1 + (j + \tfrac{l + 0.5}{g})\,b_w\big),\quad
    x_1 = s\,u_{x,\min} - 0.5,\ b_w = s\,(u_{x,\max} - u_{x,\min}) / p_w

Fairness: each entry is accepted within
:data:`~bboxcore.grading._common.BOUND_FACTOR` times a float32 error bound: a
sample's coordinate is off by a few ulps of the largest coordinate, which
moves its bilinear weights by as much (a value error of that times the
channel's largest magnitude), and the mean of :math:`4g^2` products adds an
ulp of the channel's magnitude per term.

References
----------
.. [1] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
   arXiv:1703.06870.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import BOUND_FACTOR, SHOW_ROWS, U32, fmt
from bboxcore.grading.arrays import ArrayAssignment
from bboxcore.grading.roi_align.bugs import ROI_ALIGN_BUGS
from bboxcore.grading.roi_align.contract import ROI_ALIGN_CONTRACT, ROI_ALIGN_SIGNATURE
from bboxcore.grading.runner import Case, Check
from bboxcore.roi import roi_align

__all__ = ["RoiAlignAssignment"]

#: Ulps of the largest coordinate by which a float32 sample position may be off.
COORD_OPS = 8
#: (ph, pw) of the random cases: square, non-square, and Faster R-CNN's 7 x 7.
OUTPUT_SIZES = ((1, 1), (2, 2), (2, 3), (3, 2), (7, 7))
#: spatial_scale of the random cases: 1, and strides 2, 4 and 16.
SCALES = (1.0, 0.5, 0.25, 0.0625)


def _case(features, rois, output_size, spatial_scale, sampling_ratio, what: str = "") -> Case:
    f = np.asarray(features, dtype=np.float64)
    f = f.reshape((1, *f.shape)) if f.ndim == 2 else f
    r = np.asarray(rois, dtype=np.float64).reshape(-1, 4)
    size = (int(output_size[0]), int(output_size[1]))
    note = (
        f"{len(r)} RoIs on a {f.shape[0]} x {f.shape[1]} x {f.shape[2]} map, output "
        f"{size[0]} x {size[1]}, spatial_scale {spatial_scale:g}, sampling_ratio {sampling_ratio}"
    )
    return Case(
        (f, r, size, float(spatial_scale), int(sampling_ratio)),
        note + (f" ({what})" if what else ""),
    )


def _ramp(h: int, w: int) -> np.ndarray:
    """One channel holding w * y + x at cell (y, x): a linear map, read exactly by bilinear."""
    return np.arange(float(h * w)).reshape(1, h, w)


class RoiAlignAssignment(ArrayAssignment):
    """RoI Align forward on one image, aligned convention, fixed sampling ratio.

    Examples
    --------
    >>> RoiAlignAssignment().arg_names()
    ['features', 'rois', 'output_size', 'spatial_scale', 'sampling_ratio']
    """

    name = "roi_align"
    function = "roi_align"
    signature = ROI_ALIGN_SIGNATURE
    contract = ROI_ALIGN_CONTRACT
    aligned = False
    large = ("300 RoIs, 8 channels, 7 x 7 bins of 2 x 2 samples within the time limit", 300)
    bugs = ROI_ALIGN_BUGS

    def reference(self, features, rois, output_size, spatial_scale, sampling_ratio):
        c = features.shape[0]
        if len(rois) == 0:
            return np.zeros((0, c, *output_size))
        r = np.concatenate([np.zeros((len(rois), 1)), rois], axis=1)
        out = roi_align(
            features[None], r, output_size, spatial_scale, int(sampling_ratio), aligned=True
        )
        return out.astype(np.float64)

    def error_bound(self, features, rois, output_size, spatial_scale, sampling_ratio):
        f = np.abs(np.asarray(features, dtype=np.float64))
        rois = np.asarray(rois, dtype=np.float64).reshape(-1, 4)
        c, h, w = f.shape
        mag = f.reshape(c, -1).max(axis=1, initial=0.0)  # (C,)
        s = np.abs(np.asarray(rois, dtype=np.float64)) * spatial_scale
        coord = 2.0 + max(h, w) + (s.max(axis=1) if len(s) else np.zeros(0))  # (R,)
        terms = 4 * sampling_ratio**2 + 8
        per = U32 * (COORD_OPS * coord[:, None] + terms) * mag[None, :]  # (R, C)
        ph, pw = output_size
        bound = np.broadcast_to(per[:, :, None, None], (len(s), c, ph, pw)).copy()
        # A sample within rounding of -1 or of H (W) may read 0 or the border cell: a jump
        # of up to |F| / g^2 per such sample (the rule "beyond -1 or H reads 0").
        g = int(sampling_ratio)
        tol = BOUND_FACTOR * COORD_OPS * U32 * coord  # (R,)
        edge = []
        for axis, n_bins, cells in ((1, ph, h), (0, pw, w)):
            lo = rois[:, axis] * spatial_scale - 0.5
            step = (rois[:, axis + 2] - rois[:, axis]) * spatial_scale / n_bins
            k = (np.arange(n_bins)[:, None] + (np.arange(g)[None, :] + 0.5) / g)[None]
            at = lo[:, None, None] + k * step[:, None, None]  # (R, n_bins, g)
            t = tol[:, None, None]
            near = (np.abs(at + 1) <= t) | (np.abs(at - cells) <= t)
            edge.append(near.sum(axis=2))  # (R, n_bins)
        ny, nx = edge[0][:, :, None], edge[1][:, None, :]
        pairs = (ny * g + nx * g - ny * nx) / g**2  # (R, ph, pw): share of samples at an edge
        return bound + pairs[:, None] * mag[None, :, None, None]

    def _expected(self, case: Case):
        last = getattr(self, "_last", None)
        if last is None or last[0] is not case:
            bound = BOUND_FACTOR * self.error_bound(*case.args) + self.REFERENCE_ATOL
            self._last = (case, self.reference(*case.args), bound)
        return self._last[1], self._last[2]

    def entry_name(self, idx: tuple) -> str:
        if len(idx) == 4:
            r, c, i, j = idx
            return f"output[{r}, {c}, {i}, {j}] (RoI {r}, channel {c}, bin ({i}, {j}))"
        return f"entry {list(idx)}"

    def judge_shape(self, case: Case, out):
        if out.status == "ok" and self._empty_ok(case, out.value):
            return None
        return super().judge_shape(case, out)

    def judge_value(self, case: Case, value):
        return None if self._empty_ok(case, value) else super().judge_value(case, value)

    def _empty_ok(self, case: Case, value) -> bool:
        """No RoIs: any empty answer (``[]`` from a list comprehension too) is right."""
        arr = self._as_array(value)[0]
        return arr is not None and arr.size == 0 and len(case.args[1]) == 0

    def shape_hint(self, got: tuple, expected: tuple) -> str:
        if len(expected) != 4:
            return f"return an array of shape {expected}; yours has shape {got}."
        r, c, ph, pw = expected
        if got == (r, ph, pw, c):
            return self.bugs["channels_last"][1]
        if got == (r, c, pw, ph):
            return self.bugs["output_size_wh"][1]
        return (
            f"return one (C, ph, pw) block per RoI: shape (R, C, ph, pw) = {expected}; yours "
            f"has shape {got}."
        )

    def valid(self, case: Case) -> bool:
        rois = case.args[1]
        return bool((rois[:, 2:] >= rois[:, :2]).all()) and case.args[0].shape[0] > 0

    DESCRIPTIONS = {
        "returns_array": "returns an array of shape (R, C, ph, pw)",
        "empty_input": "no RoIs (R = 0) gives an empty answer (of shape (0, C, ph, pw), or [])",
        "random_cases": "seeded random cases of growing size against the reference: RoIs on "
        "a 1/4-cell grid, anywhere, on a large map at stride 16, and smaller than a cell; "
        "outputs 1 x 1 to 7 x 7, sampling_ratio 1 to 3",
    }

    def edge_checks(self) -> list[Check]:
        def worked(rng):
            f = _ramp(4, 4)  # 4y + x at cell (y, x)
            yield _case(f, [[0, 0, 4, 4]], (2, 2), 1.0, 2, "the whole map: 2.5, 4.5, 10.5, 12.5")
            yield _case(f, [[1, 1, 2, 2]], (1, 1), 1.0, 1, "one cell, read at its centre: 5")

        def half_pixel(rng):
            f = rng.integers(-4, 5, size=(2, 5, 6)).astype(float)
            rois = [[1, 1, 2, 2], [0.5, 1.5, 3.5, 4], [2, 0, 5, 3]]
            yield _case(f, rois, (1, 1), 1.0, 1, "a box corner u is at u - 0.5 in cells")

        def scale(rng):
            f = rng.integers(-4, 5, size=(2, 6, 6)).astype(float)
            rois = [[0, 0, 16, 16], [4, 8, 20, 12], [10, 2, 23, 23]]
            yield _case(f, rois, (2, 2), 0.25, 2, "stride 4: image pixels times 1/4")

        def non_square(rng):
            f = rng.integers(-4, 5, size=(1, 6, 8)).astype(float)
            rois = [[0, 0, 8, 6], [1, 2, 7, 5], [2.5, 0.5, 6, 3]]
            yield _case(f, rois, (2, 3), 1.0, 2, "ph = 2 rows, pw = 3 columns; x and y differ")

        def sampling(rng):
            f = rng.integers(-4, 5, size=(2, 6, 6)).astype(float)
            rois = [[0, 0, 6, 6], [1, 1.5, 5, 4]]
            for g in (1, 2, 3):
                yield _case(f, rois, (2, 2), 1.0, g, f"{g} x {g} samples per bin")

        def border(rng):
            f = rng.integers(1, 9, size=(1, 4, 5)).astype(float)
            rois = [[0, 0, 5, 4], [-1, -1, 2, 2], [3, 2, 7, 6], [-3, 0, -1.2, 3]]
            yield _case(f, rois, (2, 2), 1.0, 2, "RoIs at and beyond the border")

        def small(rng):
            f = rng.integers(-4, 5, size=(1, 5, 5)).astype(float)
            rois = [[1, 1, 1.5, 1.25], [2.25, 2, 2.5, 2.75], [3, 3, 3, 3]]
            yield _case(f, rois, (2, 2), 1.0, 2, "RoIs smaller than a cell: not enlarged")

        return [
            Check("worked_values", "a linear map: the bin centres' values", worked),
            Check("half_pixel", "aligned: a corner u maps to u * spatial_scale - 0.5", half_pixel),
            Check("spatial_scale", "RoIs in image pixels, times spatial_scale", scale),
            Check("non_square", "output (2, 3): ph along y, pw along x", non_square),
            Check("sampling_ratio", "1, 2 and 3 samples per bin along each axis", sampling),
            Check("border", "samples clamped to the map, 0 beyond one cell outside", border),
            Check("small_rois", "RoIs smaller than one cell are not enlarged", small),
        ]

    def empty_cases(self):
        f = np.ones((2, 4, 4))
        yield _case(f, np.zeros((0, 4)), (2, 2), 1.0, 2, "R = 0")

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        if regime == "mixed":  # the large input
            f = rng.normal(size=(8, 40, 50))
            xy = rng.uniform(-8, 48 / 0.0625, (n, 2))
            wh = rng.uniform(8, 320, (n, 2))
            return _case(f, np.concatenate([xy, xy + wh], 1), (7, 7), 0.0625, 2, "random, large")
        ph, pw = OUTPUT_SIZES[int(rng.integers(len(OUTPUT_SIZES)))]
        g = int(rng.integers(1, 4))
        c = int(rng.integers(1, 4))
        if regime == "far":
            h, w, scale = int(rng.integers(20, 64)), int(rng.integers(20, 64)), 0.0625
        else:
            h, w = int(rng.integers(2, 10)), int(rng.integers(2, 10))
            scale = float(SCALES[int(rng.integers(3))])
        if regime == "grid":
            f = rng.integers(-8, 9, size=(c, h, w)).astype(float)
            xy = rng.integers(-4, 4 * max(h, w), (n, 2)) / 4.0
            wh = rng.integers(0, 4 * max(h, w), (n, 2)) / 4.0
        else:
            f = rng.normal(0.0, 3.0, size=(c, h, w))
            big = 1.0 if regime == "tiny" else max(h, w) * 0.75
            xy = rng.uniform(-1.5, max(h, w) + 0.5, (n, 2))
            wh = rng.uniform(0.0, big, (n, 2))
        rois = np.concatenate([xy, xy + wh], axis=1) / scale
        return _case(f, rois, (ph, pw), scale, g, f"random, {regime}")

    def size(self, case: Case) -> int:
        return case.args[0].shape[0] + len(case.args[1])

    def describe(self, case: Case, value, failure):
        f, rois, (ph, pw), scale, g = case.args
        index = failure.details.get("index")
        lines = [
            f"features: {f.shape[0]} x {f.shape[1]} x {f.shape[2]} (C, H, W)"
            f"{'' if f.size <= 64 else '  (in --json)'}"
        ]
        if f.size <= 64:
            for ch in range(f.shape[0]):
                lines.append(f"  channel {ch}:")
                lines += [f"    [{', '.join(fmt(v) for v in row)}]" for row in f[ch]]
        rows = list(range(min(len(rois), SHOW_ROWS)))
        if index is not None and index[0] not in rows:
            rows.append(index[0])
        lines.append("rois (x_min, y_min, x_max, y_max), in image pixels:")
        lines += [f"  {i}: [{', '.join(fmt(v) for v in rois[i])}]" for i in rows] or ["  (none)"]
        if len(rois) > len(rows):
            lines.append(f"  ... ({len(rois) - len(rows)} more rows: all of them in --json)")
        lines.append(f"output_size: ({ph}, {pw})   spatial_scale: {scale:g}   sampling_ratio: {g}")
        expected = self.reference(*case.args)
        arr = self._as_array(value)[0] if failure.kind in ("wrong", "type") else None
        if arr is not None and arr.shape == expected.shape and index is not None:
            r, ch = index[0], index[1]
            x1, y1, x2, y2 = rois[r] * scale - 0.5
            lines.append(
                f"RoI {r} in cells (after * {scale:g} - 0.5): x {fmt(x1)} to {fmt(x2)}, "
                f"y {fmt(y1)} to {fmt(y2)}; bins {fmt((y2 - y1) / ph)} x {fmt((x2 - x1) / pw)}"
            )
            lines += [
                f"your answer, RoI {r} channel {ch}: "
                + np.array2string(arr[r, ch], precision=6).replace("\n", " "),
                f"expected,    RoI {r} channel {ch}: "
                + np.array2string(expected[r, ch], precision=6).replace("\n", " "),
            ]
        else:
            lines.append(f"your answer: {failure.message}")
        lines.append(f"why: {failure.message}")
        data = {
            "features": f.tolist(),
            "rois": rois.tolist(),
            "output_size": [ph, pw],
            "spatial_scale": scale,
            "sampling_ratio": g,
            "got": arr.tolist() if arr is not None else failure.message,
            "expected": expected.tolist(),
            "why": failure.message,
            "index": index,
        }
        return lines, data

    def strategy(self):
        from hypothesis import strategies as st

        row = st.tuples(
            st.integers(-2, 12), st.integers(-2, 12), st.integers(0, 8), st.integers(0, 8)
        )

        def build(cells, rows, size, g):
            f = np.array(cells, dtype=np.float64).reshape(1, 3, 4)
            r = np.array(rows, dtype=np.float64) / 2.0
            return _case(f, np.concatenate([r[:, :2], r[:, :2] + r[:, 2:]], axis=1), size, 1.0, g)

        return st.builds(
            build,
            st.lists(st.integers(-4, 4), min_size=12, max_size=12),
            st.lists(row, min_size=1, max_size=2),
            st.sampled_from(((1, 1), (2, 2), (1, 2))),
            st.integers(1, 2),
        )

"""The roi_align assignment: correct styles pass, each catalogued mistake fails with a hint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bboxcore.cli import main
from bboxcore.grading import ASSIGNMENTS
from bboxcore.grading.roi_align.bugs import ROI_ALIGN_HINTS, buggy_roi_align
from bboxcore.roi import roi_align_reference

from .test_grading_catalogue import grade_fn

SUBMISSIONS = Path(__file__).parent / "submissions"


def separable_float32(features, rois, output_size, spatial_scale, sampling_ratio):
    """Written independently of bboxcore: per-axis bilinear weight matrices, in float32."""
    f = features.astype(np.float32)
    c, h, w = f.shape
    ph, pw = output_size
    g = sampling_ratio
    out = np.zeros((len(rois), c, ph, pw), np.float32)

    def weights(lo, hi, n, cells):
        step = (hi - lo) / n
        at = lo + (np.arange(n)[:, None] + (np.arange(g)[None, :] + np.float32(0.5)) / g) * step
        at = at.ravel().astype(np.float32)
        m = np.zeros((len(at), cells), np.float32)
        ok = (at >= -1) & (at <= cells)
        a = np.clip(at, 0, cells - 1)
        low = np.floor(a).astype(int)
        high = np.minimum(low + 1, cells - 1)
        frac = a - low
        rows = np.arange(len(at))
        np.add.at(m, (rows, low), (1 - frac) * ok)
        np.add.at(m, (rows, high), frac * ok)
        return m

    for r, box in enumerate(rois.astype(np.float32) * np.float32(spatial_scale) - 0.5):
        wy = weights(box[1], box[3], ph, h)
        wx = weights(box[0], box[2], pw, w)
        v = np.einsum("ay,cyx,bx->cab", wy, f, wx).reshape(c, ph, g, pw, g)
        out[r] = v.mean(axis=(2, 4))
    return out


def library_loops(features, rois, output_size, spatial_scale, sampling_ratio):
    """bboxcore's slow loop version (one sample at a time), as a list of lists."""
    r = np.concatenate([np.zeros((len(rois), 1)), rois], axis=1)
    out = roi_align_reference(features[None], r, output_size, spatial_scale, sampling_ratio)
    return out.reshape(len(rois), features.shape[0], *output_size).tolist()


@pytest.mark.parametrize("fn", [separable_float32, library_loops])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_styles_pass(fn, seed):
    report = grade_fn("roi_align", fn, seed=seed)
    assert report.passed and report.hint == "", report.to_text()


def test_the_worked_values():
    # a linear map 4y + x: bilinear sampling reads it exactly, so a bin is its centre's value
    f = np.arange(16.0).reshape(1, 4, 4)
    ref = ASSIGNMENTS["roi_align"].reference(f, np.array([[0.0, 0, 4, 4]]), (2, 2), 1.0, 2)
    np.testing.assert_allclose(ref[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    ref = ASSIGNMENTS["roi_align"].reference(f, np.array([[1.0, 1, 2, 2]]), (1, 1), 1.0, 1)
    np.testing.assert_allclose(ref.ravel(), [5.0])  # cell (1, 1) read at its centre


@pytest.mark.parametrize("bug", list(ROI_ALIGN_HINTS))
def test_each_catalogued_bug_fails_with_its_hint(bug):
    report = grade_fn("roi_align", lambda *args: buggy_roi_align(*args, bug=bug))
    assert not report.passed
    assert report.hint == ROI_ALIGN_HINTS[bug], report.to_text()


def test_sample_files_through_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "h"))
    out = tmp_path / "r.json"
    args = ["--examples", "10", "--no-progress", "--json", str(out)]
    good = str(SUBMISSIONS / "roi_align_correct_loop.py")
    assert main(["grade", "roi_align", good, *args]) == 0
    bad = str(SUBMISSIONS / "roi_align_bug_not_aligned.py")
    assert main(["grade", "roi_align", bad, *args]) == 1
    report = json.loads(out.read_text())
    assert report["hint"] == ROI_ALIGN_HINTS["not_aligned"]
    text = capsys.readouterr().out
    assert "Smallest counterexample" in text and "after * " in text

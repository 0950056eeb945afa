"""The documentation scripts: the notebooks' in-step check and the benchmark table's checks."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build_notebooks = _load("build_notebooks")
update_bench_docs = _load("update_bench_docs")

SOURCE = """# %% [markdown]
# # A title

# %% alt="A line going up."
import matplotlib.pyplot as plt
plt.plot([0, 1])

# %%
print(1)
"""


@pytest.fixture
def fresh(tmp_path):
    source = tmp_path / "99_demo.py"
    source.write_text(SOURCE, encoding="utf-8")
    return build_notebooks.build(source)


def _executed(nb, image=True):
    nb = copy.deepcopy(nb)
    for k, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = k + 1
        data = {"image/png": "iVBORw0KGgo="} if image and k == 0 else {"text/plain": "1"}
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    return nb


def test_alt_text_of_the_cell_header_goes_to_mystnb(fresh):
    code = [c for c in fresh.cells if c.cell_type == "code"]
    assert code[0].metadata == {"mystnb": {"image": {"alt": "A line going up."}}}
    assert code[1].metadata == {}


def test_an_executed_notebook_in_step_has_no_problem(fresh):
    assert build_notebooks.problems(_executed(fresh), fresh) == []


def test_unexecuted_stale_or_alt_less_notebooks_are_reported(fresh):
    assert any("not executed" in p for p in build_notebooks.problems(fresh, fresh))
    stale = _executed(fresh)
    stale.cells[-1].source = "print(2)"
    assert "cells differ from the source" in build_notebooks.problems(stale, fresh)
    no_alt = _executed(fresh)
    no_alt.cells[1].metadata = {}
    fresh.cells[1].metadata = {}
    assert any("without alt text" in p for p in build_notebooks.problems(no_alt, fresh))


def test_a_cell_that_raised_is_reported(fresh):
    nb = _executed(fresh)
    nb.cells[2].outputs = [nbformat.v4.new_output("error", ename="E", evalue="x", traceback=[])]
    assert any("raised" in p for p in build_notebooks.problems(nb, fresh))


def test_the_old_benchmark_table_is_reported_inconsistent():
    # docs/benchmarks.md before this script (load 7): backward 345.7 ms > whole 268.2 ms
    old = {
        "1 backbone forward": 52.3,
        "6 roi_align forward": 14.0,
        "9 backward: backbone": 165.1,
        "9 backward: all": 345.7,
        "whole iteration": 268.2,
    }
    found = update_bench_docs.consistency(old)
    assert any("'9 backward: all' 345.7 ms > 'whole iteration' 268.2 ms" in p for p in found)


def test_a_consistent_table_passes():
    times = {
        "1 backbone forward": 21.0,
        "3 proposals (decode, NMS)": 23.1,
        "9 backward: backbone": 37.1,
        "9 backward: head": 28.6,
        "9 backward: all": 92.4,
        "whole iteration": 166.2,
    }
    assert update_bench_docs.consistency(times) == []
    times["9 backward: head"] = 120.0  # a part slower than the whole backward
    assert update_bench_docs.consistency(times) != []


@pytest.mark.parametrize(
    ("note", "ms", "target", "rest", "met"),
    [
        ("target <= 6 ms", 5.8, "<= 6 ms", "", "yes"),
        ("target <= 15 ms (C++ kernel ~30 ms); keeps 1550", 23.3, "<= 15 ms (C++ kernel ~30 ms)",
         "keeps 1550", "no"),
        ("302 MFLOP, 0.93x of blas (target >= 0.5x)", 36.0, ">= 0.5x", "302 MFLOP, 0.93x of blas",
         "yes"),
        ("target: a few ms", 3.8, "a few ms", "", ""),
        ("nms() ~80%", 35.9, "", "nms() ~80%", ""),
    ],
)  # fmt: skip
def test_targets_are_read_from_the_notes(note, ms, target, rest, met):
    assert update_bench_docs.split_note(note) == (target, rest)
    assert update_bench_docs.met(target, ms, note) == met

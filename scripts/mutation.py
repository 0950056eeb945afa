"""Mutation testing of the core formula modules (``make mutation``), with mutmut 3.

mutmut copies ``bboxcore/`` and ``tests/`` into ``mutants/``, changes one operator or
constant at a time in the modules listed under ``[tool.mutmut] only_mutate`` of
pyproject.toml (``>`` <-> ``>=``, ``+`` <-> ``-``, ``n`` -> ``n + 1``, an argument dropped,
an assignment replaced by ``None``, ...) and runs the tests that reach the changed function.
A mutant is *killed* when a test fails (or the run times out), *survives* otherwise.

This driver adds three things to ``mutmut run``:

* one worker (``--max-children 1``; the machine is shared) and one module at a time, in
  the order of :data:`MODULES` (the most important first), so that a partial run is still
  a complete result for the modules it covered;
* each module against its own tests only (:data:`TESTS`: the mirrored test files and the
  convention tests), which is what a mutant must be killed by and keeps each run short;
  mutmut forgets every result when its test selection changes, so the results of each
  module are saved in ``mutants/results/MODULE.json`` as soon as its run ends; the
  modules of :data:`LEAN_MODULES`, whose mutants each run many property tests, leave out
  slow tests that a faster one duplicates and run hypothesis with fewer examples; the
  :data:`SLOW_TESTS` of a module run only on the survivors of a first pass without them;
* no string mutants: in these modules strings are argument names for error messages,
  ``np.errstate`` modes and docstrings; nor the removal of a positional string argument
  (the name an error message quotes) or of ``copy=False`` (only decides whether
  ``astype`` copies); a ``raise`` and its message are skipped by
  ``do_not_mutate_patterns`` in pyproject.toml;
* the report: per module, the mutants killed, the survivors judged equivalent (listed
  with a one-line reason in ``tests/mutation/equivalent.txt``), the score
  killed / (all - equivalent), and every survivor that is not listed. It exits 1 when a
  survivor is not listed or a score is below 98 %.

Usage::

    python scripts/mutation.py [MODULE ...]   # run the modules (default: all), then report
    python scripts/mutation.py --report [MODULE ...]   # only the report of the last run
    python scripts/mutation.py --survivors MODULE ...  # re-run the survivors (new tests)
    # a run that was interrupted (Ctrl-C, a time limit) resumes with its unrun mutants
    python scripts/mutation.py --show NAME    # the diff of one mutant

MODULE is a dotted name as in :data:`MODULES` (``encoding``, ``targets.faster_rcnn``, ...).
Run it under ``nice -n 19`` with one BLAS thread (the Makefile does).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.txt"
THRESHOLD = 0.98

#: Exit codes of mutmut's workers (mutmut.stats.status_by_exit_code).
KILLED = {1, 3, 24, -24, 36, 152, 255, -9, -11}  # a failed test, a timeout or a crash
SURVIVED = {0, 35}
NO_TESTS = {5, 33}
TIMEOUT = {24, -24, 36, 152, 255}


def only_mutate() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["mutmut"]["only_mutate"]


def module_of(path: str) -> str:
    """``bboxcore/targets/faster_rcnn.py`` -> ``targets.faster_rcnn``."""
    return path.removeprefix("bboxcore/").removesuffix(".py").replace("/", ".")


#: The order of a run: the most important modules first.
MODULES = [module_of(p) for p in only_mutate()]


def deselect(*node_ids: str) -> list[str]:
    """pytest arguments that leave out these tests (``--deselect`` each)."""
    return [a for n in node_ids for a in ("--deselect", n)]


NMS_TESTS = ["tests/test_nms.py", "tests/test_nms_conventions.py"]
LOSS_TESTS = ["tests/losses/test_conventions.py"]
COCO_TESTS = ["tests/eval/test_coco.py", "tests/eval/test_matching_conventions.py"]
#: The input checks shared by the RoI operators and their border conventions.
ROI_TESTS = ["tests/roi/test_inputs.py", "tests/roi/test_conventions.py"]
#: The tests each module's mutants are run against.
TESTS = {
    "encoding": ["tests/test_encoding.py", "tests/test_encoding_edges.py"],
    "iou": ["tests/test_iou.py", "tests/test_iou_edges.py"],
    "nms": NMS_TESTS,
    "_nms_fast": [
        *NMS_TESTS,
        # properties of NMS's definition that the loop reference has too: with 30 boxes in one
        # block they only repeat test_nms_fast_path_equals_reference (nms == nms_reference,
        # index for index), which stays, with the tests of the block, index and pair budget
        *deselect(
            *(
                f"tests/test_nms.py::test_{name}"
                for name in (
                    "nms_keep_is_a_subset_of_the_input",
                    "nms_keep_sorted_by_decreasing_score",
                    "nms_keeps_no_pair_above_thresh",
                    "nms_every_dropped_box_overlaps_a_higher_ranked_kept_box",
                    "nms_is_idempotent",
                    "nms_thresh_one_keeps_every_box",
                    "nms_thresh_zero_keeps_pairwise_non_overlapping_boxes",
                    "nms_permutation_of_input_permutes_indices",
                    "batched_nms_with_one_label_is_nms",
                    "batched_nms_equals_offset_trick_when_offsets_are_exact",
                )
            )
        ),
    ],
    "nms_variants": ["tests/test_nms_variants.py", "tests/test_nms_conventions.py"],
    "anchors": ["tests/test_anchors.py"],
    "targets.faster_rcnn": [
        "tests/targets/test_faster_rcnn.py",
        "tests/targets/test_thresholds.py",
        "tests/targets/test_dtypes.py",
    ],
    "losses._common": ["tests/losses/test_basic.py", "tests/losses/test_detection.py"],
    "losses.basic": ["tests/losses/test_basic.py"],
    "losses.focal": ["tests/losses/test_focal.py", *LOSS_TESTS],
    "losses.box": ["tests/losses/test_box.py", *LOSS_TESTS],
    "losses.detection": ["tests/losses/test_detection.py"],
    "roi._sampling": [
        *ROI_TESTS,
        "tests/roi/test_align.py",
        "tests/roi/test_pool.py",
        "tests/roi/test_prroi.py",
        # the slow tests (about 16 of the folder's 32 s) whose target a faster one pins too:
        # the align backward is the adjoint of the forward (test_align), the pool argmax is
        # the loop reference's (test_pool), PrRoI reads the map through the same products
        *deselect(
            "tests/roi/test_align.py::test_roi_align_backward_matches_finite_difference",
            "tests/roi/test_pool.py::test_roi_pool_backward_matches_finite_difference",
            "tests/roi/test_prroi.py::test_prroi_pool_backward_matches_finite_difference",
            "tests/roi/test_prroi.py::test_prroi_pool_is_the_mean_of_the_interpolated_map",
        ),
    ],
    "roi.align": [*ROI_TESTS, "tests/roi/test_align.py"],
    "roi.pool": [*ROI_TESTS, "tests/roi/test_pool.py"],
    "roi.prroi": [*ROI_TESTS, "tests/roi/test_prroi.py"],
    "eval.coco_match": COCO_TESTS,
    "eval.voc": ["tests/eval/test_voc.py", "tests/eval/test_matching_conventions.py"],
    "targets.retinanet": ["tests/targets/test_retinanet.py"],
    "targets.fcos": ["tests/targets/test_fcos.py"],
    "targets.yolo": ["tests/targets/test_yolo.py"],
    "targets.centernet": ["tests/targets/test_centernet.py"],
    "losses.yolo": ["tests/losses/test_yolo.py"],
    "losses.centernet": ["tests/losses/test_centernet.py"],
}

#: Modules whose mutants each run many property tests: their runs use the hypothesis
#: profile ``mutation-lean`` of tests/conftest.py (20 examples a test instead of 60), unless
#: HYPOTHESIS_PROFILE is set. Their survivors are judged with the same profile.
LEAN_MODULES = {"roi._sampling", "_nms_fast"}
#: Seconds a test of a lean module may take under mutation (the slowest, about 20 s on the
#: shared machine, has room for 4x; a longer test counts as a kill, like mutmut's timeouts).
LEAN_TEST_TIMEOUT = 90
#: Slow tests of a module that only its survivors run: a first pass leaves them out, a
#: second runs the first pass's survivors against the whole selection. The result is that
#: of one run (a mutant is killed if any selected test fails); a survivor costs the slow
#: tests once instead of once per mutant. Here: the tests of the index's rounding margins.
SLOW_TESTS = {
    "_nms_fast": [
        "tests/test_nms.py::test_nms_fast_path_equals_reference_when_a_tight_pair_straddles_a_cell_edge",
        "tests/test_nms.py::test_nms_fast_path_equals_reference_with_thresholds_on_computed_ious",
    ],
}


def read_equivalent() -> dict[str, str]:
    """Mutant name -> reason, from ``tests/mutation/equivalent.txt``."""
    out = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{EQUIVALENT}: no reason given for {name}")
        out[name] = reason.strip()
    return out


def _message_or_copy(arg) -> bool:
    """An argument whose mutants no test should see: a string literal passed positionally
    (the argument name an error message quotes), or ``copy=False`` (dropping it or making it
    None only decides whether ``astype`` copies; bboxcore never writes into such a result)."""
    import libcst as cst
    import libcst.matchers as m

    if arg.keyword is None and isinstance(
        arg.value, cst.SimpleString | cst.FormattedString | cst.ConcatenatedString
    ):
        return True
    return (
        arg.keyword is not None
        and arg.keyword.value == "copy"
        and m.matches(arg.value, m.Name("False"))
    )


def patch_mutmut() -> None:
    """Drop mutmut's string mutants (error messages, argument names, docstrings), and the
    argument mutants of :func:`_message_or_copy`."""
    import libcst as cst
    import libcst.matchers as m
    from mutmut.mutation import mutators

    def operator_arg_removal(node):  # mutmut's, skipping _message_or_copy arguments
        for i, arg in enumerate(node.args):
            if _message_or_copy(arg) or arg.star or m.matches(arg.value, m.Name("None")):
                continue
            none = arg.with_changes(value=cst.Name("None"))
            yield node.with_changes(args=[*node.args[:i], none, *node.args[i + 1 :]])
        if len(node.args) > 1:
            for i, arg in enumerate(node.args):
                if not _message_or_copy(arg):
                    yield node.with_changes(args=[*node.args[:i], *node.args[i + 1 :]])

    replace = {mutators.operator_arg_removal: operator_arg_removal}
    mutators.mutation_operators[:] = [
        (kind, replace.get(op, op))
        for kind, op in mutators.mutation_operators
        if op is not mutators.operator_string
    ]


def mutmut(*args: str) -> None:
    from mutmut.__main__ import cli

    try:
        cli.main(args=list(args), prog_name="mutmut", standalone_mode=False)
    except SystemExit as e:  # mutmut exits on a failed clean run
        if e.code:
            raise


def results(modules: list[str]) -> dict[str, dict[str, int | None]]:
    """Module -> {mutant name: exit code}, as saved after each module's run."""
    out = {}
    for module in modules:
        saved = ROOT / "mutants" / "results" / f"{module}.json"
        if saved.exists():
            out[module] = json.loads(saved.read_text(encoding="utf-8"))
    return out


def run_one(module: str, survivors: bool = False, first_pass: bool = False) -> None:
    """``mutmut run`` of one module against its tests, then save its results.

    With ``survivors``, only the survivors of the saved results run again (after new
    tests, on an unchanged module: mutmut numbers the mutants the same way). With
    ``first_pass``, the module's :data:`SLOW_TESTS` are left out."""
    from mutmut.configuration import config

    patch_mutmut()
    # hypothesis without shrinking (tests/conftest.py): the first failing example kills the
    # mutant; shrinking it took minutes per mutant. Lean modules: also fewer examples
    lean = module in LEAN_MODULES
    os.environ.setdefault("HYPOTHESIS_PROFILE", "mutation-lean" if lean else "mutation")
    if lean:
        # a mutant that never leaves a loop fails its test after LEAN_TEST_TIMEOUT seconds
        # (pytest-timeout) instead of running out mutmut's limit, 15 x its tests' time
        config().pytest_add_cli_args = [
            *config().pytest_add_cli_args,
            f"--timeout={LEAN_TEST_TIMEOUT}",
        ]
    selection = TESTS[module]
    if first_pass:
        selection = [*selection, *deselect(*SLOW_TESTS.get(module, []))]
    config().pytest_add_cli_args_test_selection = selection
    saved = results([module]).get(module, {})
    names = None  # every mutant of the module
    if survivors:
        # the survivors not yet judged: a listed mutant ran the whole selection when it
        # was judged equivalent (the report still flags a listed one that a test kills)
        equivalent = read_equivalent()
        names = sorted(
            n for n, c in saved.items() if c in SURVIVED | NO_TESTS and n not in equivalent
        )
        if not names:
            return
    elif any(c is None for c in saved.values()):
        # an interrupted run resumes: only the mutants it has not run yet
        names = sorted(n for n, c in saved.items() if c is None)
    try:
        mutmut("run", "--max-children", "1", *(names or [f"bboxcore.{module}.*"]))
    finally:  # also when interrupted: what ran is kept, the rest stays unrun (None)
        save_results(module, names, saved)


def save_results(module: str, names: list[str] | None, saved: dict[str, int | None]) -> None:
    """Write ``mutants/results/MODULE.json`` (atomically) from mutmut's record of the run;
    a run of named mutants (``names``: survivors, a resumed run) is merged into the saved
    results, a run of the whole module (``names`` None) replaces them."""
    path = next(p for p in only_mutate() if module_of(p) == module)
    meta = json.loads((ROOT / "mutants" / (path + ".meta")).read_text(encoding="utf-8"))
    prefix = f"bboxcore.{module}."
    codes = {k: v for k, v in meta["exit_code_by_key"].items() if k.startswith(prefix)}
    if names is not None:
        codes = {**saved, **{n: codes[n] for n in names if codes.get(n) is not None}}
    out = ROOT / "mutants" / "results" / f"{module}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(codes, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(out)


def report(modules: list[str]) -> int:
    equivalent = read_equivalent()
    rows, problems = [], []
    for module, codes in results(modules).items():
        # a listed mutant that timed out is still equivalent (a slow run, not a failed test)
        codes = {n: 0 if n in equivalent and c in TIMEOUT else c for n, c in codes.items()}
        killed = sum(c in KILLED for c in codes.values())
        survivors = sorted(n for n, c in codes.items() if c in SURVIVED | NO_TESTS)
        unchecked = sum(c is None for c in codes.values())
        equiv = [n for n in survivors if n in equivalent]
        unlisted = [n for n in survivors if n not in equivalent]
        stale = sorted(
            n for n, c in codes.items() if n in equivalent and c in KILLED
        )  # listed as equivalent, yet a test kills it: the list is out of date
        counted = len(codes) - len(equiv) - unchecked
        score = killed / counted if counted else 1.0
        rows.append((module, len(codes), killed, len(equiv), len(unlisted), unchecked, score))
        for n in unlisted:
            problems.append(f"survivor not listed as equivalent: {n} (exit {codes[n]})")
        for n in stale:
            problems.append(f"listed as equivalent but killed (remove it): {n}")
        if unchecked == 0 and score < THRESHOLD:
            problems.append(f"{module}: score {score:.1%} below {THRESHOLD:.0%}")
    head = ("module", "mutants", "killed", "equiv", "surv", "unrun")
    print("{:24} {:>7} {:>6} {:>5} {:>4} {:>5}  score".format(*head))
    for module, n, killed, equiv, surv, unchecked, score in rows:
        print(f"{module:24} {n:7d} {killed:6d} {equiv:5d} {surv:4d} {unchecked:5d}  {score:.1%}")
    tot = [sum(r[i] for r in rows) for i in range(1, 6)]
    if rows:
        counted = tot[0] - tot[2] - tot[4]
        print(
            f"{'total':24} {tot[0]:7d} {tot[1]:6d} {tot[2]:5d} {tot[3]:4d} {tot[4]:5d}  "
            f"{tot[1] / counted if counted else 1.0:.1%}"
        )
    for p in problems:
        print(p)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"of {MODULES}")
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--show", metavar="NAME", help="print the diff of one mutant")
    parser.add_argument(
        "--survivors", action="store_true", help="re-run only the survivors of the last run"
    )
    parser.add_argument("--one", metavar="MODULE", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--first-pass", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [m for m in [*args.modules, *([args.one] if args.one else [])] if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {MODULES}")
    modules = args.modules or MODULES
    os.chdir(ROOT)
    if args.one:
        run_one(args.one, args.survivors, args.first_pass)
        return 0
    if args.show:
        patch_mutmut()
        mutmut("show", args.show)
        return 0
    if not args.report:
        # mutmut keeps an existing copy of a file: refresh the tests it runs
        shutil.rmtree(ROOT / "mutants" / "tests", ignore_errors=True)
        # an interrupted mutant generation leaves empty files that mutmut would keep
        for empty in (ROOT / "mutants" / "bboxcore").rglob("*.py"):
            if empty.stat().st_size == 0:
                empty.unlink()
        for module in modules:
            print(f"== {module}: {' '.join(TESTS[module])}", flush=True)
            passes = [["--survivors"]] if args.survivors else [[]]
            if module in SLOW_TESTS and not args.survivors:
                passes = [["--first-pass"], ["--survivors"]]  # then the slow tests
            for again in passes:
                one = [sys.executable, __file__, "--one", module, *again]
                done = subprocess.run(one, check=False)
                if done.returncode:
                    print(f"== {module}: mutmut failed (exit {done.returncode})", flush=True)
                    break
    return report(modules)


if __name__ == "__main__":
    sys.exit(main())

"""``bboxcore grade`` on the command line: folders, output files checked first, JUnit names."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import bboxcore.grading
from bboxcore.cli import main

SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = ["--examples", "5", "--no-progress"]


@pytest.fixture
def klass(tmp_path, monkeypatch):
    """A class folder: alice/nms.py (right), bob/nms.py (>= bug), carol/nms.py (syntax error)."""
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))
    root = tmp_path / "class"
    for student, source in (("bob", "bug_ge"), ("alice", "correct_loop")):
        (root / student).mkdir(parents=True)
        shutil.copy(SUBMISSIONS / f"{source}.py", root / student / "nms.py")
    (root / "carol").mkdir()
    (root / "carol" / "nms.py").write_text("def nms(boxes, scores, iou_thresh)\n    return []\n")
    (root / "carol" / "README.txt").write_text("not a submission")
    return root


def test_grade_a_folder_one_submission_per_file_sorted(klass, tmp_path, capsys):
    csv_path, xml_path = tmp_path / "grades.csv", tmp_path / "grades.xml"
    status = main(
        ["grade", "nms", str(klass), *FAST, "--csv", str(csv_path), "--junit", str(xml_path)]
    )
    assert status == 1
    out = capsys.readouterr().out
    rows = csv_path.read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [
        str(klass / s / "nms.py") for s in ("alice", "bob", "carol")
    ]
    assert rows[0].split(",")[4] == "1" and rows[1].split(",")[4] == "0"
    # the broken file is named, with its error
    carol = next(line for line in out.splitlines() if "carol" in line)
    assert str(klass / "carol" / "nms.py") in carol and "SyntaxError" in carol
    assert "1/3 submissions passed every check" in out
    # JUnit: one class per submission, unique although the files share a name
    names = {c.get("classname") for c in ET.parse(xml_path).getroot().iter("testcase")}
    assert names == {"grade.nms.alice.nms", "grade.nms.bob.nms", "grade.nms.carol.nms"}


def test_junit_classnames_unique_per_submission():
    from bboxcore.grading.report import CheckResult, Report, to_junit

    reports = [
        Report("nms", p, "nms", 0, [CheckResult("loads", "imports", True)])
        for p in ("alice/nms.py", "bob/nms.py", "x.y/nms.py", "x/y/nms.py")
    ]
    names = [c.get("classname") for c in ET.fromstring(to_junit(reports)).iter("testcase")]
    assert len(set(names)) == 4 and "grade.nms.alice.nms" in names


def test_empty_folder_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["grade", "nms", str(tmp_path / "empty")]) == 2
    assert "no .py file in the folder" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--csv", "--junit", "--json"])
def test_unwritable_output_fails_before_grading(tmp_path, capsys, monkeypatch, option):
    def no_grading(*args, **kwargs):
        raise AssertionError("graded before checking the output files")

    monkeypatch.setattr(bboxcore.grading, "grade", no_grading)
    good = str(SUBMISSIONS / "correct_loop.py")
    for target, why in (
        (tmp_path / "missing" / "out.txt", "no such folder"),
        (tmp_path, "it is a folder"),
    ):
        assert main(["grade", "nms", good, option, str(target)]) == 2
        err = capsys.readouterr().err
        assert f"{option}: cannot write {target}" in err and why in err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            assert main(["grade", "nms", good, option, str(locked / "out.txt")]) == 2
            assert "not writable" in capsys.readouterr().err
        finally:
            locked.chmod(0o700)


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--seed", "-1"], "--seed"),
        (["--examples", "0"], "--examples"),
        (["--timeout", "-2"], "--timeout"),
        (["--memory", "abc"], "--memory"),
    ],
)
def test_bad_option_values_name_the_option(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["grade", "nms", str(SUBMISSIONS / "correct_loop.py"), *argv])
    assert exc.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err


def test_outputs_are_written_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))
    out = tmp_path / "r.json"
    out.write_text("old")
    good = str(SUBMISSIONS / "correct_matrix.py")
    assert main(["grade", "nms", good, *FAST, "--json", str(out)]) == 0
    assert out.read_text().startswith("{") and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"timeout": 0}, "timeout must be a finite number > 0"),
        ({"examples": 0}, "examples must be a positive integer"),
    ],
)
def test_library_grade_names_a_bad_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bboxcore.grading.grade("nms", str(SUBMISSIONS / "correct_loop.py"), **kwargs)

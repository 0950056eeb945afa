"""The class-grading templates and the class generator cover every assignment.

``templates/gradescope`` (run_autograder, setup.sh, points/<assignment>.toml),
``templates/github-classroom/classroom.yml`` and ``scripts/make_grading_class.py``
take the assignment's name; each test runs them on a handful of submissions.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bboxcore.cli import main
from bboxcore.grading import ASSIGNMENTS
from bboxcore.grading.platforms import load_weights

ROOT = Path(__file__).parents[2]
TEMPLATES = ROOT / "templates"
GRADESCOPE = TEMPLATES / "gradescope"
SUBMISSIONS = Path(__file__).parent / "submissions"
SCHEMA = Path(__file__).parent / "gradescope_results.schema.json"
BIN = str(Path(sys.executable).parent) + "/"


@pytest.fixture(autouse=True)
def _hypothesis_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))


def _env(tmp_path) -> dict:
    return dict(os.environ, HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "h"))


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_grading_class", ROOT / "scripts" / "make_grading_class.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- Gradescope
def _with_assignment(script: str, name: str) -> str:
    """run_autograder's one documented variable set to ``name``."""
    assert len(re.findall(r"^ASSIGNMENT=", script, re.M)) == 1
    return re.sub(r"^ASSIGNMENT=\w+", f"ASSIGNMENT={name}", script, flags=re.M)


def _autograder(tmp_path: Path, name: str) -> Path:
    """The autograder's /autograder, moved under tmp_path, with ASSIGNMENT = name."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copytree(GRADESCOPE, root / "source")
    script = _with_assignment((GRADESCOPE / "run_autograder").read_text(), name)
    (root / "source" / "run_autograder").write_text(script)
    script = script.replace("/opt/bboxcore/bin/", BIN).replace("/autograder", str(root))
    (tmp_path / "run").write_text(script.replace("--seed 0", "--seed 0 --examples 5"))
    return root


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_each_assignment_has_a_points_file_out_of_10(name):
    checks = ["loads"] + [c.name for c in ASSIGNMENTS[name].checks()]
    weights = load_weights(str(GRADESCOPE / "points" / f"{name}.toml"), checks)
    assert sum(weights.values()) == 10
    assert weights["loads"] == 0 and weights["search"] == 2 and weights["large_input"] == 1


def test_the_points_files_are_those_of_the_assignments():
    assert sorted(p.stem for p in (GRADESCOPE / "points").glob("*.toml")) == sorted(ASSIGNMENTS)


@pytest.mark.parametrize(
    "name, sample, full_marks",
    [("nms", "bug_ge.py", False), ("smooth_l1", "smooth_l1_correct_loop.py", True)],
)
def test_gradescope_template_grades_the_assignment_it_names(tmp_path, name, sample, full_marks):
    """run_autograder, its fixed paths moved to a temporary folder, writes valid results."""
    jsonschema = pytest.importorskip("jsonschema")
    root = _autograder(tmp_path, name)
    shutil.copy(SUBMISSIONS / sample, root / "submission" / f"my_{name}.py")
    done = subprocess.run(
        ["bash", str(tmp_path / "run")], env=_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    checks = [c.name for c in ASSIGNMENTS[name].checks()]
    assert [t["name"] for t in data["tests"]] == ["loads", *checks]
    assert data["max_score"] == 10
    assert data["score"] == 10 if full_marks else 0 < data["score"] < 10


def test_gradescope_template_gives_zero_and_the_reason_without_a_file(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    root = _autograder(tmp_path, "roi_align")
    done = subprocess.run(
        ["bash", str(tmp_path / "run")], env=_env(tmp_path), capture_output=True, text=True
    )
    data = json.loads((root / "results" / "results.json").read_text())
    assert done.returncode == 0 and data["score"] == 0 and "roi_align" in data["output"]
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))


def _setup_check(tmp_path: Path, name: str, points: str | None = None) -> int:
    """Exit status of setup.sh's configuration check (after its installation steps)."""
    root = _autograder(tmp_path, name)
    if points:
        shutil.copy(GRADESCOPE / "points" / points, root / "source" / "points" / f"{name}.toml")
    script = (GRADESCOPE / "setup.sh").read_text()
    head, check = script.split("# Check the configuration", 1)
    assert "pip install" in head and "pip install" not in check
    script = "set -euo pipefail\nSOURCE=/autograder/source\n# " + check
    script = script.replace("/opt/bboxcore/bin/", BIN).replace("/autograder", str(root))
    (tmp_path / "check").write_text(script)
    done = subprocess.run(
        ["bash", str(tmp_path / "check")], env=_env(tmp_path), capture_output=True, text=True
    )
    return done.returncode


def test_gradescope_setup_fails_the_build_on_a_wrong_assignment_or_points_file(tmp_path):
    assert _setup_check(tmp_path / "a", "iou") == 0
    assert _setup_check(tmp_path / "b", "iou", points="nms.toml") == 1  # NMS's check names
    assert _setup_check(tmp_path / "c", "nmss") == 1


# ----------------------------------------------------------------------------- GitHub Classroom
@pytest.mark.parametrize(
    "name, sample, status",
    [("iou", "iou_correct_loop.py", 0), ("loc2bbox", "loc2bbox_bug_border.py", 1)],
)
def test_classroom_workflow_grades_the_assignment_it_names(
    tmp_path, monkeypatch, name, sample, status
):
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((TEMPLATES / "github-classroom" / "classroom.yml").read_text())
    env = dict(workflow["env"], ASSIGNMENT=name, SUBMISSION=f"{name}.py")
    (step,) = [
        s for s in workflow["jobs"]["run-autograding-tests"]["steps"] if s.get("id") == "grade"
    ]
    used = set(re.findall(r"\$\{\{ env\.(\w+) \}\}", json.dumps(step)))
    assert used == {"ASSIGNMENT", "SUBMISSION"}
    command = re.sub(r"\$\{\{ env\.(\w+) \}\}", lambda m: env[m.group(1)], step["with"]["command"])
    words = shlex.split(command)
    assert words[:4] == ["bboxcore", "grade", name, f"{name}.py"]
    shutil.copy(SUBMISSIONS / sample, tmp_path / f"{name}.py")
    monkeypatch.chdir(tmp_path)
    assert main([*words[1:], "--examples", "5"]) == status
    cases = re.findall(r"<testcase ", (tmp_path / "grade.xml").read_text())
    assert len(cases) == 1 + len(ASSIGNMENTS[name].checks())


# ----------------------------------------------------------------------------- the generator
def test_generator_samples_belong_to_one_assignment_and_define_its_function():
    gen = _generator()
    pools = {name: gen.samples(name) for name in ASSIGNMENTS}
    for name, pool in pools.items():
        assert pool, name
        for path in pool:
            assert re.search(rf"^def {ASSIGNMENTS[name].function}\(", path.read_text(), re.M)
    every = [p for pool in pools.values() for p in pool]
    assert len(every) == len(set(every))  # no sample in two classes
    # every catalogued mistake file of an assignment is in its class
    mistakes = sorted((SUBMISSIONS / "mistakes").glob("*.py"))
    assert sorted(p for p in every if p.parent.name == "mistakes") == mistakes
    with pytest.raises(ValueError, match="assignment must be one of"):
        gen.samples("nmss")


def test_generated_class_is_graded_with_each_mistake_named(tmp_path):
    """A small anchor_labels class: the four kinds, and each catalogued mistake gets its hint."""
    gen = _generator()
    name = "anchor_labels"
    assert gen.main([str(tmp_path / "class"), "--assignment", name, "--students", "8"]) == 0
    again = tmp_path / "again"
    gen.make_class(again, 8, 0, name)
    same = sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    assert same == sorted(
        p.relative_to(tmp_path / "class").as_posix()
        for p in (tmp_path / "class").rglob("*")
        if p.is_file()
    )
    assert {p.suffix or "folder" for p in (tmp_path / "class").iterdir()} == {
        ".py",
        ".ipynb",
        ".zip",
        "folder",
    }
    out = tmp_path / "grades.csv"
    args = ["grade", name, str(tmp_path / "class"), "--examples", "5", "--no-progress"]
    main([*args, "--jobs", "1", "--csv", str(out)])
    with open(out, newline="") as f:
        rows = {r["path"]: r for r in csv.DictReader(f)}
    assert len(rows) == 8
    by_source = {p.read_text(): p for p in gen.samples(name)}
    named = 0
    for student in sorted((tmp_path / "class").glob("*.py")):  # the plain files
        expect = gen.expected_mistake(by_source[student.read_text()])
        if expect and expect != "none":
            assert rows[str(student)]["hint"] == ASSIGNMENTS[name].bug_hints[expect]
            named += 1
    assert named >= 1


def test_generator_refuses_an_unknown_assignment(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        _generator().main([str(tmp_path / "class"), "--assignment", "nmss"])
    assert err.value.code == 2 and "--assignment must be one of" in capsys.readouterr().err

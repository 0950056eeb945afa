"""Grading a class as students hand it in: notebooks, folders, zips, --jobs, Gradescope, report."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from bboxcore.cli import main
from bboxcore.grading import submissions
from bboxcore.grading.submissions import collect, extract_zip, notebook_source

SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = ["--examples", "5", "--no-progress"]
SCHEMA = Path(__file__).parent / "gradescope_results.schema.json"


@pytest.fixture(autouse=True)
def _hypothesis_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))


def assignment_notebook(source: str, *, extra: list[str] = ()) -> str:
    """The assignment notebook as a student hands it in: magics, %%writefile, grader cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# NMS"),
        nbformat.v4.new_code_cell(
            "%matplotlib inline\n!pip install numpy\nimport tempfile\nfrom pathlib import Path\n"
            'SUBMISSION = Path(tempfile.gettempdir()) / "my_nms.py"'
        ),
        nbformat.v4.new_code_cell("%%writefile {SUBMISSION}\n" + source),
        nbformat.v4.new_code_cell("print(nms(None, None, 0.5))  # a test call: dropped"),
        *[nbformat.v4.new_code_cell(code) for code in extra],
        nbformat.v4.new_code_cell(
            "from bboxcore.grading import grade\n"
            'report = grade("nms", str(SUBMISSION), examples=50)\nprint(report.to_text())'
        ),
        nbformat.v4.new_code_cell('print(f"score: {report.score}/{report.total}")'),
    ]
    return nbformat.writes(nb)


# ----------------------------------------------------------------------------- notebooks
def test_notebook_source_keeps_writefile_and_definitions_drops_the_rest(tmp_path):
    path = tmp_path / "alice.ipynb"
    path.write_text(
        assignment_notebook(
            "def nms(boxes, scores, iou_thresh):\n    return []",
            extra=["%%bash\necho hi", "for i in range(3):\n    print(i)\nEPS = 1e-9\n%time x = 1"],
        )
    )
    source = notebook_source(str(path))
    assert "def nms(boxes, scores, iou_thresh):" in source and "EPS = 1e-9" in source
    for dropped in ("%matplotlib", "!pip", "echo hi", "print(", "bboxcore", "report", "range("):
        assert dropped not in source, dropped
    compile(source, "alice_ipynb.py", "exec")  # plain Python


def test_a_notebook_is_graded_like_its_py_file(tmp_path, capsys):
    source = (SUBMISSIONS / "correct_loop.py").read_text()
    (tmp_path / "alice.ipynb").write_text(assignment_notebook(source))
    out = tmp_path / "r.json"
    # the notebook's own grader cell (an import of bboxcore) does not fail 'loads'
    assert main(["grade", "nms", str(tmp_path / "alice.ipynb"), *FAST, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["passed"] and report["path"] == str(tmp_path / "alice.ipynb")
    bug = (SUBMISSIONS / "bug_ge.py").read_text()
    (tmp_path / "bob.ipynb").write_text(assignment_notebook(bug))
    assert main(["grade", "nms", str(tmp_path / "bob.ipynb"), *FAST, "--json", str(out)]) == 1
    assert "iou > iou_thresh" in json.loads(out.read_text())["hint"]


def test_a_broken_notebook_names_the_students_file(tmp_path, capsys):
    (tmp_path / "carol.ipynb").write_text(
        assignment_notebook("def nms(boxes, scores, iou_thresh)\n    return []")
    )
    (tmp_path / "dave.ipynb").write_text("{ this is not json")
    (tmp_path / "erin.py").write_text((SUBMISSIONS / "correct_loop.py").read_text())
    out = tmp_path / "r.json"
    assert main(["grade", "nms", str(tmp_path), *FAST, "--json", str(out)]) == 1
    reports = {Path(r["path"]).name: r for r in json.loads(out.read_text())}
    assert set(reports) == {"carol.ipynb", "dave.ipynb", "erin.py"}
    assert reports["erin.py"]["passed"]
    for name in ("carol.ipynb", "dave.ipynb"):
        load = reports[name]["load_error"]
        assert name in load and "_ipynb.py" not in load and "bboxcore-grade-" not in load
    assert "SyntaxError" in reports["carol.ipynb"]["load_error"]
    assert "not a readable notebook" in reports["dave.ipynb"]["load_error"]
    assert reports["dave.ipynb"]["checks"][1]["status"] == "SKIP"


# ----------------------------------------------------------------------------- folders
def test_student_folder_picks_the_file_that_defines_the_function(tmp_path):
    frank = tmp_path / "class" / "frank"
    frank.mkdir(parents=True)
    (frank / "geometry.py").write_text("def area(b):\n    return (b[2] - b[0]) * (b[3] - b[1])\n")
    (frank / "solution.py").write_text("from geometry import area\n\ndef nms(b, s, t):\n    pass\n")
    (frank / "scratch.ipynb").write_text(assignment_notebook("x = 1"))
    subs = collect([str(tmp_path / "class")], str(tmp_path / "w"), function="nms", assignment="nms")
    assert [(s.student, Path(s.path).name) for s in subs] == [("frank", "solution.py")]
    # no file defines it: one failed submission naming the folder
    (frank / "solution.py").unlink()
    (subs,) = [collect([str(frank.parent)], str(tmp_path / "w2"), function="nms", assignment="nms")]
    assert len(subs) == 1 and "defines nms" in subs[0].error and "frank" in subs[0].error


# ----------------------------------------------------------------------------- zips
def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "C:/evil.py"])
def test_zip_member_outside_the_folder_is_refused(tmp_path, name):
    bad = _zip(tmp_path / "bad.zip", {"ok.py": "x = 1", name: "x = 2"})
    with pytest.raises(ValueError, match=r"bad\.zip: unsafe member name"):
        extract_zip(str(bad), str(tmp_path / "out"))
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "out" / "ok.py").exists()


def test_zip_symlink_and_bomb_are_refused(tmp_path, monkeypatch):
    link = zipfile.ZipInfo("link.py")
    link.external_attr = (0o120777 << 16) | 0
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as z:
        z.writestr(link, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        extract_zip(str(tmp_path / "link.zip"), str(tmp_path / "out"))
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.py", "#" * 5000)
    monkeypatch.setattr(submissions, "MAX_ZIP_BYTES", 4096)
    with pytest.raises(ValueError, match=r"bomb\.zip expands to more than"):
        extract_zip(str(tmp_path / "bomb.zip"), str(tmp_path / "out2"))
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.zip is not a readable zip"):
        extract_zip(str(tmp_path / "junk.zip"), str(tmp_path / "out3"))


def test_a_class_zip_and_a_bad_student_zip(tmp_path, capsys):
    good = (SUBMISSIONS / "correct_loop.py").read_text()
    inner = tmp_path / "ivan.zip"
    _zip(inner, {"ivan/nms.py": good})
    _zip(tmp_path / "mallory.zip", {"../../evil.py": good})
    klass = _zip(
        tmp_path / "class.zip",
        {
            "class/grace.py": good,
            "class/heidi/nms.py": good,
            "class/ivan.zip": inner.read_bytes().decode("latin-1"),
            "class/__MACOSX/._grace.py": "junk",
        },
    )
    # writestr of str encodes as utf-8: rewrite the nested zip's bytes exactly
    with zipfile.ZipFile(klass, "w") as z:
        z.writestr("class/grace.py", good)
        z.writestr("class/heidi/nms.py", good)
        z.writestr("class/ivan.zip", inner.read_bytes())
        z.writestr("class/mallory.zip", (tmp_path / "mallory.zip").read_bytes())
        z.writestr("class/__MACOSX/._grace.py", "junk")
    out = tmp_path / "r.json"
    assert main(["grade", "nms", str(klass), *FAST, "--json", str(out)]) == 1
    reports = json.loads(out.read_text())
    paths = [r["path"] for r in reports]
    zip_path = str(klass)
    assert paths == [
        f"{zip_path}/class/grace.py",
        f"{zip_path}/class/heidi/nms.py",
        f"{zip_path}/class/ivan.zip/ivan/nms.py",
        f"{zip_path}/class/mallory.zip",
    ]
    assert [r["passed"] for r in reports] == [True, True, True, False]
    assert "unsafe member name" in reports[3]["load_error"] and not (tmp_path / "evil.py").exists()
    # an unsafe class zip is a usage error naming it
    assert main(["grade", "nms", str(tmp_path / "mallory.zip"), *FAST]) == 2
    assert "mallory.zip: unsafe member name" in capsys.readouterr().err


# ----------------------------------------------------------------------------- --jobs
def _without_timings(data):
    if isinstance(data, dict):
        return {k: _without_timings(v) for k, v in data.items() if k != "seconds"}
    if isinstance(data, list):
        return [_without_timings(v) for v in data]
    return data


def test_jobs_2_gives_the_same_reports_as_jobs_1(tmp_path, capsys):
    klass = tmp_path / "class"
    klass.mkdir()
    for name in ("correct_vectorised", "bug_ge", "bug_last_kept", "bug_sys_exit"):
        shutil.copy(SUBMISSIONS / f"{name}.py", klass / f"{name}.py")
    (klass / "nb.ipynb").write_text(
        assignment_notebook((SUBMISSIONS / "bug_no_clip.py").read_text())
    )
    runs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.json"
        assert main(["grade", "nms", str(klass), *FAST, "--jobs", jobs, "--json", str(out)]) == 1
        runs.append(_without_timings(json.loads(out.read_text())))
        runs[-1].append(capsys.readouterr().out)
    assert runs[0] == runs[1]
    assert [Path(r["path"]).name for r in runs[0][:-1]] == sorted(p.name for p in klass.iterdir())


def test_jobs_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["grade", "nms", str(SUBMISSIONS / "correct_loop.py"), "--jobs", "0"])
    assert "--jobs" in capsys.readouterr().err


# ----------------------------------------------------------------------------- Gradescope
def test_gradescope_results_validate_and_use_the_weights(tmp_path, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    submission = tmp_path / "submission"  # Gradescope's /autograder/submission
    submission.mkdir()
    shutil.copy(SUBMISSIONS / "bug_ge.py", submission / "nms.py")
    (submission / "notes.txt").write_text("my notes")
    weights = tmp_path / "points.toml"
    weights.write_text('"*" = 0\nloads = 1\nexact_threshold = 3\nrandom_cases = 6\n')
    results = tmp_path / "results.json"
    argv = ["grade", "nms", str(submission), *FAST, "--weights", str(weights)]
    assert main([*argv, "--gradescope", str(results), "--visibility", "after_due_date"]) == 1
    data = json.loads(results.read_text())
    jsonschema.validate(data, schema)
    by_name = {t["name"]: t for t in data["tests"]}
    assert data["max_score"] == 10.0 and by_name["random_cases"]["max_score"] == 6.0
    assert by_name["exact_threshold"]["score"] == 0.0 and by_name["loads"]["score"] == 1.0
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert {t["visibility"] for t in data["tests"]} == {"after_due_date"}
    assert "iou > iou_thresh" in data["output"]
    # the schema can fail: a wrong visibility or a missing score is caught
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(data, visibility="always"), schema)
    with pytest.raises(jsonschema.ValidationError):
        broken = dict(data, tests=[{k: v for k, v in data["tests"][0].items() if k != "score"}])
        jsonschema.validate({k: v for k, v in broken.items() if k != "score"}, schema)


def test_gradescope_wants_one_submission_and_weights_are_checked(tmp_path, capsys):
    results = tmp_path / "results.json"
    two = [str(SUBMISSIONS / "bug_ge.py"), str(SUBMISSIONS / "correct_loop.py")]
    assert main(["grade", "nms", *two, "--gradescope", str(results)]) == 2
    assert "--gradescope grades one submission" in capsys.readouterr().err
    weights = tmp_path / "w.json"
    for content, match in (
        ('{"exact_treshold": 2}', "names no check 'exact_treshold'"),
        ('{"loads": -1}', "must be finite and >= 0"),
        ('{"loads": "two"}', "must be a number"),
        ('{"*": 0}', "every check 0 points"),
        ("[1, 2]", "must map check names to points"),
        ("{", "cannot read"),
    ):
        weights.write_text(content)
        one = str(SUBMISSIONS / "correct_loop.py")
        assert main(["grade", "nms", one, "--weights", str(weights)]) == 2
        err = capsys.readouterr().err
        assert match in err and "w.json" in err, (content, err)
    assert not results.exists()


# ----------------------------------------------------------------------------- --report
def test_teacher_report(tmp_path, capsys):
    klass = tmp_path / "class"
    klass.mkdir()
    for name in ("correct_loop", "bug_ge", "bug_ge"):
        target = klass / f"{name}.py"
        target = target if not target.exists() else klass / f"{name}_again.py"
        shutil.copy(SUBMISSIONS / f"{name}.py", target)
    (klass / "<script>mallory.py").write_text(
        "def nms(boxes, scores, iou_thresh):\n    return []\n"
    )
    report = tmp_path / "report"
    assert main(["grade", "nms", str(klass), *FAST, "--report", str(report)]) == 1
    index = (report / "index.html").read_text()
    assert (report / "histogram.png").read_bytes().startswith(b"\x89PNG")
    links = re.findall(r'href="(students/[^"]+)"', index)
    assert len(links) == 4 and all((report / link).is_file() for link in links)
    assert "<script>" not in index and "&lt;script&gt;mallory" in index
    # the most frequent hint and failed check are listed with their counts
    assert re.search(r"iou &gt; iou_thresh.*?<td class=\"num\">2</td>", index, re.S)
    rows = list(csv.DictReader(io.StringIO((report / "gradebook.csv").read_text())))
    assert [r["student"] for r in rows] == [
        "<script>mallory",
        "bug_ge",
        "bug_ge_again",
        "correct_loop",
    ]
    assert rows[3]["points"] == rows[3]["max_points"] == "16" and rows[3]["passed"] == "1"
    assert rows[1]["passed"] == "0" and "exact_threshold" in rows[1]["failed_checks"]
    (tmp_path / "file").write_text("")
    assert main(["grade", "nms", str(klass), *FAST, "--report", str(tmp_path / "file")]) == 2


def test_a_submission_folder_holding_one_zip_is_read_through_it(tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    _zip(submission / "upload.zip", {"work/nms.py": "def nms(b, s, t):\n    return []\n"})
    (sub,) = collect(
        [str(submission)], str(tmp_path / "w"), function="nms", assignment="nms", single=True
    )
    assert sub.error == "" and sub.path == f"{submission}/upload.zip/work/nms.py"
    assert Path(sub.source).read_text().startswith("def nms")


def test_progress_bar_counts_the_class_on_a_terminal(tmp_path, capsys, monkeypatch):
    for name in ("correct_loop", "bug_ge"):
        shutil.copy(SUBMISSIONS / f"{name}.py", tmp_path / f"{name}.py")
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert main(["grade", "nms", str(tmp_path), "--examples", "5", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "grading nms" in err and "2/2" in err

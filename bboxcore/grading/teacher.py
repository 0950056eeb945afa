"""The teacher's report of a class: an HTML page, a score histogram and a gradebook CSV.

:func:`write_report` fills a folder with

* ``index.html``: the class at a glance: the score histogram, the checks
  failed most often, the hints given most often, and one row per student
  linking to their report;
* ``histogram.png``: the distribution of the scores (matplotlib);
* ``students/<name>.html``: each student's full text report;
* ``gradebook.csv``: one row per submission (student, file, points, maximum,
  percent, passed, failed checks, hint), which a gradebook imports.

The pages are rendered with jinja2 (every value escaped).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Sequence

from bboxcore.atomic import atomic_write
from bboxcore.grading.platforms import points
from bboxcore.grading.report import Report

__all__ = ["gradebook_csv", "write_report"]

#: Rows of the "failed most often" and "hints given most often" tables.
TOP = 10

_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>bboxcore grade {{ assignment }}: class report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1a7f37; } .fail { color: #b42318; }
</style></head><body>
<h1>bboxcore grade {{ assignment }}</h1>
<p>{{ n }} submissions, seed {{ seed }}: {{ n_passed }} passed every check;
mean {{ "%.1f"|format(mean) }} / {{ max_points|round(2) }} points,
median {{ "%.1f"|format(median) }}.</p>
<h2>Scores</h2>
<img src="histogram.png" alt="histogram of the scores" width="640">
<h2>The checks failed most often</h2>
<table><tr><th>check</th><th>what it means</th><th>failed by</th></tr>
{% for name, description, count in failed %}
<tr><td><code>{{ name }}</code></td><td>{{ description }}</td>
<td class="num">{{ count }} ({{ (100 * count / n)|round|int }} %)</td></tr>
{% endfor %}</table>
<h2>The hints given most often</h2>
<table><tr><th>hint</th><th>given to</th></tr>
{% for hint, count in hints %}
<tr><td>{{ hint }}</td><td class="num">{{ count }}</td></tr>
{% endfor %}</table>
<h2>Students</h2>
<table><tr><th>student</th><th>file</th><th>points</th><th>checks failed</th><th>hint</th></tr>
{% for row in rows %}
<tr><td><a href="{{ row.link }}">{{ row.student }}</a></td><td><code>{{ row.path }}</code></td>
<td class="num {{ 'pass' if row.passed else 'fail' }}">{{ row.points }} / {{ row.max_points }}</td>
<td>{{ row.failed }}</td><td>{{ row.hint }}</td></tr>
{% endfor %}</table>
</body></html>
"""

_STUDENT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ student }}: {{ assignment }}</title>
<style>body { font-family: system-ui, sans-serif; margin: 2em; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; }</style></head><body>
<p><a href="../index.html">class report</a></p>
<h1>{{ student }}</h1>
<p><code>{{ path }}</code>: {{ points }} / {{ max_points }} points</p>
<pre>{{ text }}</pre>
</body></html>
"""


def _number(x: float) -> str:
    return f"{x:g}"


def _rows(reports: Sequence[Report], weights) -> list[dict]:
    rows, seen = [], set()
    for r in reports:
        got, most = points(r, weights)
        student = r.student or os.path.splitext(os.path.basename(r.path))[0]
        slug = re.sub(r"[^A-Za-z0-9_.-]", "_", student) or "submission"
        unique, k = slug, 1
        while unique in seen:
            k += 1
            unique = f"{slug}_{k}"
        seen.add(unique)
        rows.append(
            {
                "student": student,
                "path": r.path,
                "points": _number(got),
                "max_points": _number(most),
                "percent": f"{100 * got / most:.1f}" if most else "0.0",
                "passed": int(r.passed),
                "failed": " ".join(c.name for c in r.checks if not c.passed),
                "hint": r.hint or r.load_error,
                "link": f"students/{unique}.html",
                "score": got,
            }
        )
    return rows


def gradebook_csv(reports: Sequence[Report], weights: dict[str, float] | None = None) -> str:
    """The gradebook: one row per submission.

    Columns ``student, path, points, max_points, percent, passed,
    failed_checks, hint``; ``points`` out of ``max_points`` with the
    teacher's weights (default one point per check).

    Parameters
    ----------
    reports : sequence of Report
        One per submission, in the order of the rows.
    weights : dict of str to float, optional
        Points per check name (see :func:`bboxcore.grading.platforms.points`).

    Returns
    -------
    str
        The CSV text, header first, ``\\n`` line ends.

    Examples
    --------
    >>> from bboxcore.grading.report import CheckResult
    >>> r = Report("nms", "class/alice.py", "nms", 0, [CheckResult("loads", "", True)],
    ...            student="alice")
    >>> print(gradebook_csv([r]), end="")
    student,path,points,max_points,percent,passed,failed_checks,hint
    alice,class/alice.py,1,1,100.0,1,,
    """
    buf = io.StringIO()
    fields = ["student", "path", "points", "max_points", "percent", "passed", "failed", "hint"]
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields[:6] + ["failed_checks", "hint"])
    for row in _rows(reports, weights):
        writer.writerow([row[f] for f in fields])
    return buf.getvalue()


def _atomic(path: str, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def _histogram(scores: list[float], max_points: float, assignment: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    top = max(max_points, max(scores, default=0.0), 1.0)
    whole = top <= 40 and all(float(s).is_integer() for s in scores)
    # one bar per whole point when the points are whole numbers, else 20 bins
    bins = np.arange(-0.5, top + 1.0) if whole else np.linspace(0, top, 21)
    ax.hist(scores, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"points (out of {max_points:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"bboxcore grade {assignment}: {len(scores)} submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(bins[0], bins[-1])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_report(
    reports: Sequence[Report], folder: str, weights: dict[str, float] | None = None
) -> str:
    """Write the teacher's report of a class into ``folder`` (created if needed).

    Parameters
    ----------
    reports : sequence of Report
        One per submission, all of the same assignment.
    folder : str
    weights : dict, optional
        Check name -> points (:func:`bboxcore.grading.platforms.load_weights`).

    Returns
    -------
    str
        The path of ``index.html``.

    Raises
    ------
    ValueError
        If ``reports`` is empty.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from bboxcore.grading.report import CheckResult
    >>> r = Report("nms", "a.py", "nms", 0, [CheckResult("loads", "imports", False, message="x")],
    ...            hint="fix <this>")
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> index = write_report([r], str(d))
    >>> sorted(p.name for p in d.iterdir())
    ['gradebook.csv', 'histogram.png', 'index.html', 'students']
    >>> "fix &lt;this&gt;" in pathlib.Path(index).read_text()
    True
    """
    if not reports:
        raise ValueError("reports must hold at least one report; got none")
    import jinja2
    import numpy as np

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    os.makedirs(os.path.join(folder, "students"), exist_ok=True)
    rows = _rows(reports, weights)
    scores = [row["score"] for row in rows]
    max_points = max(points(r, weights)[1] for r in reports)
    failed = Counter(c.name for r in reports for c in r.checks if not c.passed)
    descriptions = {c.name: c.description for r in reports for c in r.checks}
    hints = Counter(r.hint for r in reports if r.hint)
    assignment = reports[0].assignment
    student = env.from_string(_STUDENT)
    for r, row in zip(reports, rows):
        page = student.render(
            student=row["student"],
            assignment=assignment,
            path=r.path,
            points=row["points"],
            max_points=row["max_points"],
            text=r.to_text(),
        )
        _atomic(os.path.join(folder, row["link"]), page.encode("utf-8"))
    _atomic(os.path.join(folder, "histogram.png"), _histogram(scores, max_points, assignment))
    _atomic(os.path.join(folder, "gradebook.csv"), gradebook_csv(reports, weights).encode("utf-8"))
    index = env.from_string(_INDEX).render(
        assignment=assignment,
        seed=reports[0].seed,
        n=len(reports),
        n_passed=sum(r.passed for r in reports),
        mean=float(np.mean(scores)),
        median=float(np.median(scores)),
        max_points=max_points,
        failed=[(name, descriptions[name], k) for name, k in failed.most_common(TOP)],
        hints=hints.most_common(TOP),
        rows=rows,
    )
    path = os.path.join(folder, "index.html")
    _atomic(path, index.encode("utf-8"))
    return path

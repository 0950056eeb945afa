"""Points per check, and the result format of Gradescope's autograder.

:func:`load_weights` reads a teacher's points per check (``--weights FILE``,
JSON or TOML) and :func:`points` scores a report with them, so that the score
is out of the teacher's points rather than a count of checks.
:func:`to_gradescope` renders one report as Gradescope's ``results.json``
(the format of *Gradescope Autograder Documentation*, "Autograder
Specifications", section "Output format": ``score``, ``max_score``,
``output``, ``tests`` of ``name``/``score``/``max_score``/``status``/
``output``/``visibility``).
"""

from __future__ import annotations

import json
import math
import os

from bboxcore.grading.report import Report

__all__ = ["VISIBILITIES", "load_weights", "points", "to_gradescope"]

#: Gradescope's visibility settings of a test or of the whole result.
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
#: The key of a weights file that sets the points of every check it does not list.
DEFAULT_KEY = "*"


def load_weights(path: str, checks: list[str]) -> dict[str, float]:
    """The points of each check, from a JSON or TOML file mapping check name -> points.

    A key ``"*"`` sets the points of the checks the file does not list
    (default 1). For example ``{"*": 0, "random_cases": 4, "search": 4,
    "exact_threshold": 2}`` makes the grade out of 10 with three checks.

    Parameters
    ----------
    path : str
        A ``.json`` or ``.toml`` file (by its suffix; JSON otherwise).
    checks : list of str
        The assignment's check names, in order.

    Returns
    -------
    dict
        Every name of ``checks`` -> its points (a finite number >= 0).

    Raises
    ------
    ValueError
        Naming the file: unreadable, not a table of numbers, a check name the
        assignment does not have (the valid ones are listed), a negative or
        non-finite number of points, or every check worth 0.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "points.toml"
    >>> _ = f.write_text('"*" = 0\\nsearch = 3\\nloads = 1\\n')
    >>> load_weights(str(f), ["loads", "empty_input", "search"])
    {'loads': 1.0, 'empty_input': 0.0, 'search': 3.0}
    """
    try:
        if path.endswith(".toml"):
            import tomllib

            with open(path, "rb") as f:
                data = tomllib.load(f)
        else:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
    except (OSError, ValueError) as err:  # ValueError: JSON and TOML decode errors
        raise ValueError(f"--weights: cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"--weights: {path} must map check names to points; got {type(data).__name__}"
        )
    unknown = [k for k in data if k != DEFAULT_KEY and k not in checks]
    if unknown:
        raise ValueError(
            f"--weights: {path} names no check {', '.join(map(repr, unknown))}; "
            f"the checks are {', '.join(checks)} (and '*' for the others)"
        )
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"--weights: {path}: the points of {key!r} must be a number; got {value!r}"
            )
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f"--weights: {path}: the points of {key!r} must be finite and >= 0; got {value}"
            )
    default = float(data.get(DEFAULT_KEY, 1.0))
    weights = {name: float(data.get(name, default)) for name in checks}
    if sum(weights.values()) <= 0:
        raise ValueError(f"--weights: {path} gives every check 0 points")
    return weights


def points(report: Report, weights: dict[str, float] | None = None) -> tuple[float, float]:
    """``(score, max_score)`` of a report: the points of the passed checks, and of all.

    Without weights every check is worth 1 point (the score is
    ``report.score`` out of ``report.total``).

    Parameters
    ----------
    report : Report
        One submission's report.
    weights : dict of str to float, optional
        Points per check name (from :func:`load_weights`); a check missing
        from it is worth 0.

    Returns
    -------
    score, max_score : float

    Examples
    --------
    >>> from bboxcore.grading.report import CheckResult
    >>> r = Report("nms", "a.py", "nms", 0, [CheckResult("loads", "", True),
    ...                                      CheckResult("search", "", False)])
    >>> points(r), points(r, {"loads": 1.0, "search": 4.0})
    ((1.0, 2.0), (1.0, 5.0))
    """
    if weights is None:
        return float(report.score), float(report.total)
    got = sum(weights.get(c.name, 0.0) for c in report.checks if c.passed)
    return float(got), float(sum(weights.get(c.name, 0.0) for c in report.checks))


def to_gradescope(
    report: Report,
    weights: dict[str, float] | None = None,
    *,
    visibility: str = "visible",
) -> dict:
    """Gradescope's ``results.json`` for one report.

    One test per check (in the report's order, numbered from 1), with its
    points, ``status`` ``'passed'``/``'failed'`` and, when it failed, its
    message; the top-level ``output`` is the full text report (the smallest
    counterexample and the hint included).

    Parameters
    ----------
    report : Report
    weights : dict, optional
        Check name -> points (:func:`load_weights`); default 1 point per check.
    visibility : {'visible', 'hidden', 'after_due_date', 'after_published'}
        Of every test and of the whole result.

    Returns
    -------
    dict
        Ready for ``json.dump``.

    Raises
    ------
    ValueError
        If ``visibility`` is not one of Gradescope's.

    Examples
    --------
    >>> from bboxcore.grading.report import CheckResult
    >>> r = Report("nms", "a.py", "nms", 0, [CheckResult("loads", "imports", True)])
    >>> result = to_gradescope(r, {"loads": 2.0})
    >>> result["score"], result["max_score"], result["tests"][0]["status"]
    (2.0, 2.0, 'passed')
    """
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}; got {visibility!r}")
    score, max_score = points(report, weights)
    tests = []
    for k, c in enumerate(report.checks, 1):
        worth = 1.0 if weights is None else weights.get(c.name, 0.0)
        output = c.description if c.passed else f"{c.description}\n-> {c.message}".rstrip()
        tests.append(
            {
                "name": c.name,
                "number": str(k),
                "score": worth if c.passed else 0.0,
                "max_score": worth,
                "status": "passed" if c.passed else "failed",
                "output": output,
                "visibility": visibility,
            }
        )
    return {
        "score": score,
        "max_score": max_score,
        "execution_time": round(sum(c.seconds for c in report.checks), 3),
        "output": report.to_text().replace(os.getcwd() + os.sep, ""),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }

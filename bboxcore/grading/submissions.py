"""Submissions as students hand them in: ``.py`` files, notebooks, folders and ``.zip`` files.

:func:`collect` turns the PATHs given to ``bboxcore grade`` into a list of
:class:`Submission` s, each the file a worker imports (a notebook becomes a
generated ``.py`` file, a zip is extracted) and the name of what the student
handed in, which every report and error shows:

* a ``.py`` file is one submission;
* a ``.ipynb`` notebook is one submission: its code cells, in order
  (:func:`notebook_source`);
* a ``.zip`` file given as a PATH is a class: it is extracted (safely:
  :func:`extract_zip`) and read as a folder (the folder inside, when it holds
  only one: ``class.zip/class/...``); a ``.zip`` inside a class folder is one
  student's submission, like a sub-folder named after the zip;
* a folder given as a PATH is a class: each file directly in it is one
  student's submission (named after the file), each sub-folder one student
  (named after the folder), whose submission is the one file in it that
  defines the function (:func:`student_files`).

Nothing here runs the student's code: notebooks are read with nbformat and the
definitions are found with :mod:`ast`; the code runs only in the worker process.
"""

from __future__ import annotations

import ast
import os
import re
import stat
import zipfile
from dataclasses import dataclass

__all__ = [
    "MAX_ZIP_BYTES",
    "MAX_ZIP_FILES",
    "SUFFIXES",
    "Submission",
    "collect",
    "extract_zip",
    "notebook_source",
    "student_files",
]

#: The kinds of file a student may hand in.
SUFFIXES = (".py", ".ipynb", ".zip")
#: Largest total size of the files extracted from one zip, in bytes.
MAX_ZIP_BYTES = 200 << 20
#: Most files extracted from one zip.
MAX_ZIP_FILES = 20_000
#: Folders never read: hidden ones, caches, and the resource forks macOS adds to zips.
_SKIP_DIRS = ("__pycache__", "__MACOSX", ".ipynb_checkpoints")
#: Cell magics whose body is Python and is kept (``%%writefile`` holds the student's file).
_KEEP_CELL_MAGICS = ("writefile", "time", "capture")


@dataclass(frozen=True)
class Submission:
    """One student's submission.

    Attributes
    ----------
    path : str
        What the student handed in, as reports name it: ``class/alice.ipynb``,
        ``class.zip/bob/nms.py``.
    source : str
        The ``.py`` file the worker imports: ``path`` itself for a ``.py`` file,
        a generated file for a notebook, an extracted file for a zip.
    student : str
        The student's name: the file's stem or the sub-folder's name.
    error : str
        Why the submission cannot be graded at all (a corrupt notebook or zip,
        no file defining the function); '' otherwise. It is reported as a failed
        ``loads`` check naming ``path``.

    Examples
    --------
    >>> sub = Submission("class.zip/bob/nms.py", "/tmp/work/bob/nms.py", "bob")
    >>> sub.student, sub.error
    ('bob', '')
    """

    path: str
    source: str
    student: str
    error: str = ""


def _display(path: str) -> str:
    return path.replace(os.sep, "/")


def notebook_source(path: str) -> str:
    """The Python source a notebook submission stands for.

    The code cells in order, each preceded by a ``# cell N`` comment. Line
    magics (``%matplotlib``) and shell lines (``!pip install``) are dropped. A
    ``%%writefile`` cell's body (the student's file, as the assignment notebooks
    save it) is kept whole, as are ``%%time`` and ``%%capture`` bodies; other
    cell magics (``%%bash``...) are dropped. In the other cells only the
    definitions are kept: imports, ``def``, ``class`` and assignments; calls,
    loops, plots, ``if __name__ ...`` blocks and the grader cell itself (an
    import from ``bboxcore.grading`` and what uses it) are left out, so
    running the notebook's experiments is not part of grading.

    Parameters
    ----------
    path : str
        The ``.ipynb`` file.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the file is not a readable notebook (naming it).

    Examples
    --------
    >>> import nbformat, pathlib, tempfile
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.cells = [
    ...     nbformat.v4.new_code_cell("%matplotlib inline\\n!pip install numpy\\nimport numpy"),
    ...     nbformat.v4.new_code_cell("%%writefile my_nms.py\\ndef nms(b, s, t):\\n    return []"),
    ...     nbformat.v4.new_code_cell("print(nms(None, None, 0.5))\\nEPS = 1e-9"),
    ...     nbformat.v4.new_code_cell("from bboxcore.grading import grade\\nr = grade('nms', 'x')"),
    ... ]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "alice.ipynb"
    >>> nbformat.write(nb, str(path))
    >>> print(notebook_source(str(path)))
    # cell 1
    import numpy
    # cell 2
    def nms(b, s, t):
        return []
    # cell 3
    EPS = 1e-9
    # cell 4
    <BLANKLINE>
    """
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # invalid JSON, not a notebook, unreadable: name the file
        raise ValueError(f"{_display(path)} is not a readable notebook: {err}") from None
    parts = []
    grader_names: set[str] = set()
    for k, cell in enumerate(nb.cells, 1):
        if cell.get("cell_type") != "code":
            continue
        lines = str(cell.get("source", "")).splitlines()
        first = lines[0].strip() if lines else ""
        if first.startswith("%%"):
            magic = first[2:].split()[0] if first[2:].split() else ""
            body = "\n".join(lines[1:]) if magic in _KEEP_CELL_MAGICS else ""
            code = body if magic == "writefile" else _definitions(body, grader_names)
        else:
            kept = [ln for ln in lines if not ln.lstrip().startswith(("%", "!"))]
            code = _definitions("\n".join(kept), grader_names)
        parts.append(f"# cell {k}\n{code}".rstrip("\n"))
    return "\n".join(parts) + "\n"


def _definitions(code: str, grader_names: set[str]) -> str:
    """The top-level imports, definitions and assignments of a cell (:func:`notebook_source`)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code  # the worker reports the syntax error, with its line
    lines = code.splitlines()
    kept = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bboxcore.grading"):
            grader_names.update(a.asname or a.name for a in node.names)
            continue
        if isinstance(node, ast.Import) and any(
            a.name.startswith("bboxcore.grading") for a in node.names
        ):
            grader_names.update((a.asname or a.name).split(".")[0] for a in node.names)
            continue
        definition = (
            ast.Import,
            ast.ImportFrom,
            ast.FunctionDef,
            ast.AsyncFunctionDef,
            ast.ClassDef,
            ast.Assign,
            ast.AnnAssign,
        )
        if not isinstance(node, definition):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign):
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if used & grader_names:  # report = grade(...): the grader cell
                continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        kept += lines[start - 1 : node.end_lineno]
    return "\n".join(kept)


def _defines(source: str, function: str) -> bool:
    """Whether ``source`` defines ``function`` at top level (``def``, assignment or import)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return True
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == function for t in targets):
            return True
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            (a.asname or a.name) == function for a in node.names
        ):
            return True
    return False


def extract_zip(path: str, folder: str) -> None:
    """Extract the zip file ``path`` into ``folder``, refusing anything unsafe.

    Every member name must stay inside ``folder`` (no absolute path, drive or
    ``..``); symbolic links are refused; at most :data:`MAX_ZIP_FILES` files and
    :data:`MAX_ZIP_BYTES` bytes in total are written, counted as they are
    decompressed (a zip bomb's headers lie). Nothing is extracted when a name
    is unsafe.

    Parameters
    ----------
    path : str
        The zip file.
    folder : str
        Where to extract it (created when missing).

    Returns
    -------
    None

    Raises
    ------
    ValueError
        Naming ``path``: not a zip file, an unsafe member, or over a limit.

    Examples
    --------
    >>> import pathlib, tempfile, zipfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> d = pathlib.Path(tmp.name)
    >>> with zipfile.ZipFile(d / "evil.zip", "w") as z:
    ...     z.writestr("../outside.py", "x = 1")
    >>> extract_zip(str(d / "evil.zip"), str(d / "out"))
    Traceback (most recent call last):
    ...
    ValueError: .../evil.zip: unsafe member name '../outside.py' (it leaves the folder)
    >>> tmp.cleanup()
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"{_display(path)} is not a readable zip file: {err}") from None
    root = os.path.realpath(folder)
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_FILES:
            raise ValueError(
                f"{_display(path)} holds {len(members)} files; at most {MAX_ZIP_FILES} are read"
            )
        targets = []
        for m in members:
            name = m.filename.replace("\\", "/")
            parts = name.split("/")
            target = os.path.realpath(os.path.join(root, *parts))
            unsafe = (
                name.startswith("/")
                or re.match(r"^[A-Za-z]:", name)
                or ".." in parts
                or os.path.commonpath([root, target]) != root
            )
            if unsafe:
                raise ValueError(
                    f"{_display(path)}: unsafe member name {m.filename!r} (it leaves the folder)"
                )
            if stat.S_ISLNK(m.external_attr >> 16):
                raise ValueError(f"{_display(path)}: {m.filename!r} is a symbolic link (refused)")
            targets.append((m, target))
        written = 0
        for m, target in targets:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                with archive.open(m) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_ZIP_BYTES:
                            raise ValueError(
                                f"{_display(path)} expands to more than {MAX_ZIP_BYTES >> 20} MiB"
                                " (refused)"
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, RuntimeError) as err:  # corrupt or encrypted
                raise ValueError(
                    f"{_display(path)}: cannot extract {m.filename!r}: {err}"
                ) from None


def _candidates(folder: str) -> list[str]:
    """Every submission-like file below ``folder``, sorted (hidden and cache folders skipped)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        found += [
            os.path.join(root, f)
            for f in files
            if f.endswith(SUFFIXES) and not f.startswith((".", "._"))
        ]
    return sorted(found)


def student_files(folder: str, function: str, assignment: str) -> list[str]:
    """The submission files of one student's folder.

    The one ``.py``/``.ipynb`` file below ``folder`` when there is one;
    otherwise those that define ``function`` at top level (found with
    :mod:`ast`, without running them); among several, the one named after the
    assignment or the function (``nms.py``, ``nms.ipynb``) when there is one,
    else each of them (graded one by one). Empty when no file qualifies (a
    folder holding only one zip is read through that zip by :func:`collect`).

    Parameters
    ----------
    folder : str
        The student's folder.
    function : str
        The function the submission must define.
    assignment : str
        The assignment's name (a file named after it is preferred).

    Returns
    -------
    list of str
        Paths of the chosen files, sorted.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> d = pathlib.Path(tmp.name)
    >>> _ = (d / "utils.py").write_text("def area(b): return 0")
    >>> _ = (d / "solution.py").write_text("from utils import area\\ndef nms(b, s, t): return []")
    >>> [pathlib.Path(p).name for p in student_files(str(d), "nms", "nms")]
    ['solution.py']
    >>> tmp.cleanup()
    """
    files = [f for f in _candidates(folder) if not f.endswith(".zip")]
    if len(files) <= 1:
        return files
    defining = []
    for f in files:
        try:
            source = notebook_source(f) if f.endswith(".ipynb") else _read(f)
        except (ValueError, OSError):
            continue
        if _defines(source, function):
            defining.append(f)
    named = [
        f for f in defining if os.path.splitext(os.path.basename(f))[0] in (assignment, function)
    ]
    return named[:1] or defining


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def collect(
    paths: list[str],
    workdir: str,
    *,
    function: str,
    assignment: str,
    single: bool = False,
) -> list[Submission]:
    """The submissions the PATHs of ``bboxcore grade`` stand for (see the module docstring).

    Parameters
    ----------
    paths : list of str
        ``.py``, ``.ipynb`` or ``.zip`` files, or folders.
    workdir : str
        An empty folder that outlives the grading: notebooks are converted and
        zips extracted there.
    function, assignment : str
        The function to grade and the assignment's name (to pick a student's
        file among several).
    single : bool
        Each PATH is one student's submission (Gradescope's
        ``/autograder/submission`` folder): a folder or zip is read as one
        student's folder, never as a class.

    Returns
    -------
    list of Submission
        In the order of ``paths``, each folder's in sorted order.

    Raises
    ------
    FileNotFoundError
        If a PATH does not exist, or a folder holds no submission (naming it).
    ValueError
        If a PATH zip given as a class cannot be extracted safely (naming it).

    Examples
    --------
    >>> import pathlib, tempfile, zipfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "class" / "carol").mkdir(parents=True)
    >>> _ = (d / "class" / "alice.py").write_text("def nms(b, s, t): return []")
    >>> _ = (d / "class" / "carol" / "nms.py").write_text("def nms(b, s, t): return []")
    >>> with zipfile.ZipFile(d / "class" / "bob.zip", "w") as z:
    ...     z.writestr("bob/nms.py", "def nms(b, s, t): return []")
    >>> subs = collect([str(d / "class")], str(d / "work"), function="nms", assignment="nms")
    >>> for s in subs:
    ...     print(s.student, pathlib.Path(s.path).relative_to(d).as_posix())
    alice class/alice.py
    bob class/bob.zip/bob/nms.py
    carol class/carol/nms.py
    """
    os.makedirs(workdir, exist_ok=True)
    out: list[Submission] = []
    missing = []
    for path in paths:
        if not os.path.exists(path):
            missing.append(path)
        elif single:
            out += _student(
                path, path, os.path.basename(path.rstrip("/\\")), workdir, function, assignment
            )
        elif os.path.isdir(path):
            out += _class(path, path, workdir, function, assignment)
        elif path.endswith(".zip"):
            folder = _fresh(workdir, os.path.basename(path))
            extract_zip(path, folder)
            out += _class(folder, path, workdir, function, assignment, unwrap=True)
        else:
            stem = os.path.splitext(os.path.basename(path))[0]
            out += _student(path, path, stem, workdir, function, assignment)
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    return out


def _fresh(workdir: str, name: str) -> str:
    """A new, empty sub-folder of ``workdir`` whose name starts with ``name``."""
    import tempfile

    return tempfile.mkdtemp(prefix=re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40] + "-", dir=workdir)


def _shown(real: str, real_root: str, shown_root: str) -> str:
    """``real`` (below ``real_root``) as the student handed it in (below ``shown_root``)."""
    rel = os.path.relpath(real, real_root)
    return _display(shown_root if rel == "." else os.path.join(shown_root, rel))


def _class(
    folder: str, shown: str, workdir, function, assignment, unwrap: bool = False
) -> list[Submission]:
    """A class folder: each file is one student, each sub-folder one student."""
    entries = sorted(e for e in os.listdir(folder) if e not in _SKIP_DIRS)
    dirs = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    if unwrap and len(entries) == len(dirs) == 1:
        # a zip of the class folder: class.zip/class/alice/...; read the inner folder
        inner = os.path.join(folder, dirs[0])
        return _class(inner, _display(os.path.join(shown, dirs[0])), workdir, function, assignment)
    out = []
    for e in entries:
        full = os.path.join(folder, e)
        if e.startswith(".") or e in _SKIP_DIRS:
            continue
        if os.path.isdir(full):
            out += _student(
                full, _display(os.path.join(shown, e)), e, workdir, function, assignment
            )
        elif e.endswith(SUFFIXES):
            out += _student(
                full,
                _display(os.path.join(shown, e)),
                os.path.splitext(e)[0],
                workdir,
                function,
                assignment,
            )
    if not out:
        raise FileNotFoundError(
            f"no .py file in the folder {_display(shown)} (nor any .ipynb or .zip file)"
        )
    return out


def _student(path: str, shown: str, student: str, workdir, function, assignment):
    """One student's file, zip or folder -> their submission(s)."""
    if os.path.isdir(path) or path.endswith(".zip"):
        folder = path
        if path.endswith(".zip") and not os.path.isdir(path):
            folder = _fresh(workdir, student)
            try:
                extract_zip(path, folder)
            except ValueError as err:
                return [Submission(shown, path, student, str(err))]
        files = student_files(folder, function, assignment)
        zips = [f for f in _candidates(folder) if f.endswith(".zip")]
        if not files and len(zips) == 1 and zips[0] != path:  # e.g. a zip uploaded as is
            inner = _shown(zips[0], folder, shown)
            return _student(zips[0], inner, student, workdir, function, assignment)
        if not files:
            why = (
                f"no .py or .ipynb file in {shown}"
                if not _candidates(folder)
                else f"no file in {shown} defines {function} (nor is one alone there)"
            )
            return [Submission(shown, folder, student, why)]
        many = len(files) > 1
        out = []
        for f in files:
            name = f"{student}/{os.path.relpath(f, folder)}" if many else student
            out += _student(
                f, _shown(f, folder, shown), _display(name), workdir, function, assignment
            )
        return out
    if path.endswith(".ipynb"):
        try:
            source = notebook_source(path)
        except ValueError as err:
            return [Submission(shown, path, student, str(err))]
        target = os.path.join(_fresh(workdir, student), _module_name(path))
        with open(target, "w", encoding="utf-8") as f:
            f.write(source)
        return [Submission(shown, target, student)]
    return [Submission(shown, path, student)]


def _module_name(path: str) -> str:
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0]) or "notebook"
    return f"{stem}_ipynb.py"

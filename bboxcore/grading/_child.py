"""The worker process of ``bboxcore grade``: the only place where a student's code runs.

Started by :class:`bboxcore.grading.worker.Worker` as
``python -I -u -B _child.py FD MEMORY_BYTES CPU_SECONDS FORBIDDEN`` with a clean environment.
It uses the standard library and NumPy only (never ``bboxcore``), so nothing a
submission patches can reach the reference answers, which live in the grader's
process. It talks to the grader over the socket ``FD``, one pickled tuple per
message:

grader -> worker
    ``("load", path, function_name)``, ``("call", args)``
worker -> grader
    ``("loaded", forbidden)``, ``("ok", value, changed, forbidden)``
    (``changed[i]``: was argument i modified in place?),
    ``("raised", type_name, message, traceback, forbidden)``; ``forbidden`` is
    the tuple of forbidden packages (``argv[4]``, comma-separated) the submission
    tried to import so far (the import was refused).

Everything sent back is built from plain ``tuple``/``list``/``str``/``bytes``/
``int``/``float``/``None``, with arrays as ``("nd", dtype, shape, bytes,
type_name)``, so that the grader can unpickle it without importing anything
(see ``worker._SafeUnpickler``). The student's output goes to this process's
stdout/stderr, which the grader captures and truncates.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import resource
import sys
import traceback

__all__: list[str] = []

#: Longest message or repr sent back, in characters.
TEXT_LIMIT = 2000
#: Largest array sent back, in bytes (a bigger "answer" is reported, not sent).
ARRAY_BYTES_LIMIT = 64 << 20
#: Python's default recursion limit (1000) is raised so that a correct recursive NMS
#: (one level per kept box) is not failed on the large inputs.
RECURSION_LIMIT = 10_000
#: The name the submission is imported under (so its ``if __name__ == "__main__":``
#: block does not run).
MODULE_NAME = "student_submission"
#: Packages a submission may not import (``argv[4]``, from ``worker.FORBIDDEN_IMPORTS``).
_FORBIDDEN: list[str] = []
#: Top-level names of the forbidden packages the submission tried to import, in order.
_ATTEMPTS: list[str] = []


class _Forbidden:
    """A ``sys.meta_path`` finder that refuses the forbidden packages (and records the attempt).

    Every import statement, ``importlib.import_module`` and ``__import__`` goes
    through it, so the reference cannot be imported under another spelling; an
    ``ImportError`` is raised and the attempt is reported to the grader even if
    the submission catches it.
    """

    @staticmethod
    def find_spec(name, path=None, target=None):
        top = name.partition(".")[0]
        if top in _FORBIDDEN:
            if top not in _ATTEMPTS:
                _ATTEMPTS.append(top)
            raise ImportError(
                f"bboxcore grade: a submission may not import {top!r} (it holds a finished "
                "implementation); write the function yourself with NumPy",
                name=name,
            )
        return None


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    """Cap the address space (-> MemoryError) and the CPU time (-> SIGXCPU) of this process.

    Best effort: a system that refuses a limit (macOS ignores or rejects RLIMIT_AS)
    keeps running without it; the grader's per-call time limit still applies.
    """
    limits = []
    if memory_bytes > 0:
        limits.append((resource.RLIMIT_AS, (memory_bytes, memory_bytes)))
    if cpu_seconds > 0:
        limits.append((resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1)))
    for which, value in limits:
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            pass


def _text(s: object) -> str:
    s = str(s)
    return s if len(s) <= TEXT_LIMIT else s[:TEXT_LIMIT] + " ...[truncated]"


def _type_name(value: object) -> str:
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _encode_array(arr, type_name: str):
    import numpy as np

    arr = np.ascontiguousarray(arr)
    if arr.dtype.kind not in "biuf" or arr.nbytes > ARRAY_BYTES_LIMIT:
        return ("other", type_name, _text(f"array of dtype {arr.dtype} and shape {arr.shape}"))
    return ("nd", arr.dtype.str, tuple(int(n) for n in arr.shape), arr.tobytes(), type_name)


def _encode(value, depth: int = 0):
    """Turn a student's return value into plain data the grader can unpickle safely."""
    import numpy as np

    name = _type_name(value)
    if value is None:
        return ("none",)
    if isinstance(value, np.ndarray | np.generic | int | float | bool):
        return _encode_array(np.asarray(value), name)
    if isinstance(value, list | tuple):
        try:
            arr = np.asarray(value)
        except Exception:  # ragged: fall through
            arr = None
        if arr is not None and arr.dtype.kind in "biuf":
            return _encode_array(arr, name)
        if depth == 0:
            return ("seq", name, [_encode(v, depth + 1) for v in value[:16]])
    return ("other", name, _text(repr(value)))


def _decode(obj):
    """Rebuild the grader's arguments: ``("nd", ...)`` tuples become writable arrays."""
    import numpy as np

    if isinstance(obj, tuple) and obj and obj[0] == "nd":
        _, dtype, shape, data, _ = obj
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    return obj


def _raised(err: BaseException, path: str):
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if os.path.abspath(f.filename) == path] or frames[-1:]
    tb = "".join(traceback.format_list(mine[-5:]))
    return ("raised", type(err).__name__, _text(err), _text(tb))


def _load(path: str, function: str):
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        return ("raised", "ImportError", f"cannot import {path} (is it a .py file?)", "")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    fn = getattr(module, function, None)
    if fn is None:
        defined = sorted(
            k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
        )
        return (
            "raised",
            "AttributeError",
            f"the file defines no function named {function!r}; "
            f"it defines: {', '.join(defined) or 'nothing callable'}",
            "",
        )
    if not callable(fn):
        return ("raised", "TypeError", f"{function!r} is a {_type_name(fn)}, not a function", "")
    return fn


def _main(argv: list[str]) -> int:
    """Serve ``load``/``call`` messages on socket ``argv[1]`` until the grader hangs up.

    ``argv`` is ``[script, FD, MEMORY_BYTES, CPU_SECONDS, FORBIDDEN]``; returns the exit status 0.
    """
    fd, memory_bytes, cpu_seconds = (int(a) for a in argv[1:4])
    _limit(memory_bytes, cpu_seconds)
    _FORBIDDEN[:] = [n for n in (argv[4] if len(argv) > 4 else "").split(",") if n]
    sys.meta_path.insert(0, _Forbidden())
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    send = conn.send_bytes
    dumps = pickle.dumps  # bound now: a submission that patches pickle cannot break replies
    fn = None
    path = ""
    while True:
        try:
            msg = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return 0
        try:
            if msg[0] == "load":
                path = os.path.abspath(msg[1])
                sys.path.append(os.path.dirname(path))  # helper modules beside the file
                loaded = _load(path, msg[2])
                if isinstance(loaded, tuple):
                    reply = loaded
                else:
                    fn, reply = loaded, ("loaded",)
            else:
                args = [_decode(a) for a in msg[1]]
                before = [a.tobytes() if hasattr(a, "tobytes") else None for a in args]
                value = fn(*args)
                changed = [
                    b is not None and (not hasattr(a, "tobytes") or a.tobytes() != b)
                    for a, b in zip(args, before)
                ]
                reply = ("ok", _encode(value), changed)
        except BaseException as err:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, anything
            reply = _raised(err, path)
        reply = (*reply, tuple(_ATTEMPTS))  # last item: forbidden imports tried so far
        try:
            send(dumps(reply))
        except BaseException as err:  # noqa: BLE001 - e.g. MemoryError while pickling
            msg = ("raised", type(err).__name__, _text(err), "while sending the answer")
            send(dumps((*msg, tuple(_ATTEMPTS))))


if __name__ == "__main__":
    sys.exit(_main(sys.argv))

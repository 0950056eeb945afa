"""Files written whole or not at all: a temporary file beside the target, renamed over it.

Every file bboxcore writes for its user (checkpoints, run logs, reports,
detections, the data cache, grading reports, comparison records) goes through
:func:`atomic_write` or :func:`stage`. The data go to ``.<name>.<random>.tmp``
in the target's folder; once it is complete and closed, :func:`os.replace`
renames it over the target, which is atomic on POSIX and Windows within one
file system. A reader, or a run killed at any moment, sees the old file or the
new one, never half of one. On any error (a full disk, Ctrl-C) the temporary
is removed and the target is left as it was; only a process killed outright
(SIGKILL, power loss) can leave a ``.<name>.*.tmp`` behind, beside an intact
target (:func:`bboxcore.models.trainer.remove_stale_temporaries` clears a run
folder's).

The file gets the permissions a plain :func:`open` would give it (``0o666``
less the umask), not :func:`tempfile.mkstemp`'s owner-only ``0o600``. An
``OSError`` of the write names the target, not the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = ["MODES", "atomic_write", "stage"]

#: The ``mode`` values :func:`atomic_write` and :func:`stage` accept: a new file, text or bytes.
MODES = ("w", "wb")


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike,
    mode: str = "w",
    *,
    durable: bool = False,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO]:
    """Open a new file that replaces ``path`` atomically when the block ends without error.

    Parameters
    ----------
    path : str or PathLike
        The file to write; its folder must exist.
    mode : {'w', 'wb'}
        Text or bytes.
    durable : bool
        Flush the data to the disk (:func:`os.fsync`) before the rename, so
        that after a power loss ``path`` is the old file or the complete new
        one (checkpoints); costs a disk round trip.
    encoding, newline : str, optional
        As for :func:`open` (text mode only).

    Yields
    ------
    file object
        The temporary file, open in ``mode``.

    Raises
    ------
    ValueError
        If ``mode`` is not in :data:`MODES`, or ``encoding``/``newline`` is
        given with ``'wb'``.
    OSError
        If the file cannot be written (missing folder, full disk, no
        permission), naming ``path``; ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "ap.txt"
    >>> with atomic_write(path) as f:
    ...     _ = f.write("0.5")
    >>> path.read_text()
    '0.5'
    >>> try:
    ...     with atomic_write(path) as f:
    ...         _ = f.write("half")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> path.read_text(), [p.name for p in path.parent.iterdir()]  # no temporary left
    ('0.5', ['ap.txt'])
    """
    path = Path(path)
    with _temporary(path, mode, durable, encoding, newline) as (f, tmp):
        yield f
    try:
        os.replace(tmp, path)
    except BaseException as err:
        _discard(tmp, err, path)


def stage(path: str | os.PathLike, write: Callable[[IO], object], mode: str = "wb") -> Path:
    """Write a file beside ``path`` with ``write(file)``; the caller renames it over ``path``.

    For outputs that must change together (an image per input and the JSON
    listing them): stage every file, then :func:`os.replace` each; on a
    failure, unlink the staged ones and no output has changed.

    Parameters
    ----------
    path : str or PathLike
        The file the temporary will replace; its folder must exist.
    write : callable
        Called with the open temporary file.
    mode : {'w', 'wb'}
        Text or bytes.

    Returns
    -------
    Path
        The complete, closed temporary file ``.<name>.<random>.tmp``.

    Raises
    ------
    ValueError
        If ``mode`` is not in :data:`MODES`.
    OSError
        If the file cannot be written, naming ``path``; no temporary is left.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "detections.json"
    >>> tmp = stage(path, lambda f: f.write(b"[]"))
    >>> path.exists(), tmp.name.startswith(".detections.json.")
    (False, True)
    >>> os.replace(tmp, path); path.read_bytes()
    b'[]'
    """
    path = Path(path)
    with _temporary(path, mode, False, None, None) as (f, tmp):
        write(f)
    return tmp


@contextlib.contextmanager
def _temporary(path: Path, mode: str, durable: bool, encoding, newline):
    """Yield ``(file, temporary path)``; on exit the file is closed and has open()'s mode."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if mode == "wb" and (encoding is not None or newline is not None):
        raise ValueError("encoding and newline are for text files; got mode 'wb'")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _named(err, path) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f, tmp
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it owner-only
    except BaseException as err:  # including KeyboardInterrupt: never leave the temporary
        _discard(tmp, err, path)


def _discard(tmp: Path, err: BaseException, path: Path):
    """Remove ``tmp``; re-raise ``err``, an OSError of the temporary as one of ``path``."""
    tmp.unlink(missing_ok=True)
    if isinstance(err, OSError) and err.filename in (None, str(tmp)):
        raise _named(err, path) from None
    raise err


def _named(err: OSError, path: Path) -> OSError:
    """``err`` naming ``path`` (an error without an errno is kept as it is)."""
    return err if err.errno is None else type(err)(err.errno, err.strerror, str(path))


def _umask() -> int:
    """The process's umask (reading it means setting it: set it back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask

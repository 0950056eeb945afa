"""bboxcore.atomic: a file is replaced whole or not at all, with open()'s permissions."""

from __future__ import annotations

import errno
import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.atomic import MODES, atomic_write, stage


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _open_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@given(old=st.none() | st.binary(max_size=64), new=st.binary(max_size=256), fail=st.booleans())
def test_the_file_is_the_old_one_or_the_new_one_and_nothing_else_is_left(
    tmp_path_factory, old, new, fail
):
    folder = tmp_path_factory.mktemp("atomic")
    path = folder / "out.bin"
    if old is not None:
        path.write_bytes(old)
    try:
        with atomic_write(path, "wb") as f:
            f.write(new[: len(new) // 2])
            if fail:
                raise KeyboardInterrupt  # half written
            f.write(new[len(new) // 2 :])
    except KeyboardInterrupt:
        pass
    if fail:
        assert (path.read_bytes() if old is not None else None) == old
        assert _listing(folder) == ([] if old is None else ["out.bin"])
    else:
        assert path.read_bytes() == new and _listing(folder) == ["out.bin"]


@given(text=st.text(max_size=64), newline=st.sampled_from([None, "", "\n", "\r\n"]))
def test_text_mode_writes_what_open_would(tmp_path_factory, text, newline):
    folder = tmp_path_factory.mktemp("text")
    with atomic_write(folder / "a.txt", "w", encoding="utf-8", newline=newline) as f:
        f.write(text)
    with open(folder / "b.txt", "w", encoding="utf-8", newline=newline) as f:
        f.write(text)
    assert (folder / "a.txt").read_bytes() == (folder / "b.txt").read_bytes()


def test_the_new_file_has_the_permissions_of_a_plain_open(tmp_path):
    with atomic_write(tmp_path / "a", "wb") as f:
        f.write(b"x")
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == _open_mode()  # not mkstemp's 0o600


def test_durable_writes_the_same_bytes(tmp_path):
    with atomic_write(tmp_path / "ckpt", "wb", durable=True) as f:
        f.write(b"weights")
    assert (tmp_path / "ckpt").read_bytes() == b"weights"


def test_an_os_error_names_the_target_not_the_temporary(tmp_path):
    missing = tmp_path / "no such folder" / "out.json"
    with pytest.raises(FileNotFoundError) as err:
        with atomic_write(missing) as f:
            f.write("{}")
    assert err.value.filename == str(missing)
    target = tmp_path / "a folder"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as err:  # the rename over a folder fails
        with atomic_write(target) as f:
            f.write("{}")
    assert err.value.filename == str(target) and _listing(tmp_path) == ["a folder"]


def test_a_full_disk_during_the_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old")
    with pytest.raises(OSError) as err:
        with atomic_write(path) as f:
            f.write("new")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a failed write()
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_text() == "old" and _listing(tmp_path) == ["log.csv"]


def test_an_error_of_another_file_keeps_its_name(tmp_path):
    other = str(tmp_path / "input.png")
    with pytest.raises(FileNotFoundError) as err:
        with atomic_write(tmp_path / "out.json") as f:
            f.write("{")
            open(other)  # noqa: SIM115 - the error of the caller's own file
    assert err.value.filename == other and _listing(tmp_path) == []


@pytest.mark.parametrize("mode", ["r", "a", "x", "w+", "rb", "ab", 1])
def test_a_mode_other_than_a_new_file_is_refused_before_anything_is_written(tmp_path, mode):
    with pytest.raises(ValueError, match=r"mode must be one of \('w', 'wb'\)"):
        with atomic_write(tmp_path / "a", mode):
            pass
    with pytest.raises(ValueError, match="mode must be one of"):
        stage(tmp_path / "a", lambda f: None, mode)
    assert _listing(tmp_path) == [] and MODES == ("w", "wb")


def test_encoding_with_bytes_is_refused(tmp_path):
    with pytest.raises(ValueError, match="encoding and newline are for text files"):
        with atomic_write(tmp_path / "a", "wb", encoding="utf-8"):
            pass


@given(data=st.lists(st.binary(max_size=32), min_size=1, max_size=4), fail_at=st.integers(0, 4))
def test_staged_files_change_together_or_not_at_all(tmp_path_factory, data, fail_at):
    folder = tmp_path_factory.mktemp("staged")
    targets = [folder / f"out{k}" for k in range(len(data))]
    for t in targets:
        t.write_bytes(b"old")
    staged = []
    try:
        for k, (t, d) in enumerate(zip(targets, data)):
            if k == fail_at:
                raise KeyboardInterrupt
            staged.append((stage(t, lambda f, d=d: f.write(d)), t))
        for tmp, t in staged:
            os.replace(tmp, t)
    except KeyboardInterrupt:
        for tmp, _ in staged:
            tmp.unlink()
    expected = [b"old"] * len(data) if fail_at < len(data) else data
    assert [t.read_bytes() for t in targets] == expected
    assert _listing(folder) == sorted(t.name for t in targets)


def test_a_failing_stage_leaves_no_temporary(tmp_path):
    def write(f):
        f.write(b"half")
        raise RuntimeError("matplotlib failed")

    with pytest.raises(RuntimeError, match="matplotlib failed"):
        stage(tmp_path / "a.png", write)
    assert _listing(tmp_path) == []

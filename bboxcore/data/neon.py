"""NEON tree crowns: real airborne RGB images with hand-drawn tree-crown boxes.

The four annotated images that the DeepForest package [1]_ ships (MIT
licence) from the NEON airborne observation platform [2]_ (10 cm RGB
orthophotos; CC0 at collection, cite NEON):

============================================= =========== ======
image                                         size (WxH)  boxes
============================================= =========== ======
OSBS_029 (Ordway-Swisher, Florida)            400x400     61
SOAP_061 (Soaproot Saddle, California)        400x400     37
2019_YELL_2_528000_4978000_image_crop2        2299x2472   574
2019_YELL_2_541000_4977000_image_crop         1249x1035   279
============================================= =========== ======

951 boxes in all, one class ``Tree`` (SOAP_061's ``Alive``/``Dead`` names are
mapped to ``Tree``). The files are fetched once from PyPI by
:func:`bboxcore.data.fetch.fetch` (``pip download --no-deps deepforest==2.1.0``,
SHA-256 checked) into the cache; see ``bboxcore/data/ATTRIBUTION.md``.

Tiling. Each image (optionally rescaled by ``scale`` first) is cut into a
grid of non-overlapping ``tile_size`` squares (edge tiles are zero-padded;
:func:`bboxcore.data.transforms.tile_image`). A box cut by a tile edge is kept,
clipped, in the tile holding at least ``min_visible`` of its area; boxes cut
into small parts by a tile corner may be in no tile and are listed in
:attr:`NeonTreeCrowns.dropped`.

The split (``protocol``). The four images are very unequal: one holds 60 % of
the crowns, and SOAP_061 (the only image with dead trees) is four 320-px tiles.
A plain shuffle of all tiles can put most of an image on one side -- the first
split of this data set put 31 dead crowns in the test tiles and 6 in training.

* ``'blocks'`` (default) -- cross-validation over spatial blocks, stratified
  per image. Each image's tile grid is cut into blocks of 2 x 2 tiles (of
  1 x 1 tile when the image has fewer than ``n_fold`` such blocks, as the two
  400-px images at 320-px tiles), the blocks of each image are shuffled with
  ``seed`` and dealt to the ``n_fold`` folds in turn, and fold ``fold`` is the
  test split. So every image with at least ``n_fold`` blocks (all four, at
  the default 320-px tiles and four folds) has tiles on both sides in every
  fold, each fold tests on about ``1 / n_fold`` of every image, and a test
  block's neighbours in the training split touch it only along its border.
  (SOAP_061's four 320-px tiles hold 25, 6, 6 and 0 of its 37 crowns, so its
  share of a fold's test crowns still varies from fold to fold; the earlier
  shuffle had put 31 of them in the test split and 6 in training.)
  Running folds 0, 1, ..., ``n_fold - 1`` tests every tile once (k-fold
  cross-validation, as Roberts et al. [3]_ recommend for spatially
  autocorrelated data).
* ``'shuffled'`` -- the earlier split, kept to reproduce its figures: all
  tiles shuffled with ``seed``, the first ``round(test_fraction * n)`` are
  the test split.

In both, the two splits are sets of distinct grid cells, so no training tile
overlaps a test tile. (A crown cut by the edge between a training and a test
tile still shows some of its pixels on both sides; its box is in one.)

References
----------
.. [1] B. G. Weinstein, S. Marconi, S. Bohlman, A. Zare, E. White.
   "Individual Tree-Crown Detection in RGB Imagery Using Semi-Supervised Deep
   Learning Neural Networks." Remote Sensing 11(11):1309, 2019; and
   B. G. Weinstein et al. "DeepForest: A Python package for RGB deep learning
   tree crown delineation." Methods in Ecology and Evolution 11:1743, 2020.
.. [2] National Ecological Observatory Network (NEON). High-resolution
   orthorectified camera imagery (DP3.30010.001). Battelle, Boulder, CO.
.. [3] D. R. Roberts et al. "Cross-validation strategies for data with
   temporal, spatial, hierarchical, or phylogenetic structure." Ecography
   40(8):913-929, 2017.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from bboxcore.data.fetch import DEEPFOREST, fetch
from bboxcore.data.sample import Annotation, Sample, load_image
from bboxcore.data.transforms import crop, crop_boxes, resize, tile_grid
from bboxcore.data.voc import read_voc_xml

__all__ = ["NEON_IMAGES", "PROTOCOLS", "NeonTreeCrowns", "spatial_folds"]

#: The four annotated scenes (file stems in the DeepForest wheel).
NEON_IMAGES = (
    "OSBS_029",
    "SOAP_061",
    "2019_YELL_2_528000_4978000_image_crop2",
    "2019_YELL_2_541000_4977000_image_crop",
)
_NAMES_IN_FILES = ("Tree", "Alive", "Dead")  # all mapped to the one class "Tree"
_SPLITS = ("train", "test", "all")
PROTOCOLS = ("blocks", "shuffled")
#: Side of a spatial block of the ``'blocks'`` protocol, in tiles.
BLOCK_TILES = 2


@functools.lru_cache(maxsize=4)
def _load_scenes(folder: str, scale: float):
    """Decode the four images once per process (the big PNG takes ~0.5 s)."""
    scenes = []
    for stem in NEON_IMAGES:
        # DeepForest's XML boxes are continuous 0-based pixels (they reach xmax = width).
        ann = read_voc_xml(Path(folder) / f"{stem}.xml", _NAMES_IN_FILES, one_based=False)
        image = load_image(Path(folder) / f"{stem}.png")
        if image.shape[:2] != ann.img_size:
            raise ValueError(f"{stem}.png is {image.shape[:2]} but its XML says {ann.img_size}")
        bbox = ann.bbox
        if scale != 1.0:
            h, w = image.shape[:2]
            size = (max(1, round(h * scale)), max(1, round(w * scale)))
            image, bbox = resize(image, bbox, size)
            image = np.clip(image, 0, 1, out=image)
        scenes.append((stem, image, bbox.astype(np.float32)))
    return scenes


class NeonTreeCrowns:
    """Tiles of the four DeepForest/NEON tree-crown images, split spatially.

    Parameters
    ----------
    split : {'train', 'test', 'all'}
        Which tiles; ``'all'`` is every tile of the grid (train + test).
    tile_size : int
        Tile side in pixels, after rescaling; 256-400 suits a small CNN.
    scale : float
        Rescale every image by this factor before tiling (e.g. 0.5 halves
        the resolution: crowns of 20-60 px become 10-30 px).
    protocol : {'blocks', 'shuffled'}
        How tiles are split (module docstring): stratified spatial-block
        folds (default) or the earlier shuffle of all tiles.
    fold : int in [0, n_fold)
        ``'blocks'``: the fold that forms the test split.
    n_fold : int >= 2
        ``'blocks'``: the number of folds.
    test_fraction : float in (0, 1)
        ``'shuffled'``: share of the tiles that go to the test split.
    seed : int
        Seed of the block deal (``'blocks'``) or of the tile shuffle
        (``'shuffled'``); the same seed gives the same split.
    min_visible : float
        Share of a box's area that must fall in a tile to keep it there.
    cache : str or Path, optional
        Cache root for the fetched files (default ``$BBOXCORE_CACHE`` or
        ``~/.cache/bboxcore``).

    Attributes
    ----------
    class_names : tuple of str
        ``('Tree',)``.
    windows : list of (str, (x0, y0, x1, y1))
        Source image and window (in rescaled pixels) of each tile of this split.
    dropped : list of (str, ndarray (4,))
        Boxes of the rescaled images kept in no tile of the grid (all splits).

    Raises
    ------
    ValueError
        If an argument is out of range.
    bboxcore.data.fetch.DatasetFetchError
        If the files cannot be fetched (the message says what to do offline).

    Examples
    --------
    >>> ds = NeonTreeCrowns("test", tile_size=320)  # fetches DeepForest's wheel at first use
    >>> s = ds[0]
    >>> s.image.shape, s.bbox.shape[1], ds.class_names, len(ds)
    ((320, 320, 3), 4, ('Tree',), 22)
    >>> from collections import Counter  # every image has tiles in every fold's test split
    >>> sorted(Counter(src for src, _ in ds.windows).values())
    [1, 1, 4, 16]
    """

    class_names = ("Tree",)

    def __init__(
        self,
        split: str = "train",
        tile_size: int = 400,
        *,
        scale: float = 1.0,
        protocol: str = "blocks",
        fold: int = 0,
        n_fold: int = 4,
        test_fraction: float = 0.25,
        seed: int = 0,
        min_visible: float = 0.5,
        cache=None,
    ):
        if split not in _SPLITS:
            raise ValueError(f"split must be one of {_SPLITS}; got {split!r}")
        if int(tile_size) != tile_size or tile_size < 16:
            raise ValueError(f"tile_size must be an integer >= 16; got {tile_size!r}")
        if not 0 < scale <= 4:
            raise ValueError(f"scale must be in (0, 4]; got {scale}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}; got {protocol!r}")
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
        if int(n_fold) != n_fold or n_fold < 2:
            raise ValueError(f"n_fold must be an integer >= 2; got {n_fold!r}")
        if int(fold) != fold or not 0 <= fold < n_fold:
            raise ValueError(f"fold must be an integer in [0, {n_fold}); got {fold!r}")
        self.split, self.tile_size, self.scale = split, int(tile_size), float(scale)
        self.protocol, self.fold, self.n_fold = protocol, int(fold), int(n_fold)
        self._scenes = _load_scenes(str(fetch(DEEPFOREST, cache=cache)), self.scale)
        # Every grid cell of every image, in a fixed order.
        grids = [tile_grid(image.shape[:2], self.tile_size) for _, image, _ in self._scenes]
        cells = [(k, tuple(win)) for k, grid in enumerate(grids) for win in grid.tolist()]
        if protocol == "blocks":
            folds = np.concatenate(
                [
                    spatial_folds(image.shape[:2], self.tile_size, self.n_fold, seed=seed + k)
                    for k, (_, image, _) in enumerate(self._scenes)
                ]
            )
            is_test = folds == self.fold
        else:
            order = np.random.default_rng(seed).permutation(len(cells))
            n_test = min(len(cells) - 1, max(1, round(test_fraction * len(cells))))
            is_test = np.zeros(len(cells), bool)
            is_test[order[:n_test]] = True
        chosen = {"test": is_test, "train": ~is_test, "all": np.ones(len(cells), bool)}
        self._cells = [cells[i] for i in np.flatnonzero(chosen[split])]
        self.windows = [(self._scenes[k][0], win) for k, win in self._cells]
        self.min_visible = float(min_visible)
        self.dropped = self._dropped_boxes()

    def _dropped_boxes(self):
        dropped = []
        for stem, image, bbox in self._scenes:
            seen = np.zeros(len(bbox), dtype=bool)
            for win in tile_grid(image.shape[:2], self.tile_size).tolist():
                seen[crop_boxes(bbox, win, min_visible=self.min_visible)[1]] = True
            dropped += [(stem, b) for b in bbox[~seen]]
        return dropped

    def __len__(self) -> int:
        return len(self._cells)

    def __getitem__(self, i: int) -> Sample:
        k, win = self._cells[i]
        stem, image, bbox = self._scenes[k]
        tile, box, _ = crop(image, bbox, win, min_visible=self.min_visible)
        image_id = f"{stem}_x{win[0]}_y{win[1]}"
        return Sample(tile, box, np.zeros(len(box), np.int64), image_id=image_id)

    def annotation(self, i: int) -> Annotation:
        """The boxes of tile ``i`` without decoding pixels (for evaluation).

        Parameters
        ----------
        i : int

        Returns
        -------
        Annotation
        """
        k, win = self._cells[i]
        stem, _, bbox = self._scenes[k]
        box, _ = crop_boxes(bbox, win, min_visible=self.min_visible)
        return Annotation(
            box,
            np.zeros(len(box), np.int64),
            image_id=f"{stem}_x{win[0]}_y{win[1]}",
            img_size=(self.tile_size, self.tile_size),
        )

    def __repr__(self) -> str:
        return (
            f"NeonTreeCrowns(split={self.split!r}, tile_size={self.tile_size}, "
            f"scale={self.scale}, protocol={self.protocol!r}, "
            + (f"fold={self.fold}/{self.n_fold}, " if self.protocol == "blocks" else "")
            + f"tiles={len(self)})"
        )


def spatial_folds(img_size, tile_size: int, n_fold: int, *, seed: int = 0) -> np.ndarray:
    """The fold of each tile of an image, dealt by spatial blocks.

    The tile grid of :func:`bboxcore.data.transforms.tile_grid` is cut into
    blocks of :data:`BLOCK_TILES` x :data:`BLOCK_TILES` tiles (1 x 1 when that
    gives fewer than ``n_fold`` blocks); the blocks are shuffled with ``seed``
    and block ``j`` of the shuffle goes to fold ``j mod n_fold``, so the folds'
    block counts differ by at most one and every fold gets a block when the
    image has at least ``n_fold`` of them.

    Parameters
    ----------
    img_size : (H, W)
        Image size in pixels.
    tile_size : int
        Tile side in pixels.
    n_fold : int >= 2
    seed : int

    Returns
    -------
    ndarray, shape (T,), int64
        Fold of each tile, in the row-major order of ``tile_grid``.

    Raises
    ------
    ValueError
        If ``n_fold`` < 2 or a size is not positive.

    Examples
    --------
    >>> spatial_folds((1280, 1280), 320, 4, seed=0).reshape(4, 4)  # 2 x 2 blocks
    array([[1, 1, 2, 2],
           [1, 1, 2, 2],
           [0, 0, 3, 3],
           [0, 0, 3, 3]])
    >>> spatial_folds((400, 400), 320, 4, seed=0).reshape(2, 2)  # 1 x 1 blocks
    array([[1, 2],
           [0, 3]])
    """
    if int(n_fold) != n_fold or n_fold < 2:
        raise ValueError(f"n_fold must be an integer >= 2; got {n_fold!r}")
    grid = tile_grid(img_size, tile_size)
    gh = len(np.unique(grid[:, 1]))
    gw = len(grid) // gh
    b = BLOCK_TILES
    if -(-gh // b) * -(-gw // b) < n_fold:
        b = 1
    rows, cols = np.divmod(np.arange(len(grid)), gw)
    block = (rows // b) * -(-gw // b) + cols // b
    n_block = int(block.max()) + 1
    fold_of_block = np.empty(n_block, np.int64)
    fold_of_block[np.random.default_rng(seed).permutation(n_block)] = np.arange(n_block) % n_fold
    return fold_of_block[block]

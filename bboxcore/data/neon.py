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

Tiling and the split. Each image (optionally rescaled by ``scale`` first) is
cut into a grid of non-overlapping ``tile_size`` squares (edge tiles are
zero-padded; :func:`bboxcore.data.transforms.tile_image`). A box cut by a
tile edge is kept, clipped, in the tile holding at least ``min_visible`` of
its area; boxes cut into small parts by a tile corner may be in no tile and
are listed in :attr:`NeonTreeCrowns.dropped`. The tiles of all four images
are shuffled with ``seed`` and the first ``round(test_fraction * n)`` form the
test split: the two splits are sets of distinct grid cells, so no training
tile overlaps a test tile. (A crown cut by the edge between a training and a
test tile still shows some of its pixels on both sides; its box is in one.)

References
----------
.. [1] B. G. Weinstein, S. Marconi, S. Bohlman, A. Zare, E. White.
   "Individual Tree-Crown Detection in RGB Imagery Using Semi-Supervised Deep
   Learning Neural Networks." Remote Sensing 11(11):1309, 2019; and
   B. G. Weinstein et al. "DeepForest: A Python package for RGB deep learning
   tree crown delineation." Methods in Ecology and Evolution 11:1743, 2020.
.. [2] National Ecological Observatory Network (NEON). High-resolution
   orthorectified camera imagery (DP3.30010.001). Battelle, Boulder, CO.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from bboxcore.data.fetch import DEEPFOREST, fetch
from bboxcore.data.sample import Annotation, Sample, load_image
from bboxcore.data.transforms import crop, crop_boxes, resize, tile_grid
from bboxcore.data.voc import read_voc_xml

__all__ = ["NEON_IMAGES", "NeonTreeCrowns"]

#: The four annotated scenes (file stems in the DeepForest wheel).
NEON_IMAGES = (
    "OSBS_029",
    "SOAP_061",
    "2019_YELL_2_528000_4978000_image_crop2",
    "2019_YELL_2_541000_4977000_image_crop",
)
_NAMES_IN_FILES = ("Tree", "Alive", "Dead")  # all mapped to the one class "Tree"
_SPLITS = ("train", "test", "all")


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
    test_fraction : float in (0, 1)
        Share of the tiles that go to the test split.
    seed : int
        Seed of the tile shuffle; the same seed gives the same split.
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
    >>> ds = NeonTreeCrowns("test", tile_size=400)  # fetches DeepForest's wheel at first use
    >>> s = ds[0]
    >>> s.image.shape, s.bbox.shape[1], ds.class_names, len(ds)
    ((400, 400, 3), 4, ('Tree',), 14)
    """

    class_names = ("Tree",)

    def __init__(
        self,
        split: str = "train",
        tile_size: int = 400,
        *,
        scale: float = 1.0,
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
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
        self.split, self.tile_size, self.scale = split, int(tile_size), float(scale)
        self._scenes = _load_scenes(str(fetch(DEEPFOREST, cache=cache)), self.scale)
        # Every grid cell of every image, in a fixed order, then shuffled with the seed.
        cells = [
            (k, tuple(win))
            for k, (_, image, _) in enumerate(self._scenes)
            for win in tile_grid(image.shape[:2], self.tile_size).tolist()
        ]
        order = np.random.default_rng(seed).permutation(len(cells))
        n_test = min(len(cells) - 1, max(1, round(test_fraction * len(cells))))
        chosen = {"test": order[:n_test], "train": order[n_test:], "all": np.arange(len(cells))}
        self._cells = [cells[i] for i in np.sort(chosen[split])]
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
            f"scale={self.scale}, tiles={len(self)})"
        )

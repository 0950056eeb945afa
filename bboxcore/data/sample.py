"""The in-memory types that every reader, data set and metric of bboxcore shares.

* :class:`Sample` — one image with its boxes: what ``dataset[i]`` returns.
* :class:`Annotation` — the ground truth of one image without its pixels: what
  the readers return and what :func:`bboxcore.eval.voc_ap` and
  :func:`bboxcore.eval.coco_ap` take as ``gt``.
* :class:`Detection` — the predictions of a detector on one image (boxes,
  labels, scores): what the metrics take as ``pred``.

All three hold boxes ``(x_min, y_min, x_max, y_max)`` in continuous pixels
(see :mod:`bboxcore.boxes`) and class labels ``0 .. K-1`` (no background
class: background is the absence of a box). They validate and convert their
fields when built, so a data set or a reader that builds one cannot hand out
a malformed sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bboxcore.boxes import as_boxes, as_float_array, check_finite

__all__ = ["Annotation", "AnnotationSet", "Detection", "FormatError", "Sample", "load_image"]


class FormatError(ValueError):
    """A malformed annotation or prediction file: the message names the file and the problem.

    Parameters
    ----------
    path : str or Path
        The offending file.
    problem : str
        What is wrong with it, e.g. ``"object 3: <bndbox> has no <xmax>"``.

    Examples
    --------
    >>> str(FormatError("a.xml", "missing <size>"))
    'a.xml: missing <size>'
    """

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def _as_vector(x, name: str, n: int, dtype, default=None) -> np.ndarray:
    """A length-``n`` vector of ``dtype`` (a copy), or ``default`` filled when ``x`` is None."""
    if x is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape (R,) = ({n},) matching bbox; got {arr.shape}")
    if dtype is np.int64:
        if arr.size and arr.dtype.kind not in "iu":
            if arr.dtype.kind != "f" or not np.array_equal(arr, np.round(arr)):
                raise TypeError(f"{name} must hold integers; got dtype {arr.dtype}")
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name} must be >= 0 (classes are 0 .. K-1); got {arr.min()}")
    elif dtype is bool:
        if arr.size and arr.dtype.kind not in "biu":
            raise TypeError(f"{name} must be boolean; got dtype {arr.dtype}")
    else:
        arr = as_float_array(arr, name)
        check_finite(arr, name)
    return np.array(arr, dtype=dtype)


#: Largest coordinate the float32 storage of boxes accepts (pixels).
MAX_COORD = float(np.finfo(np.float32).max)


def _box_fields(bbox, label):
    box = as_boxes(bbox, "bbox")
    if box.size and np.abs(box).max() > MAX_COORD:
        raise ValueError(
            f"bbox values must fit in float32 (|x| <= {MAX_COORD:.3g}); got {np.abs(box).max():.3g}"
        )
    box = np.array(box, dtype=np.float32)
    return box, _as_vector(label, "label", box.shape[0], np.int64)


@dataclass(frozen=True, eq=False)
class Sample:
    """One image with its ground-truth boxes, as returned by ``dataset[i]``.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        RGB pixels in [0, 1]. Other floating dtypes are converted to float32.
    bbox : ndarray, shape (R, 4), float32
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels of ``image``.
    label : ndarray, shape (R,), int64
        Class of each box, in ``0 .. K-1``.
    difficult : ndarray, shape (R,), bool, optional
        Pascal VOC's "difficult" flag; all False when omitted.
    image_id : str or int, optional
        Where the sample comes from (file stem, tile name...).

    Raises
    ------
    ValueError
        If the image is not (H, W, 3) in [0, 1], the boxes are not valid
        (R, 4), or a per-box field does not have length R.
    TypeError
        If an array has a non-numeric dtype.

    Examples
    --------
    >>> s = Sample(np.zeros((4, 6, 3), np.float32), [[0, 0, 2, 3]], [1])
    >>> s.bbox.dtype, s.label, s.difficult
    (dtype('float32'), array([1]), array([False]))
    """

    image: np.ndarray
    bbox: np.ndarray
    label: np.ndarray
    difficult: np.ndarray | None = None
    image_id: str | int | None = None

    def __post_init__(self):
        img = np.asarray(self.image)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"image must have shape (H, W, 3); got {img.shape}")
        if img.dtype.kind != "f":
            raise TypeError(f"image must be floating in [0, 1]; got dtype {img.dtype}")
        img = img.astype(np.float32, copy=False)
        if img.size and not (np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1):
            raise ValueError("image values must be finite and in [0, 1]")
        box, label = _box_fields(self.bbox, self.label)
        object.__setattr__(self, "image", img)
        object.__setattr__(self, "bbox", box)
        object.__setattr__(self, "label", label)
        object.__setattr__(
            self, "difficult", _as_vector(self.difficult, "difficult", len(box), bool, False)
        )

    @property
    def img_size(self) -> tuple[int, int]:
        """``(H, W)`` of the image in pixels."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def annotation(self) -> Annotation:
        """The ground truth of this sample without its pixels.

        Returns
        -------
        Annotation

        Examples
        --------
        >>> Sample(np.zeros((4, 6, 3)), [[0, 0, 2, 3]], [1]).annotation().img_size
        (4, 6)
        """
        return Annotation(
            self.bbox, self.label, self.difficult, image_id=self.image_id, img_size=self.img_size
        )


@dataclass(frozen=True, eq=False)
class Annotation:
    """The ground truth of one image: boxes, classes and flags, without the pixels.

    Parameters
    ----------
    bbox : ndarray, shape (R, 4), float32
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    label : ndarray, shape (R,), int64
        Class of each box, in ``0 .. K-1``.
    difficult : ndarray, shape (R,), bool, optional
        VOC "difficult" flags (ignored by :func:`bboxcore.eval.voc_ap`); all
        False when omitted.
    iscrowd : ndarray, shape (R,), bool, optional
        COCO "crowd" flags (ignored regions in :func:`bboxcore.eval.coco_ap`);
        all False when omitted.
    area : ndarray, shape (R,), float, optional
        COCO's ``area`` field (the segmentation area), used for the
        small/medium/large ranges; the box area when omitted.
    image_id : str or int, optional
        The image's identifier (file stem for VOC/YOLO, ``id`` for COCO).
    img_size : (H, W), optional
        Image height and width in pixels.
    filename : str, optional
        The image file name, relative to the data set's image folder.

    Raises
    ------
    ValueError, TypeError
        As for :class:`Sample`.

    Examples
    --------
    >>> a = Annotation([[0, 0, 2, 3]], [0])
    >>> a.iscrowd, a.box_area()
    (array([False]), array([6.], dtype=float32))
    """

    bbox: np.ndarray
    label: np.ndarray
    difficult: np.ndarray | None = None
    iscrowd: np.ndarray | None = None
    area: np.ndarray | None = None
    image_id: str | int | None = None
    img_size: tuple[int, int] | None = None
    filename: str | None = None

    def __post_init__(self):
        box, label = _box_fields(self.bbox, self.label)
        n = len(box)
        object.__setattr__(self, "bbox", box)
        object.__setattr__(self, "label", label)
        object.__setattr__(
            self, "difficult", _as_vector(self.difficult, "difficult", n, bool, False)
        )
        object.__setattr__(self, "iscrowd", _as_vector(self.iscrowd, "iscrowd", n, bool, False))
        if self.area is not None:
            object.__setattr__(self, "area", _as_vector(self.area, "area", n, np.float64))
        if self.img_size is not None:
            h, w = (int(v) for v in self.img_size)
            object.__setattr__(self, "img_size", (h, w))

    def box_area(self) -> np.ndarray:
        """``area`` if it was given, else the box areas ``(x_max - x_min)(y_max - y_min)``.

        Returns
        -------
        ndarray, shape (R,)
        """
        if self.area is not None:
            return self.area.copy()
        return (self.bbox[:, 2] - self.bbox[:, 0]) * (self.bbox[:, 3] - self.bbox[:, 1])


@dataclass(frozen=True, eq=False)
class Detection:
    """A detector's output on one image: boxes, classes and confidence scores.

    Parameters
    ----------
    bbox : ndarray, shape (R, 4), float32
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    label : ndarray, shape (R,), int64
        Predicted class of each box, in ``0 .. K-1``.
    score : ndarray, shape (R,), float64
        Confidence; higher is more confident. Any finite real.
    image_id : str or int, optional
        The image's identifier.

    Raises
    ------
    ValueError, TypeError
        If the shapes disagree, a value is not finite, or a box is inverted.

    Examples
    --------
    >>> Detection([[0, 0, 2, 3]], [0], [0.9]).score
    array([0.9])
    """

    bbox: np.ndarray
    label: np.ndarray
    score: np.ndarray
    image_id: str | int | None = None

    def __post_init__(self):
        box, label = _box_fields(self.bbox, self.label)
        object.__setattr__(self, "bbox", box)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "score", _as_vector(self.score, "score", len(box), np.float64))


@dataclass(eq=False)
class AnnotationSet:
    """The ground truth of a folder or file of images, as returned by the format readers.

    Parameters
    ----------
    annotations : list of Annotation
        One per image, in the reader's documented order.
    class_names : tuple of str
        ``class_names[k]`` is the name of label ``k``.
    image_paths : list of Path or None
        The image file of each annotation (None where unknown).
    category_ids : tuple of int, optional
        COCO only: ``category_ids[k]`` is the ``category_id`` of label ``k``.

    Examples
    --------
    >>> s = AnnotationSet([Annotation([[0, 0, 1, 1]], [0], image_id="a")], ("cat",), [None])
    >>> len(s), s[0].image_id
    (1, 'a')
    """

    annotations: list[Annotation]
    class_names: tuple[str, ...]
    image_paths: list | None = None
    category_ids: tuple[int, ...] | None = None

    def __post_init__(self):
        self.class_names = tuple(self.class_names)
        if self.image_paths is None:
            self.image_paths = [None] * len(self.annotations)
        if len(self.image_paths) != len(self.annotations):
            raise ValueError(
                f"image_paths must have one entry per annotation ({len(self.annotations)}); "
                f"got {len(self.image_paths)}"
            )

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, i: int) -> Annotation:
        return self.annotations[i]

    def load_sample(self, i: int) -> Sample:
        """Read image ``i`` from disk and return it with its boxes.

        Parameters
        ----------
        i : int

        Returns
        -------
        Sample

        Raises
        ------
        FileNotFoundError
            If the image path is unknown or missing.
        FormatError
            If the image's size differs from the annotation's.
        """
        path = self.image_paths[i]
        if path is None:
            raise FileNotFoundError(f"annotation {i} has no known image file")
        ann = self.annotations[i]
        image = load_image(path)
        if ann.img_size is not None and image.shape[:2] != ann.img_size:
            raise FormatError(
                path, f"image is {image.shape[:2]} (H, W) but its annotation says {ann.img_size}"
            )
        return Sample(image, ann.bbox, ann.label, ann.difficult, image_id=ann.image_id)


def load_image(path) -> np.ndarray:
    """Read an image file (PNG, JPEG, TIFF...) as RGB float32 ``(H, W, 3)`` in [0, 1].

    Parameters
    ----------
    path : str or Path
        Any file Pillow can decode. Grey-level, palette and RGBA images are
        converted to RGB (alpha is dropped).

    Returns
    -------
    image : ndarray, shape (H, W, 3), float32
        Row ``y``, column ``x``, channel RGB; the 8-bit grey level ``v``
        becomes ``v / 255``, so values lie in [0, 1].

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    FormatError
        If Pillow cannot decode it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "grey.png"
    >>> Image.fromarray(np.full((2, 3), 255, dtype=np.uint8)).save(p)
    >>> image = load_image(p)
    >>> image.shape, image.dtype, float(image.max())
    ((2, 3, 3), dtype('float32'), 1.0)
    >>> _ = p.with_suffix(".txt").write_text("not an image")
    >>> load_image(p.with_suffix(".txt"))
    Traceback (most recent call last):
        ...
    bboxcore.data.sample.FormatError: ...grey.txt: not a readable image: ...
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError as err:
        raise FormatError(path, f"not a readable image: {err}") from None
    return rgb.astype(np.float32) / np.float32(255)

"""One entry point for the annotation formats: read a path whatever its format.

* a ``.json`` file -> COCO ground truth (:func:`bboxcore.data.coco.read_coco`);
* a folder with ``Annotations/`` or ``*.xml`` files -> Pascal VOC
  (:func:`bboxcore.data.voc.read_voc`);
* a folder with ``labels/`` or ``*.txt`` files -> YOLO
  (:func:`bboxcore.data.yolo.read_yolo`).

The readers and writers themselves live in :mod:`bboxcore.data.voc`,
:mod:`bboxcore.data.coco` and :mod:`bboxcore.data.yolo`; the shared types in
:mod:`bboxcore.data.sample`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bboxcore.data.coco import read_coco
from bboxcore.data.sample import AnnotationSet
from bboxcore.data.voc import read_voc
from bboxcore.data.yolo import read_yolo

__all__ = ["FORMATS", "detect_format", "read_annotations"]

FORMATS = ("coco", "voc", "yolo")


def detect_format(path) -> str:
    """Guess the annotation format of ``path``: ``'coco'``, ``'voc'`` or ``'yolo'``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If no format fits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.xml").write_text("<annotation/>")
    >>> detect_format(d)
    'voc'
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    if p.is_file():
        if p.suffix.lower() == ".json":
            return "coco"
        raise ValueError(
            f"{p}: cannot tell the format of a {p.suffix or 'suffix-less'} file "
            f"(expected a COCO .json, or a VOC/YOLO folder)"
        )
    if (p / "Annotations").is_dir() or any(p.glob("*.xml")):
        return "voc"
    if (p / "labels").is_dir() or any(p.glob("*.txt")):
        return "yolo"
    raise ValueError(f"{p}: no Annotations/ or *.xml (VOC), no labels/ or *.txt (YOLO)")


def read_annotations(
    path, class_names: Sequence[str] | None = None, *, fmt: str | None = None
) -> AnnotationSet:
    """Read ground truth from a COCO JSON file, a VOC folder or a YOLO folder.

    Parameters
    ----------
    path : str or Path
        A COCO ``.json`` file, or a VOC or YOLO folder (see the module docstring
        for the layouts :func:`detect_format` recognises).
    class_names : sequence of str, optional
        Label order for VOC/YOLO: label ``k`` is ``class_names[k]``. When
        omitted, the reader collects the names it finds (see
        :func:`~bboxcore.data.voc.read_voc`, :func:`~bboxcore.data.yolo.read_yolo`).
        Ignored for COCO, whose files carry their categories.
    fmt : {'coco', 'voc', 'yolo'}, optional
        The format; guessed by :func:`detect_format` when omitted.

    Returns
    -------
    AnnotationSet
        One :class:`~bboxcore.data.sample.Annotation` per image, boxes
        ``(x_min, y_min, x_max, y_max)`` float32 in pixels, labels int64 in
        ``0 .. K-1``, with the set's ``class_names``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or a VOC/YOLO folder holds no annotation
        or image files.
    ValueError
        If ``fmt`` is not one of :data:`FORMATS`, or cannot be guessed.
    FormatError
        If a file is malformed (see the format's reader).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bboxcore.data import Annotation, write_voc_xml
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_voc_xml(d / "x.xml", Annotation([[0, 0, 5, 5]], [0], img_size=(8, 8)), ["dog"])
    >>> s = read_annotations(d)  # a folder of *.xml: guessed as VOC
    >>> s.class_names, s[0].bbox
    (('dog',), array([[0., 0., 5., 5.]], dtype=float32))
    >>> read_annotations(d, fmt="csv")
    Traceback (most recent call last):
        ...
    ValueError: fmt must be one of ('coco', 'voc', 'yolo'); got 'csv'
    """
    fmt = fmt or detect_format(path)
    if fmt == "coco":
        return read_coco(path)
    if fmt == "voc":
        return read_voc(path, class_names)
    if fmt == "yolo":
        return read_yolo(path, class_names)
    raise ValueError(f"fmt must be one of {FORMATS}; got {fmt!r}")

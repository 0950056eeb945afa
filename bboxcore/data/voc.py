"""Pascal VOC XML annotations: read one file or a folder, write one file.

A VOC annotation is one XML file per image::

    <annotation>
      <filename>000005.jpg</filename>
      <size><width>500</width><height>375</height><depth>3</depth></size>
      <object>
        <name>chair</name> <difficult>0</difficult>
        <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox>
      </object>
    </annotation>

Coordinates. The VOC devkit counts pixels from 1 and its boxes include both
end pixels, so ``xmin = 263, xmax = 324`` covers the 62 pixels 263..324. In
bboxcore's continuous convention (pixel ``i``, counted from 0, covers
``[i, i + 1)``) that box is ``[262, 324)``: with ``one_based=True`` (VOC's own
files) the reader subtracts 1 from ``xmin`` and ``ymin`` only, and the writer
adds it back. Files written by tools that already use continuous 0-based
coordinates (e.g. DeepForest's, whose boxes reach ``xmax = width``) are read
with ``one_based=False``, unchanged.

XML is parsed with ``defusedxml`` (no entity expansion, no external DTD).
Every malformed file raises :class:`~bboxcore.data.sample.FormatError` naming
the file and the problem.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import defusedxml.ElementTree as DET
import numpy as np
from defusedxml import DefusedXmlException

from bboxcore.data.sample import Annotation, AnnotationSet, FormatError

__all__ = ["read_voc", "read_voc_xml", "write_voc_xml"]

_COORDS = ("xmin", "ymin", "xmax", "ymax")
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def _text(node, tag: str, path, where: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise FormatError(path, f"{where} has no <{tag}>")
    return child.text.strip()


def _number(node, tag: str, path, where: str) -> float:
    text = _text(node, tag, path, where)
    try:
        value = float(text)
    except ValueError:
        raise FormatError(path, f"{where} <{tag}> is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise FormatError(path, f"{where} <{tag}> is not finite: {text!r}")
    return value


def _parse(path, one_based: bool) -> dict:
    """Parse one VOC XML file into plain Python values, checking every field."""
    try:
        root = DET.parse(str(path)).getroot()
    except ET.ParseError as err:
        raise FormatError(path, f"not well-formed XML ({err})") from None
    except DefusedXmlException as err:
        raise FormatError(path, f"forbidden XML construct ({err})") from None
    if root.tag != "annotation":
        raise FormatError(path, f"root element is <{root.tag}>, expected <annotation>")
    size = root.find("size")
    if size is None:
        raise FormatError(path, "has no <size> (needed to check the boxes)")
    w, h = _number(size, "width", path, "<size>"), _number(size, "height", path, "<size>")
    if w <= 0 or h <= 0:
        raise FormatError(path, f"<size> must be positive; got width {w}, height {h}")
    names, boxes, difficult = [], [], []
    for k, obj in enumerate(root.findall("object")):
        where = f"object {k}"
        names.append(_text(obj, "name", path, where))
        bnd = obj.find("bndbox")
        if bnd is None:
            raise FormatError(path, f"{where} ({names[-1]}) has no <bndbox>")
        x1, y1, x2, y2 = (_number(bnd, t, path, f"{where} <bndbox>") for t in _COORDS)
        if x2 < x1 or y2 < y1:
            raise FormatError(
                path, f"{where} has x_max < x_min or y_max < y_min: {[x1, y1, x2, y2]}"
            )
        if one_based:
            x1, y1 = x1 - 1, y1 - 1
        if x1 < 0 or y1 < 0 or x2 > w or y2 > h:
            raise FormatError(
                path,
                f"{where} box {[x1, y1, x2, y2]} (continuous pixels) is outside the "
                f"{int(w)}x{int(h)} image (one_based={one_based})",
            )
        boxes.append((x1, y1, x2, y2))
        diff = obj.find("difficult")
        flag = 0.0 if diff is None or not (diff.text or "").strip() else None
        if flag is None:
            flag = _number(obj, "difficult", path, where)
        if flag not in (0.0, 1.0):
            raise FormatError(path, f"{where} <difficult> must be 0 or 1; got {flag}")
        difficult.append(bool(flag))
    fname = root.find("filename")
    return {
        "filename": fname.text.strip() if fname is not None and fname.text else None,
        "size": (int(round(h)), int(round(w))),
        "names": names,
        "bbox": np.array(boxes, dtype=np.float32).reshape(-1, 4),
        "difficult": np.array(difficult, dtype=bool),
    }


def _to_annotation(raw: dict, class_names: Sequence[str], path) -> Annotation:
    index = {name: k for k, name in enumerate(class_names)}
    unknown = sorted({n for n in raw["names"] if n not in index})
    if unknown:
        raise FormatError(path, f"unknown class name(s) {unknown}; known: {list(class_names)}")
    label = np.array([index[n] for n in raw["names"]], dtype=np.int64)
    return Annotation(
        raw["bbox"],
        label,
        raw["difficult"],
        image_id=Path(path).stem,
        img_size=raw["size"],
        filename=raw["filename"],
    )


def read_voc_xml(path, class_names: Sequence[str], *, one_based: bool = True) -> Annotation:
    """Read one Pascal VOC XML file.

    Parameters
    ----------
    path : str or Path
        The XML file.
    class_names : sequence of str
        ``class_names[k]`` is label ``k``; any other ``<name>`` is an error.
    one_based : bool
        True for VOC's 1-based inclusive pixels (subtract 1 from
        ``xmin``/``ymin``); False for files already in continuous 0-based
        coordinates (see the module docstring).

    Returns
    -------
    Annotation
        ``bbox`` in continuous pixels, ``label``, ``difficult`` (a missing
        ``<difficult>`` counts as 0, as in the devkit), ``img_size`` from
        ``<size>``, ``filename``, and ``image_id`` = the file's stem.

    Raises
    ------
    FormatError
        Naming the file and the problem: not well-formed XML, no ``<size>``,
        an object without ``<name>``/``<bndbox>``/a coordinate, a
        non-numeric value, ``x_max < x_min``, a box outside the image, an
        unknown class name, or ``<difficult>`` not 0/1.
    FileNotFoundError
        If the file does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.xml"
    >>> write_voc_xml(p, Annotation([[262, 210, 324, 339]], [0], img_size=(375, 500)), ["chair"])
    >>> read_voc_xml(p, ["chair"]).bbox
    array([[262., 210., 324., 339.]], dtype=float32)
    >>> "<xmin>263</xmin>" in p.read_text()
    True
    """
    return _to_annotation(_parse(path, one_based), class_names, path)


def read_voc(
    root,
    class_names: Sequence[str] | None = None,
    *,
    split: str | None = None,
    one_based: bool = True,
) -> AnnotationSet:
    """Read a Pascal VOC folder: ``root/Annotations/*.xml`` or ``root/*.xml``.

    Parameters
    ----------
    root : str or Path
        Either a VOC year folder (``Annotations/``, ``JPEGImages/``,
        ``ImageSets/Main/``) or a flat folder of XML files with their images
        beside them.
    class_names : sequence of str, optional
        Label order; when omitted, the sorted set of names found in the files.
    split : str, optional
        Read only the image ids listed in ``root/ImageSets/Main/<split>.txt``.
    one_based : bool
        See :func:`read_voc_xml`.

    Returns
    -------
    AnnotationSet
        Annotations sorted by file name, with ``image_paths`` pointing at
        ``JPEGImages/<filename>`` (or beside the XML), None if not found.

    Raises
    ------
    FileNotFoundError
        If ``root`` has no XML files, or the split file or a listed XML is missing.
    FormatError
        As for :func:`read_voc_xml`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_voc_xml(d / "x.xml", Annotation([[0, 0, 5, 5]], [0], img_size=(8, 8)), ["dog"])
    >>> s = read_voc(d)
    >>> s.class_names, s[0].image_id
    (('dog',), 'x')
    """
    root = Path(root)
    ann_dir = root / "Annotations" if (root / "Annotations").is_dir() else root
    img_dir = root / "JPEGImages" if (root / "JPEGImages").is_dir() else ann_dir
    if split is not None:
        list_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if not list_file.is_file():
            raise FileNotFoundError(f"split file {list_file} does not exist")
        ids = [line.split()[0] for line in list_file.read_text().splitlines() if line.strip()]
        files = [ann_dir / f"{i}.xml" for i in ids]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} XML file(s) of split {split!r} are missing, e.g. {missing[0]}"
            )
    else:
        files = sorted(ann_dir.glob("*.xml"))
    if not files:
        raise FileNotFoundError(f"no VOC XML files in {ann_dir}")
    raws = [_parse(f, one_based) for f in files]
    if class_names is None:
        class_names = sorted({n for r in raws for n in r["names"]})
    annotations = [_to_annotation(r, class_names, f) for r, f in zip(raws, files)]
    return AnnotationSet(
        annotations, tuple(class_names), [_find_image(img_dir, r, f) for r, f in zip(raws, files)]
    )


def _find_image(img_dir: Path, raw: dict, xml: Path) -> Path | None:
    candidates = [img_dir / raw["filename"]] if raw["filename"] else []
    candidates += [img_dir / (xml.stem + ext) for ext in _IMAGE_EXTENSIONS]
    return next((c for c in candidates if c.is_file()), None)


def _fmt(v: float) -> str:
    """Integers as integers (what VOC tools expect), anything else exactly (repr)."""
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def write_voc_xml(
    path,
    annotation: Annotation,
    class_names: Sequence[str],
    *,
    filename: str | None = None,
    one_based: bool = True,
) -> None:
    """Write one image's boxes as a Pascal VOC XML file.

    Parameters
    ----------
    path : str or Path
        The XML file to write (its folder must exist).
    annotation : Annotation
        Boxes in continuous pixels; ``img_size`` is required (VOC's ``<size>``).
    class_names : sequence of str
        ``class_names[k]`` is written as the ``<name>`` of label ``k``.
    filename : str, optional
        ``<filename>``; ``annotation.filename`` or ``<stem>.jpg`` when omitted.
    one_based : bool
        Write VOC's 1-based ``xmin``/``ymin`` (add 1); see :func:`read_voc_xml`.

    Raises
    ------
    ValueError
        If ``img_size`` is missing or a label has no class name.

    Examples
    --------
    See :func:`read_voc_xml`.
    """
    if annotation.img_size is None:
        raise ValueError("annotation.img_size is required to write VOC XML (<size>)")
    if len(annotation.label) and annotation.label.max() >= len(class_names):
        raise ValueError(
            f"label {int(annotation.label.max())} has no name in class_names "
            f"(len {len(class_names)})"
        )
    h, w = annotation.img_size
    root = ET.Element("annotation")
    name = filename or annotation.filename or f"{Path(path).stem}.jpg"
    ET.SubElement(root, "filename").text = name
    size = ET.SubElement(root, "size")
    for tag, v in (("width", w), ("height", h), ("depth", 3)):
        ET.SubElement(size, tag).text = str(v)
    shift = np.array([1, 1, 0, 0]) if one_based else np.zeros(4)
    for box, lab, diff in zip(annotation.bbox, annotation.label, annotation.difficult):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = class_names[int(lab)]
        ET.SubElement(obj, "difficult").text = str(int(diff))
        bnd = ET.SubElement(obj, "bndbox")
        for tag, v in zip(_COORDS, box.astype(np.float64) + shift):
            ET.SubElement(bnd, tag).text = _fmt(v)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="unicode")

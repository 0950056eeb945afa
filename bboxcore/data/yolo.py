"""YOLO txt labels: one text file per image, one line per box.

Each line is ``class x_center y_center width height``, the four numbers
normalised by the image width and height (so in [0, 1]). Two layouts are
read: ``root/images/<stem>.<ext>`` with ``root/labels/<stem>.txt``
(Ultralytics), or images and txt files side by side in ``root``. An image with
no txt file has no boxes (the YOLO convention). Class names come from the
``class_names`` argument or a ``classes.txt`` file (one name per line).

The image size, needed to turn normalised numbers into pixels, is read from
the image file's header (Pillow opens it lazily, without decoding pixels).
Normalised decimal text is not bit-exact: a write -> read round trip agrees
to about 1e-9 of the image size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bboxcore.data.sample import Annotation, AnnotationSet, FormatError

__all__ = ["read_yolo", "write_yolo"]

_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Rounding slack (in normalised units) for a box edge just past the border.
_EDGE_SLACK = 1e-6


def _layout(root: Path) -> tuple[Path, Path]:
    if (root / "images").is_dir():
        return root / "images", root / "labels"
    return root, root


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
    except UnidentifiedImageError as err:
        raise FormatError(path, f"not a readable image: {err}") from None
    return h, w


def _parse_txt(path: Path, img_size: tuple[int, int], n_class: int | None):
    h, w = img_size
    boxes, labels = [], []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 5:
            raise FormatError(
                path,
                f"line {lineno}: expected 5 fields 'class cx cy w h', got {len(parts)}: {line!r}",
            )
        try:
            cls = int(parts[0])
            cx, cy, bw, bh = (float(v) for v in parts[1:])
        except ValueError:
            raise FormatError(path, f"line {lineno}: not numbers: {line!r}") from None
        if not all(math.isfinite(v) for v in (cx, cy, bw, bh)):
            raise FormatError(path, f"line {lineno}: values must be finite: {line!r}")
        if cls < 0 or (n_class is not None and cls >= n_class):
            raise FormatError(
                path, f"line {lineno}: unknown class index {cls} ({n_class} class names known)"
            )
        if bw < 0 or bh < 0:
            raise FormatError(
                path, f"line {lineno}: negative width/height (x_max < x_min): {line!r}"
            )
        x1, y1, x2, y2 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
        if min(x1, y1) < -_EDGE_SLACK or max(x2, y2) > 1 + _EDGE_SLACK:
            raise FormatError(
                path,
                f"line {lineno}: box is outside the image "
                f"(normalised edges {[x1, y1, x2, y2]} not in [0, 1])",
            )
        box = np.clip([x1 * w, y1 * h, x2 * w, y2 * h], 0, [w, h, w, h])
        boxes.append(box)
        labels.append(cls)
    return np.array(boxes, dtype=np.float32).reshape(-1, 4), np.array(labels, dtype=np.int64)


def read_yolo(root, class_names: Sequence[str] | None = None) -> AnnotationSet:
    """Read a YOLO txt folder (see the module docstring for the layouts).

    Parameters
    ----------
    root : str or Path
        The folder.
    class_names : sequence of str, optional
        Label names; else ``root/classes.txt``; else ``'0' .. 'K-1'`` with K
        one more than the largest class index found.

    Returns
    -------
    AnnotationSet
        One annotation per image, sorted by file name; ``image_id`` is the
        file stem, boxes in continuous pixels.

    Raises
    ------
    FileNotFoundError
        If the folder has no images.
    FormatError
        Naming the file and the problem: a line without 5 fields, a
        non-number, a negative size, a box outside the image, a class index
        without a name, or a txt file without an image.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (40, 20)).save(d / "a.png")
    >>> _ = (d / "a.txt").write_text("1 0.5 0.5 0.5 0.5\\n")
    >>> s = read_yolo(d, ["cat", "dog"])
    >>> s[0].bbox, s[0].label
    (array([[10.,  5., 30., 15.]], dtype=float32), array([1]))
    """
    root = Path(root)
    img_dir, lab_dir = _layout(root)
    if class_names is None and (root / "classes.txt").is_file():
        class_names = [
            n.strip() for n in (root / "classes.txt").read_text().splitlines() if n.strip()
        ]
    images = (
        sorted(p for p in img_dir.iterdir() if p.suffix.lower() in _IMAGE_EXTENSIONS)
        if img_dir.is_dir()
        else []
    )
    if not images:
        raise FileNotFoundError(f"no images ({', '.join(_IMAGE_EXTENSIONS)}) in {img_dir}")
    stems = {p.stem for p in images}
    if lab_dir.is_dir():
        orphans = sorted(
            p for p in lab_dir.glob("*.txt") if p.stem not in stems and p.name != "classes.txt"
        )
        if orphans:
            raise FormatError(orphans[0], "label file has no image with the same stem")
    n_class = len(class_names) if class_names is not None else None
    annotations = []
    for p in images:
        size = _image_size(p)
        txt = lab_dir / f"{p.stem}.txt"
        bbox, label = (
            _parse_txt(txt, size, n_class)
            if txt.is_file()
            else (np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
        )
        annotations.append(Annotation(bbox, label, image_id=p.stem, img_size=size, filename=p.name))
    if class_names is None:
        k = max((int(a.label.max()) + 1 for a in annotations if len(a.label)), default=0)
        class_names = [str(i) for i in range(k)]
    return AnnotationSet(annotations, tuple(class_names), images)


def write_yolo(root, annotations: Sequence[Annotation], class_names: Sequence[str]) -> None:
    """Write YOLO txt labels ``root/labels/<image_id>.txt`` and ``root/classes.txt``.

    The images themselves are not written: put them in ``root/images/``.

    Parameters
    ----------
    root : str or Path
    annotations : sequence of Annotation
        Each needs ``image_id`` and ``img_size``.
    class_names : sequence of str

    Raises
    ------
    ValueError
        If an annotation has no ``image_id`` or ``img_size``, or a label has no name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_yolo(d, [Annotation([[10, 5, 30, 15]], [1], image_id="a", img_size=(20, 40))],
    ...            ["cat", "dog"])
    >>> (d / "labels" / "a.txt").read_text()
    '1 0.5 0.5 0.5 0.5\\n'
    """
    root = Path(root)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("".join(f"{n}\n" for n in class_names))
    for a in annotations:
        if a.image_id is None or a.img_size is None:
            raise ValueError("every annotation needs image_id and img_size to write YOLO labels")
        if len(a.label) and a.label.max() >= len(class_names):
            raise ValueError(f"label {int(a.label.max())} has no class name")
        h, w = a.img_size
        b = a.bbox.astype(np.float64)
        rows = np.stack(
            [
                (b[:, 0] + b[:, 2]) / 2 / w,
                (b[:, 1] + b[:, 3]) / 2 / h,
                (b[:, 2] - b[:, 0]) / w,
                (b[:, 3] - b[:, 1]) / h,
            ],
            axis=1,
        )
        lines = [f"{int(c)} " + " ".join(repr(float(v)) for v in r) for c, r in zip(a.label, rows)]
        (root / "labels" / f"{a.image_id}.txt").write_text("".join(line + "\n" for line in lines))

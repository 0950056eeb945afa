"""Run a trained detector on image files: ``bboxcore detect``.

:func:`detect_images` writes one PNG per image with the boxes drawn and one
COCO-style results JSON. Every input is checked before anything is written
(:func:`collect_images`, :func:`check_images`): a missing file, a file that
is not an image, an image smaller than the model can take
(:func:`min_image_side`) or the same file given twice stops the run with a
message naming the file, and the output folder is left as it was.

Images are named in the outputs by :func:`image_ids`: the file name, or,
when two inputs share a name (``a/scene.png``, ``b/scene.png``), the path
relative to the inputs' common folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path, PurePosixPath

from bboxcore.atomic import stage

__all__ = [
    "IMAGE_SUFFIXES",
    "check_images",
    "collect_images",
    "detect_images",
    "image_ids",
    "min_image_side",
]

#: File suffixes taken as images when a folder is given (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def min_image_side(model) -> int:
    r"""The smallest image height and width ``model`` can take: its feature stride.

    The backbone (:class:`~bboxcore.models.backbone.Backbone`) halves the
    image ``n_pool`` times with 2x2/2 max-pools (floor division), so the
    feature map has at least one cell iff :math:`H, W \ge 2^{n_{pool}}`, the
    feature stride.

    Parameters
    ----------
    model : Detector
        A detector whose ``backbone`` has a ``feat_stride`` (Faster R-CNN,
        CenterNet); 1 for any other (its own checks then apply).

    Returns
    -------
    int
        Pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from bboxcore.models import FasterRCNN, mnist_config
    >>> min_image_side(FasterRCNN(mnist_config(), np.random.default_rng(0)))  # 3 pools: 2**3
    8
    """
    stride = getattr(getattr(model, "backbone", None), "feat_stride", None)
    return int(stride) if stride else 1


def collect_images(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """The image files named by ``inputs``: files as given, folders replaced by their images.

    Parameters
    ----------
    inputs : sequence of str or PathLike
        Image files, or folders whose files with a suffix in
        :data:`IMAGE_SUFFIXES` are taken, sorted by name (not recursive).

    Returns
    -------
    list of Path
        In the order given; a folder's images in sorted order.

    Raises
    ------
    FileNotFoundError
        If an input does not exist.
    ValueError
        If a folder holds no image, or the same file is given twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b.png", "a.JPG", "notes.txt"):
    ...     _ = (d / name).write_bytes(b"")
    >>> [p.name for p in collect_images([d])]
    ['a.JPG', 'b.png']
    >>> collect_images([d / "b.png", d])
    Traceback (most recent call last):
        ...
    ValueError: image .../b.png is given twice
    """
    paths: list[Path] = []
    for given in map(Path, inputs):
        if given.is_dir():
            found = sorted(
                p for p in given.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
            if not found:
                raise ValueError(f"folder {given} holds no image ({', '.join(IMAGE_SUFFIXES)})")
            paths.extend(found)
        elif given.exists():
            paths.append(given)
        else:
            raise FileNotFoundError(f"image {given} does not exist")
    seen: dict[Path, Path] = {}
    for p in paths:
        key = p.resolve()
        if key in seen:
            twice = p if str(p) == str(seen[key]) else f"{seen[key]} (as {p})"
            raise ValueError(f"image {twice} is given twice")
        seen[key] = p
    return paths


def check_images(paths: Sequence[str | os.PathLike], min_side: int = 1) -> list[tuple[int, int]]:
    """Decode every image once and check its size, before any work is done.

    Parameters
    ----------
    paths : sequence of str or PathLike
        Image files.
    min_side : int
        Smallest height and width accepted, in pixels (e.g. :func:`min_image_side`).

    Returns
    -------
    list of (H, W)
        The size of each image.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    bboxcore.data.FormatError
        If a file is not a complete image Pillow can decode (names the file).
    ValueError
        If an image is smaller than ``min_side`` (names the file, its size and the minimum).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dot.png"
    >>> Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(p)
    >>> check_images([p])
    [(1, 1)]
    >>> check_images([p], min_side=8)
    Traceback (most recent call last):
        ...
    ValueError: image .../dot.png is 1x1 pixels; the model needs at least 8x8 (its feature stride)
    """
    from PIL import Image, UnidentifiedImageError

    from bboxcore.data.sample import FormatError

    sizes = []
    for path in map(Path, paths):
        if not path.is_file():
            if path.exists():
                raise FormatError(path, "is not a file")
            raise FileNotFoundError(f"image {path} does not exist")
        try:
            with Image.open(path) as im:
                im.load()  # decode it all: a truncated file fails here, not half-way through
                w, h = im.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise FormatError(path, f"not a readable image: {err}") from None
        if h < min_side or w < min_side:
            raise ValueError(
                f"image {path} is {w}x{h} pixels; the model needs at least "
                f"{min_side}x{min_side} (its feature stride)"
            )
        sizes.append((h, w))
    return sizes


def image_ids(paths: Sequence[str | os.PathLike]) -> list[str]:
    """A distinct name per image: the file name, or the path from the common folder.

    Parameters
    ----------
    paths : sequence of str or PathLike
        Different files.

    Returns
    -------
    list of str
        The file names if they are all different; otherwise every path
        relative to the common folder of all inputs, with ``/`` separators.

    Examples
    --------
    >>> image_ids(["x/a.png", "y/b.png"])
    ['a.png', 'b.png']
    >>> image_ids(["data/x/a.png", "data/y/a.png", "data/y/b.png"])
    ['x/a.png', 'y/a.png', 'y/b.png']
    """
    names = [Path(p).name for p in paths]
    if len(set(names)) == len(names):
        return names
    full = [os.path.abspath(p) for p in paths]
    root = os.path.commonpath([os.path.dirname(p) for p in full])
    return [PurePosixPath(*Path(os.path.relpath(p, root)).parts).as_posix() for p in full]


def _png_names(ids: list[str]) -> list[str]:
    """``<id without suffix>_detections.png``, keeping the suffix where dropping it would clash."""
    stems = [str(PurePosixPath(i).with_suffix("")) for i in ids]
    bases = stems if len(set(stems)) == len(stems) else ids
    return [f"{b}_detections.png" for b in bases]


def detect_images(model, paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> list[dict]:
    """Run ``model`` on image files; write one PNG per image and ``detections.json``.

    Every input is checked first (:func:`collect_images`,
    :func:`check_images`); on an error nothing is written. The outputs are
    written to temporary files and renamed into place only once all of them
    are written, so that a later failure (a full disk, Ctrl-C) leaves the
    files already in ``out`` as they were.

    Parameters
    ----------
    model : Detector
        Any :class:`~bboxcore.models.base.Detector`, in evaluation mode.
    paths : sequence of str or PathLike
        Image files (PNG, JPEG...) or folders of images, run at their own size;
        each image at least :func:`min_image_side` pixels high and wide.
    out : str or PathLike
        Output folder (created): ``<name>_detections.png`` per image (in
        sub-folders when the names come from :func:`image_ids` paths) and
        ``detections.json``, a COCO-style results list.

    Returns
    -------
    list of dict
        The COCO-style records ``{"image_id": name from image_ids, "file_name":
        the path as given, "category_id": label + 1, "category_name",
        "bbox": [x, y, w, h], "score"}`` (COCO category ids start at 1).

    Raises
    ------
    FileNotFoundError
        If an image does not exist.
    NotADirectoryError
        If ``out`` exists and is not a folder.
    ValueError
        If an input is not a readable image
        (:class:`~bboxcore.data.FormatError`), is too small, is given
        twice, or a folder holds no image.
    OSError
        If an output cannot be written (its ``filename`` is the output's path).

    Examples
    --------
    >>> import os, tempfile
    >>> import matplotlib.pyplot as plt
    >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> model = YOLOv1(cfg, np.random.default_rng(0)).eval()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     plt.imsave(os.path.join(d, "street.png"), np.zeros((32, 32, 3)))
    ...     records = detect_images(model, [os.path.join(d, "street.png")], os.path.join(d, "out"))
    ...     print(sorted(os.listdir(os.path.join(d, "out"))))
    ['detections.json', 'street_detections.png']
    >>> all({"image_id", "category_id", "bbox", "score"} <= set(r) for r in records)
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bboxcore.data.sample import Detection, load_image
    from bboxcore.eval.plots import plot_detections

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {out} exists and is not a folder")
    paths = collect_images(paths)
    check_images(paths, min_image_side(model))
    ids = image_ids(paths)
    pngs = _png_names(ids)
    out.mkdir(parents=True, exist_ok=True)
    names = getattr(model, "class_names", None) or model.config.class_names
    names = names or tuple(str(k) for k in range(model.config.n_class))
    records, staged = [], []  # staged: (temporary file, final path), renamed at the end
    try:
        for path, image_id, png in zip(paths, ids, pngs):
            image = load_image(path)
            try:
                bbox, label, score = model.predict(image)[0]
            except ValueError as err:  # e.g. a detector that takes one image size only
                raise ValueError(f"image {path}: {err}") from None
            for b, k, s in zip(bbox.tolist(), label.tolist(), score.tolist()):
                records.append({
                    "image_id": image_id, "file_name": str(path),
                    "category_id": k + 1, "category_name": names[k],
                    "bbox": [round(v, 2) for v in (b[0], b[1], b[2] - b[0], b[3] - b[1])],
                    "score": round(s, 5),
                })  # fmt: skip
            h, w = image.shape[:2]
            fig, ax = plt.subplots(figsize=(6, 6 * h / w))
            plot_detections(image, pred=Detection(bbox, label, score), class_names=names, ax=ax)
            (out / png).parent.mkdir(parents=True, exist_ok=True)
            try:
                save = partial(fig.savefig, format="png", dpi=100, bbox_inches="tight")
                staged.append((stage(out / png, save), out / png))
            finally:
                plt.close(fig)
        text = json.dumps(records, indent=1).encode()
        staged.append(
            (stage(out / "detections.json", lambda f: f.write(text)), out / "detections.json")
        )
        for tmp, final in staged:
            os.replace(tmp, final)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    return records

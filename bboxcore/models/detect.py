"""Run a trained detector on image files: ``bboxcore detect``.

:func:`detect_images` writes one PNG per image with the boxes drawn and one
COCO-style results JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

__all__ = ["detect_images"]


def detect_images(model, paths: Sequence[str | Path], out: str | Path) -> list[dict]:
    """Run ``model`` on image files; write one PNG per image and ``detections.json``.

    Parameters
    ----------
    model : FasterRCNN
    paths : sequence of str or Path
        Image files (PNG, JPEG...), run at their own size.
    out : str or Path
        Output folder (created): ``<stem>_detections.png`` per image and
        ``detections.json``, a COCO-style results list.

    Returns
    -------
    list of dict
        The COCO-style records ``{"image_id": file name, "category_id": label + 1,
        "category_name", "bbox": [x, y, w, h], "score"}`` (COCO category ids start at 1).

    Raises
    ------
    FileNotFoundError
        If an image does not exist.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bboxcore.data.sample import Detection, load_image
    from bboxcore.eval.plots import plot_detections

    missing = [str(p) for p in map(Path, paths) if not p.exists()]
    if missing:
        raise FileNotFoundError(f"image {missing[0]} does not exist")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = model.config.class_names or tuple(str(k) for k in range(model.config.n_class))
    records = []
    for path in map(Path, paths):
        image = load_image(path)
        bbox, label, score = model.predict(image)[0]
        for b, k, s in zip(bbox.tolist(), label.tolist(), score.tolist()):
            records.append({
                "image_id": path.name, "category_id": k + 1, "category_name": names[k],
                "bbox": [round(v, 2) for v in (b[0], b[1], b[2] - b[0], b[3] - b[1])],
                "score": round(s, 5),
            })  # fmt: skip
        h, w = image.shape[:2]
        fig, ax = plt.subplots(figsize=(6, 6 * h / w))
        plot_detections(image, pred=Detection(bbox, label, score), class_names=names, ax=ax)
        fig.savefig(out / f"{path.stem}_detections.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
    (out / "detections.json").write_text(json.dumps(records, indent=1))
    return records

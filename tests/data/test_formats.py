"""VOC / COCO / YOLO readers and writers: round trips, and one test per malformed file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bboxcore.cli import main
from bboxcore.data import (
    Annotation,
    AnnotationSet,
    Detection,
    FormatError,
    Sample,
    detect_format,
    read_annotations,
    read_coco,
    read_coco_results,
    read_voc,
    read_voc_xml,
    read_yolo,
    write_coco,
    write_coco_results,
    write_voc_xml,
    write_yolo,
)
from tests.strategies import boxes_in_image

NAMES = ("cat", "dog", "bird")
H, W = 200.0, 300.0


@st.composite
def annotations(draw):
    box = draw(boxes_in_image(img_size=(H, W), max_size=6, min_side=1.0))
    n = len(box)
    label = draw(st.lists(st.integers(0, len(NAMES) - 1), min_size=n, max_size=n))
    flags = st.lists(st.booleans(), min_size=n, max_size=n)
    return Annotation(box, label, draw(flags), draw(flags), img_size=(int(H), int(W)))


# --------------------------------------------------------------------------- round trips
tmp_settings = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30
)


@tmp_settings
@given(annotations(), st.booleans())
def test_voc_xml_round_trip(tmp_path, a, one_based):
    path = tmp_path / "x.xml"
    write_voc_xml(path, a, NAMES, one_based=one_based)
    b = read_voc_xml(path, NAMES, one_based=one_based)
    np.testing.assert_array_equal(b.bbox, a.bbox)  # exact: integers or repr() floats
    np.testing.assert_array_equal(b.label, a.label)
    np.testing.assert_array_equal(b.difficult, a.difficult)
    assert b.img_size == a.img_size and b.image_id == "x"


@tmp_settings
@given(st.lists(annotations(), min_size=1, max_size=3))
def test_coco_round_trip(tmp_path, anns):
    anns = [
        Annotation(a.bbox, a.label, iscrowd=a.iscrowd, image_id=10 * i + 3, img_size=a.img_size)
        for i, a in enumerate(anns)
    ]
    write_coco(tmp_path / "gt.json", anns, NAMES, category_ids=[1, 5, 9])
    s = read_coco(tmp_path / "gt.json")
    assert s.class_names == NAMES and s.category_ids == (1, 5, 9)
    for a, b in zip(anns, s.annotations):
        np.testing.assert_array_equal(b.bbox, a.bbox)  # xywh in float64 is exact for float32
        np.testing.assert_array_equal(b.label, a.label)
        np.testing.assert_array_equal(b.iscrowd, a.iscrowd)
        assert b.image_id == a.image_id


@tmp_settings
@given(st.lists(annotations(), min_size=1, max_size=3), st.randoms())
def test_coco_results_round_trip(tmp_path, anns, rnd):
    gt = AnnotationSet(
        [Annotation(a.bbox, a.label, image_id=i) for i, a in enumerate(anns)],
        NAMES,
        None,
        (2, 4, 6),
    )
    dets = [Detection(a.bbox, a.label, [rnd.random() for _ in a.label]) for a in anns]
    write_coco_results(tmp_path / "r.json", dets, gt)
    back = read_coco_results(tmp_path / "r.json", gt)
    for d, e in zip(dets, back):
        np.testing.assert_array_equal(e.bbox, d.bbox)
        np.testing.assert_array_equal(e.label, d.label)
        np.testing.assert_array_equal(e.score, d.score)


def test_yolo_round_trip(tmp_path):
    (tmp_path / "images").mkdir()
    rng = np.random.default_rng(0)
    anns = []
    for i in range(3):
        Image.new("RGB", (int(W), int(H))).save(tmp_path / "images" / f"im{i}.png")
        xy = rng.uniform(0, 100, (4, 2))
        anns.append(
            Annotation(
                np.concatenate([xy, xy + rng.uniform(1, 90, (4, 2))], 1),
                rng.integers(0, 3, 4),
                image_id=f"im{i}",
                img_size=(H, W),
            )
        )
    write_yolo(tmp_path, anns, NAMES)
    s = read_yolo(tmp_path)
    assert s.class_names == NAMES
    for a, b in zip(anns, s.annotations):
        # normalised decimal text: equal up to float32 rounding of the pixels
        np.testing.assert_allclose(b.bbox, a.bbox, atol=1e-4, rtol=0)
        np.testing.assert_array_equal(b.label, a.label)
    assert detect_format(tmp_path) == "yolo"


def test_voc_folder_with_split_and_images(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    for stem in ("000001", "000002"):
        a = Annotation([[0, 0, 10, 20]], [1], [True], img_size=(30, 40))
        write_voc_xml(
            tmp_path / "Annotations" / f"{stem}.xml", a, ["cat", "dog"], filename=f"{stem}.jpg"
        )
        Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "JPEGImages" / f"{stem}.jpg")
    (tmp_path / "ImageSets" / "Main" / "val.txt").write_text("000002\n")
    s = read_voc(tmp_path, split="val")
    assert len(s) == 1 and s[0].image_id == "000002" and s.class_names == ("dog",)
    sample = s.load_sample(0)
    assert isinstance(sample, Sample) and sample.image.shape == (30, 40, 3)
    assert sample.difficult.tolist() == [True] and sample.label.tolist() == [0]
    assert read_annotations(tmp_path, ["cat", "dog"])[0].label.tolist() == [1]
    with pytest.raises(FileNotFoundError, match="split file"):
        read_voc(tmp_path, split="test")


# --------------------------------------------------------------------------- malformed VOC
VOC_OK = """<annotation><filename>a.jpg</filename>
<size><width>100</width><height>50</height><depth>3</depth></size>
<object><name>cat</name><difficult>0</difficult>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
</annotation>"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("</annotation>", "", "not well-formed XML"),
        ("<size><width>100</width><height>50</height><depth>3</depth></size>", "", "has no <size>"),
        ("<name>cat</name>", "", "object 0 has no <name>"),
        ("<xmax>10</xmax>", "", r"object 0 <bndbox> has no <xmax>"),
        (
            "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox>",
            "",
            r"object 0 \(cat\) has no <bndbox>",
        ),
        ("<xmax>10</xmax>", "<xmax>ten</xmax>", "<xmax> is not a number: 'ten'"),
        ("<xmax>10</xmax>", "<xmax>0</xmax>", "x_max < x_min"),
        ("<xmax>10</xmax>", "<xmax>101</xmax>", "outside the 100x50 image"),
        ("<name>cat</name>", "<name>cow</name>", r"unknown class name\(s\) \['cow'\]"),
        ("<difficult>0</difficult>", "<difficult>2</difficult>", "<difficult> must be 0 or 1"),
        ("<annotation>", "<notvoc>", "root element is <notvoc>"),
    ],
)
def test_voc_malformed_file_names_file_and_problem(tmp_path, old, new, message):
    path = tmp_path / "bad.xml"
    text = VOC_OK.replace(old, new)
    if old == "<annotation>":
        text = text.replace("</annotation>", "</notvoc>")
    path.write_text(text)
    with pytest.raises(FormatError, match=message) as info:
        read_voc_xml(path, ["cat"])
    assert str(path) in str(info.value)


def test_voc_rejects_entity_expansion(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><annotation>&x;</annotation>'
    )
    with pytest.raises(FormatError, match="forbidden XML construct"):
        read_voc_xml(path, ["cat"])


def test_voc_writer_errors(tmp_path):
    with pytest.raises(ValueError, match="img_size is required"):
        write_voc_xml(tmp_path / "a.xml", Annotation([[0, 0, 1, 1]], [0]), NAMES)
    with pytest.raises(ValueError, match="label 5 has no name"):
        write_voc_xml(tmp_path / "a.xml", Annotation([[0, 0, 1, 1]], [5], img_size=(4, 4)), NAMES)


# --------------------------------------------------------------------------- malformed COCO
def coco_ok():
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 50}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 3,
                "bbox": [1, 2, 10, 20],
                "area": 200.0,
                "iscrowd": 0,
            }
        ],
        "categories": [{"id": 3, "name": "cat"}],
    }


def _set(d, path, value):
    *keys, last = path
    for k in keys:
        d = d[k]
    if value is KeyError:
        del d[last]
    else:
        d[last] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("annotations",), KeyError, "has no list 'annotations'"),
        (("annotations", 0, "bbox"), KeyError, r"annotations\[0\] has no 'bbox'"),
        (("annotations", 0, "bbox"), [1, 2, 10], r"bbox must be 4 finite numbers"),
        (("annotations", 0, "bbox"), [1, 2, -10, 20], "negative size"),
        (("annotations", 0, "image_id"), [1], r"annotations\[0\] image_id must be a number or"),
        (("annotations", 0, "image_id"), 7, "unknown image_id 7"),
        (("annotations", 0, "category_id"), 4, "unknown category_id 4"),
        (("images", 0, "id"), KeyError, r"images\[0\] has no 'id'"),
        (("images", 0, "width"), "wide", r"images\[0\] width must be an integer"),
        (("categories", 0, "id"), "3", r"categories\[0\] id must be an integer"),
    ],
)
def test_coco_malformed_file_names_file_and_problem(tmp_path, path, value, message):
    data = coco_ok()
    _set(data, path, value)
    p = tmp_path / "gt.json"
    p.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=message) as info:
        read_coco(p)
    assert "gt.json" in str(info.value)


def test_coco_truncated_json(tmp_path):
    p = tmp_path / "gt.json"
    p.write_text(json.dumps(coco_ok())[:-20])
    with pytest.raises(FormatError, match=r"gt\.json: not valid JSON \(truncated\?\)"):
        read_coco(p)


def test_coco_box_outside_its_image_is_kept_unless_clip(tmp_path):
    # as pycocotools: boxes are evaluated as written; clipping only when asked for
    data = coco_ok()
    data["annotations"][0]["bbox"] = [90, -3, 10.5, 20]  # x_max = 100.5 > 100, y_min < 0
    (tmp_path / "gt.json").write_text(json.dumps(data))
    assert read_coco(tmp_path / "gt.json")[0].bbox[0].tolist() == [90, -3, 100.5, 17]
    assert read_coco(tmp_path / "gt.json", clip=True)[0].bbox[0].tolist() == [90, 0, 100, 17]


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            {"image_id": 9, "category_id": 3, "bbox": [0, 0, 1, 1], "score": 0.5},
            "image_id 9, which is not in the ground truth",
        ),
        (
            {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5},
            "unknown category_id 1",
        ),
        (
            {"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1], "score": "high"},
            "score must be a finite number",
        ),
        ({"image_id": 1, "category_id": 3, "score": 0.5}, "result 0 has no 'bbox'"),
    ],
)
def test_coco_results_malformed(tmp_path, result, message):
    (tmp_path / "gt.json").write_text(json.dumps(coco_ok()))
    gt = read_coco(tmp_path / "gt.json")
    (tmp_path / "r.json").write_text(json.dumps([result]))
    with pytest.raises(FormatError, match=message):
        read_coco_results(tmp_path / "r.json", gt)
    (tmp_path / "r.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(FormatError, match="must be a JSON list"):
        read_coco_results(tmp_path / "r.json", gt)


# --------------------------------------------------------------------------- malformed YOLO
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.2", "expected 5 fields"),
        ("0 0.5 0.5 x 0.2", "not numbers"),
        ("0 0.5 0.5 -0.2 0.2", "negative width/height"),
        ("0 0.95 0.5 0.2 0.2", "box is outside the image"),
        ("7 0.5 0.5 0.2 0.2", "unknown class index 7"),
        ("0 nan 0.5 0.2 0.2", "values must be finite"),
    ],
)
def test_yolo_malformed_file_names_file_and_problem(tmp_path, line, message):
    Image.new("RGB", (10, 10)).save(tmp_path / "a.png")
    (tmp_path / "a.txt").write_text(line + "\n")
    with pytest.raises(FormatError, match=message) as info:
        read_yolo(tmp_path, NAMES)
    assert "a.txt" in str(info.value)


def test_yolo_label_without_image(tmp_path):
    Image.new("RGB", (10, 10)).save(tmp_path / "a.png")
    (tmp_path / "b.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(FormatError, match="b.txt: label file has no image"):
        read_yolo(tmp_path)


def test_detect_format_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        detect_format(tmp_path / "missing")
    (tmp_path / "x.csv").write_text("")
    with pytest.raises(ValueError, match="cannot tell the format"):
        detect_format(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="no Annotations"):
        detect_format(tmp_path)


# --------------------------------------------------------------------------- types
def test_sample_validation():
    img = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(ValueError, match=r"image must have shape \(H, W, 3\)"):
        Sample(np.zeros((4, 5)), [[0, 0, 1, 1]], [0])
    with pytest.raises(TypeError, match="image must be floating"):
        Sample(np.zeros((4, 5, 3), np.uint8), [[0, 0, 1, 1]], [0])
    with pytest.raises(ValueError, match=r"image values must be finite and in \[0, 1\]"):
        Sample(img + 2, [[0, 0, 1, 1]], [0])
    with pytest.raises(ValueError, match=r"label must have shape \(R,\) = \(1,\)"):
        Sample(img, [[0, 0, 1, 1]], [0, 1])
    with pytest.raises(ValueError, match="label must be >= 0"):
        Sample(img, [[0, 0, 1, 1]], [-1])
    with pytest.raises(TypeError, match="label must hold integers"):
        Annotation([[0, 0, 1, 1]], [0.5])
    with pytest.raises(ValueError, match="bbox values must fit in float32"):
        Annotation([[0, 0, 1, 1e300]], [0])
    s = Sample(img, np.zeros((0, 4)), np.zeros(0, int))
    assert s.bbox.shape == (0, 4) and s.label.dtype == np.int64


# --------------------------------------------------------------------------- bboxcore eval
def test_cli_eval_on_voc_and_coco(tmp_path, capsys):
    for stem in ("a", "b"):
        write_voc_xml(
            tmp_path / f"{stem}.xml",
            Annotation([[0, 0, 10, 10], [20, 20, 40, 40]], [0, 1], img_size=(50, 50)),
            ["cat", "dog"],
        )
    results = [
        {"image_id": s, "category_id": c, "bbox": b, "score": 0.9}
        for s in ("a", "b")
        for c, b in (("cat", [0, 0, 10, 10]), (1, [20, 20, 20, 20]))
    ]
    (tmp_path / "res.json").write_text(json.dumps(results))
    code = main(
        [
            "eval",
            "--gt",
            str(tmp_path),
            "--pred",
            str(tmp_path / "res.json"),
            "--classes",
            "cat,dog",
            "--json",
            str(tmp_path / "n.json"),
            "--plot",
            str(tmp_path / "pr.png"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "mAP" in out and "Average Precision" in out
    numbers = json.loads((tmp_path / "n.json").read_text())
    assert numbers["voc"]["mAP"] == 1.0 and numbers["voc07"]["mAP"] == 1.0
    assert numbers["coco"]["AP50"] == pytest.approx(1.0)
    assert (tmp_path / "pr.png").stat().st_size > 0
    (tmp_path / "res.json").write_text("[{")
    assert main(["eval", "--gt", str(tmp_path), "--pred", str(tmp_path / "res.json")]) == 2
    assert "res.json: not valid JSON" in capsys.readouterr().err


def test_results_category_name_decides_the_class_for_voc_yolo_ground_truth(tmp_path):
    """With VOC/YOLO ground truth a result's ``category_name`` (as ``bboxcore detect`` writes
    beside COCO's 1-based ``category_id``) gives its class; an unknown name is an error. COCO
    ground truth ignores it: ids must match, as in pycocotools."""
    ann = Annotation([[0, 0, 4, 4]], [0], image_id="a", filename="a.jpg")
    voc_like = AnnotationSet([ann], NAMES, [None])
    row = {"image_id": "a.jpg", "category_id": 1, "bbox": [0, 0, 4, 4], "score": 0.5}
    (tmp_path / "r.json").write_text(json.dumps([{**row, "category_name": "cat"}]))
    assert read_coco_results(tmp_path / "r.json", voc_like)[0].label.tolist() == [0]
    (tmp_path / "r.json").write_text(json.dumps([row]))  # no name: category_id 1 is label 1
    assert read_coco_results(tmp_path / "r.json", voc_like)[0].label.tolist() == [1]
    (tmp_path / "r.json").write_text(json.dumps([{**row, "category_name": "cow"}]))
    with pytest.raises(FormatError, match="unknown category_name 'cow'; known: .'cat'"):
        read_coco_results(tmp_path / "r.json", voc_like)
    coco = AnnotationSet([Annotation([[0, 0, 4, 4]], [0], image_id=7)], NAMES, None, (1, 2, 3))
    (tmp_path / "r.json").write_text(json.dumps([{**row, "image_id": 7, "category_name": "x"}]))
    assert read_coco_results(tmp_path / "r.json", coco)[0].label.tolist() == [0]

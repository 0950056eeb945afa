"""Not allowed: torchvision's NMS, through __import__."""


def nms(boxes, scores, iou_thresh):
    tv = __import__("torchvision.ops", fromlist=["nms"])
    import torch

    return tv.nms(torch.as_tensor(boxes), torch.as_tensor(scores), iou_thresh).tolist()

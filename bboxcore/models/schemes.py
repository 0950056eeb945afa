r"""The training schemes: which network trains which parts on which losses, stage by stage.

A scheme is a sequence of :class:`Stage`\ s, each of ``epochs`` epochs
(:class:`~bboxcore.models.trainer.Trainer` runs them). This table is the one
list of scheme names: ``TrainConfig.scheme``, ``bboxcore train --scheme`` and
the trainer all read it. The detector knows nothing of schemes; a stage only
passes keyword options to its :meth:`~bboxcore.models.base.Detector.loss`.

* ``joint`` — one stage that trains every parameter on the sum of all the
  detector's losses: for Faster R-CNN, *approximate joint training* (what
  *Object Detection: Faster R-CNN* recommends); the only scheme of a one-stage
  detector.
* ``alternating`` — the 4-step alternating training of Faster R-CNN [1]_
  (Sec. 3.2): (1) an RPN trained alone, on its own network; (2) a Fast
  R-CNN — a *separate* backbone and the head — trained on the step-1 RPN's
  proposals; (3) the step-1 RPN layers fine-tuned on the step-2 backbone,
  frozen; (4) the head fine-tuned on the step-3 proposals, backbone frozen.
  (The paper starts steps 1 and 2 from ImageNet weights; we start from
  scratch.) It needs a detector with ``backbone``, ``rpn`` and ``head`` parts
  whose ``loss`` takes ``heads``, ``proposals`` and ``frozen_backbone``, and a
  ``propose(images)`` method (:class:`~bboxcore.models.faster_rcnn.FasterRCNN`).

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SCHEMES", "TRAINING_SCHEMES", "Scheme", "Stage"]


@dataclass(frozen=True)
class Stage:
    """One stage of a training scheme.

    Parameters
    ----------
    name : str
        As logged (the ``stage`` column of ``log.csv``).
    net : str
        The network trained: ``'model'`` (the detector the run delivers) or one
        of the scheme's extra :attr:`Scheme.networks`.
    parts : tuple of str or None
        The sub-modules whose parameters are trained; None: all of them.
    loss_options : dict
        Keyword options of the network's ``loss`` (e.g. ``heads``, ``frozen_backbone``).
    proposals_from : str or None
        A network whose ``propose(images)`` gives the RoIs of the loss.
    init_from : tuple of (str, str) or None
        ``(network, part)``: copy that part's weights into the trained network's
        part of the same name when the stage starts.
    evaluate : bool
        Validate at the end of this stage's epochs.

    Examples
    --------
    Step 1 of the 4-step alternating training of Faster R-CNN (*Object
    Detection: Faster R-CNN*): the RPN alone, on a network of its own.

    >>> s = SCHEMES["alternating"].stages[0]
    >>> s.name, s.net, s.parts, s.loss_options, s.evaluate
    ('1-rpn', 'rpn_net', ('backbone', 'rpn'), {'heads': ('rpn',)}, False)
    """

    name: str
    net: str = "model"
    parts: tuple[str, ...] | None = None
    loss_options: dict = field(default_factory=dict)
    proposals_from: str | None = None
    init_from: tuple[str, str] | None = None
    evaluate: bool = True


@dataclass(frozen=True)
class Scheme:
    """A training scheme: its stages, the extra networks and the parts it needs.

    Parameters
    ----------
    stages : tuple of Stage
        Run in this order.
    networks : dict of str to int
        Extra networks (besides ``'model'``), each built like the model with the
        weight seed ``seed + offset``.
    needs : tuple of str
        Sub-modules the detector must have.

    Examples
    --------
    >>> alt = SCHEMES["alternating"]
    >>> [s.name for s in alt.stages]
    ['1-rpn', '2-fast-rcnn', '3-rpn-finetune', '4-head-finetune']
    >>> alt.networks, alt.needs
    ({'rpn_net': 1}, ('backbone', 'rpn', 'head'))
    >>> Scheme((Stage("joint"),)) == SCHEMES["joint"]
    True
    """

    stages: tuple[Stage, ...]
    networks: dict = field(default_factory=dict)
    needs: tuple[str, ...] = ()


_RPN, _HEAD = {"heads": ("rpn",)}, {"heads": ("head",)}

#: Every training scheme, by the name ``--scheme`` takes.
SCHEMES: dict[str, Scheme] = {
    "joint": Scheme((Stage("joint"),)),
    "alternating": Scheme(
        (
            Stage(
                "1-rpn", net="rpn_net", parts=("backbone", "rpn"), loss_options=_RPN, evaluate=False
            ),
            Stage(
                "2-fast-rcnn",
                parts=("backbone", "head"),
                loss_options=_HEAD,
                proposals_from="rpn_net",
                evaluate=False,
            ),
            Stage(
                "3-rpn-finetune",
                parts=("rpn",),
                loss_options={**_RPN, "frozen_backbone": True},
                init_from=("rpn_net", "rpn"),
                evaluate=False,
            ),
            Stage(
                "4-head-finetune", parts=("head",), loss_options={**_HEAD, "frozen_backbone": True}
            ),
        ),
        networks={"rpn_net": 1},
        needs=("backbone", "rpn", "head"),
    ),
}
#: The scheme names, in the order ``--scheme`` lists them.
TRAINING_SCHEMES = tuple(SCHEMES)

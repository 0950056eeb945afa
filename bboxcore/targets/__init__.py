"""Target assignment: which anchor or RoI learns what, one module per detector family.

Target assigners are plain NumPy with no gradient: they take part in the forward
pass only, and draw every random choice from an explicit ``rng``.

* :mod:`bboxcore.targets.faster_rcnn` — :class:`AnchorTargetCreator` (RPN labels and
  offsets), :class:`ProposalCreator` (the proposal layer) and
  :class:`ProposalTargetCreator` (RoI sampling for the head), Faster R-CNN.

Every public name is re-exported here and by :mod:`bboxcore`.
"""

from bboxcore.targets.faster_rcnn import (
    IGNORE,
    NEGATIVE,
    POSITIVE,
    AnchorTargetCreator,
    ProposalCreator,
    ProposalTargetCreator,
)

__all__ = [
    "IGNORE",
    "NEGATIVE",
    "POSITIVE",
    "AnchorTargetCreator",
    "ProposalCreator",
    "ProposalTargetCreator",
]

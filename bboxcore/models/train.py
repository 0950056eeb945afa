"""Moved to :mod:`bboxcore.models.train_cli` (the ``bboxcore train`` glue); old imports work.

The training loop itself is :mod:`bboxcore.models.trainer`. ``python -m
bboxcore.models.train`` still runs ``bboxcore train``.
"""

from bboxcore.models.train_cli import (
    ADAM_LR,
    DEFAULT_EPOCHS,
    Trainer,
    TrainingDiverged,
    add_arguments,
    build_dataset,
    build_model,
    config_from_args,
    evaluate,
    main,
    train_one_epoch,
)

__all__ = [
    "ADAM_LR",
    "DEFAULT_EPOCHS",
    "Trainer",
    "TrainingDiverged",
    "add_arguments",
    "build_dataset",
    "build_model",
    "config_from_args",
    "evaluate",
    "main",
    "train_one_epoch",
]

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

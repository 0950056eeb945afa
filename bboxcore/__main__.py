"""``python -m bboxcore``: the ``bboxcore`` command, for when its script is not on the PATH.

Examples
--------
``python -m bboxcore eval --gt gt.json --pred results.json`` is
``bboxcore eval --gt gt.json --pred results.json``.
"""

from __future__ import annotations

import sys

from bboxcore.cli import main

if __name__ == "__main__":
    sys.exit(main())

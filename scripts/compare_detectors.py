"""Train and evaluate every detector under one protocol: ``bboxcore compare`` as a script.

Run ``python scripts/compare_detectors.py --help``; see :mod:`bboxcore.tools.compare`.
"""

import sys

from bboxcore.tools.compare import main

if __name__ == "__main__":
    sys.exit(main())

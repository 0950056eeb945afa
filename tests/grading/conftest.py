"""The sample submissions are data, not tests: never import them into the test process.

Some of them call ``sys.exit`` or patch ``bboxcore`` when imported; only the
grader's worker process may run them.
"""

collect_ignore_glob = ["submissions/*"]

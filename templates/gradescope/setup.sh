#!/usr/bin/env bash
# Gradescope autograder: setup.sh (runs once, when Gradescope builds the autograder image).
# Installs Python and bboxcore (from requirements.txt, beside this file) into /opt/bboxcore.
#
# The assignment is the ASSIGNMENT line of run_autograder (nms, iou, bbox2loc, loc2bbox,
# soft_nms, smooth_l1, anchor_labels, roi_align or iou_loss_grad); this script reads it from
# there and fails the build when it is not an assignment or points/$ASSIGNMENT.toml does not
# fit its checks, rather than at grading time.
#
# Zip what this folder holds (setup.sh, run_autograder, requirements.txt, points/), not the
# folder itself, and upload the zip as the assignment's autograder ("Ubuntu" base image).
set -euo pipefail

SOURCE=/autograder/source
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /opt/bboxcore
/opt/bboxcore/bin/pip install --upgrade pip
/opt/bboxcore/bin/pip install -r "$SOURCE/requirements.txt"

# Check the configuration: grade a file without the function (exit status 1: it fails its
# checks); 2 means an unknown assignment or a points file that names another one's checks.
ASSIGNMENT=$(sed -n 's/^ASSIGNMENT=\([A-Za-z0-9_]*\).*/\1/p' "$SOURCE/run_autograder")
probe=$(mktemp -d)
printf 'def not_the_function():\n    pass\n' > "$probe/probe.py"
status=0
/opt/bboxcore/bin/bboxcore grade "${ASSIGNMENT:-unset}" "$probe/probe.py" \
    --weights "$SOURCE/points/${ASSIGNMENT:-unset}.toml" \
    --examples 1 --jobs 1 --no-progress > /dev/null || status=$?
rm -rf "$probe"
if [ "$status" -ne 1 ]; then
    echo "setup.sh: run_autograder's ASSIGNMENT=${ASSIGNMENT:-} or its points file is wrong" \
        "(bboxcore grade exited with $status)" >&2
    exit 1
fi

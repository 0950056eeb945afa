#!/usr/bin/env bash
# Gradescope autograder: setup.sh (runs once, when Gradescope builds the autograder image).
# Installs Python and bboxcore (from requirements.txt, beside this file) into /opt/bboxcore.
# Zip setup.sh, run_autograder, requirements.txt and points.toml themselves (not their
# folder) and upload the zip as the assignment's autograder ("Ubuntu" base image).
set -euo pipefail

apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /opt/bboxcore
/opt/bboxcore/bin/pip install --upgrade pip
/opt/bboxcore/bin/pip install -r /autograder/source/requirements.txt
/opt/bboxcore/bin/bboxcore grade --help > /dev/null  # fail the build now, not at grading time

#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. The bundle
# unpacks into /autograder/source: the course (engine, reference, rubric, release notebooks).
set -euo pipefail
SOURCE="${AUTOGRADER_SOURCE:-/autograder/source}"
cd "$SOURCE"
# bubblewrap gives the grading worker its namespaces; without it grading uses limits only.
apt-get update -q && apt-get install -y -q bubblewrap python3-venv || true
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -q --upgrade pip
# a CPU build of PyTorch first, so the course's dependencies never pull a CUDA one; the
# version the Makefile pins, so Gradescope grades with the PyTorch the course was tested on
/autograder/venv/bin/python -m pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/python -m pip install -q "$SOURCE"

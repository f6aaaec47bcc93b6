"""Weights trained inside the course, shipped as safetensors files: tensors and nothing else,
read without pickle, so that loading them can never run code. Each file is written by a
script in the repository, which reproduces it from a seed.

    state = weights.load("digitnet_0_to_4")    # {"features.0.weight": tensor, ...}
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """Where the weights called ``name`` are stored."""
    return FOLDER / f"{name}.safetensors"


def load(name: str) -> dict:
    """The state_dict stored as ``name``: parameter names -> CPU tensors."""
    from safetensors.torch import load_file

    return load_file(path(name))

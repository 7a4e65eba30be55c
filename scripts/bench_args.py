"""Command-line handling and output shared by the benchmark scripts (standard library only)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def split_options(
    argv: list[str], own_defaults: Mapping[str, Any], usage: str
) -> tuple[dict[str, Any], list[str]]:
    """The script's own ``key=value`` options, and the rest as trainlab overrides.

    ``-h``/``--help`` prints ``usage`` and exits, rather than reaching Hydra as an override.
    """
    if any(arg in ("-h", "--help") for arg in argv):
        print(usage.strip())
        sys.exit(0)
    own = dict(own_defaults)
    overrides: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in own:
            own[key] = value
        else:
            overrides.append(arg)
    return own, overrides


def write_result(output: Path, result: dict[str, Any]) -> None:
    """Write a benchmark's result as indented JSON (creating its folder) and say where."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {output}")

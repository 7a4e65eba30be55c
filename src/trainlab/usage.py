"""What the command line gets before anything heavy is imported.

The one-line error format and the usage exit status, and the first check of a command
line: an option of a config group that has no file under ``conf/<group>/`` (a typo such
as ``model=mpl``) is refused from the file tree alone, in the words Hydra's composition
gives it, before Hydra, OmegaConf or torch is imported. Only Python and PyYAML load here.

The check decides only where the files decide: every argument a plain ``key=value``
(``-m`` aside) and the group in the primary config's defaults list. Anything else (an
append ``+group=``, a sweep ``model=a,b``, a quoted value, ``--help``, a search path of
one's own) is left to the pre-flight's full composition (``trainlab.config.preflight``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

#: How every user-facing error line starts.
PREFIX = "trainlab: error: "
#: The exit status of a command line that cannot work (as argparse's).
USAGE_ERROR = 2

_MULTIRUN_FLAGS = {"-m", "--multirun"}
#: ``key=value`` where Hydra's override grammar reads the value as the plain text it is.
_PLAIN = re.compile(r"(?P<key>[A-Za-z_][\w./]*)=(?P<value>[\w.:/+-]*)")
#: A value that can only name a config file of the group.
_OPTION = re.compile(r"\w[\w-]*")


def _find_config_dir() -> Path:
    """The repository's ``conf/`` in a checkout, else the copy packaged in the wheel."""
    package = Path(__file__).resolve().parent
    checkout = package.parents[1] / "conf"
    return checkout if checkout.is_dir() else package / "conf"


CONFIG_DIR = _find_config_dir()


def refuse(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print ``message`` as the one error line on stderr and exit with ``code``."""
    print(PREFIX + message, file=sys.stderr, flush=True)
    sys.exit(code)


def default_groups(config_name: str) -> list[str]:
    """The config groups ``conf/<config_name>.yaml`` chooses in its defaults list, in order."""
    import yaml  # type: ignore[import-untyped]

    try:
        loaded = yaml.safe_load((CONFIG_DIR / f"{config_name}.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []  # Hydra's composition reports it
    defaults = loaded.get("defaults") if isinstance(loaded, dict) else None
    groups: list[str] = []
    for entry in defaults if isinstance(defaults, list) else []:
        if isinstance(entry, dict) and len(entry) == 1:
            key = str(next(iter(entry))).removeprefix("optional ")
            if " " not in key and "@" not in key:  # not ``override x`` or a package
                groups.append(key)
    return groups


def group_options(group: str) -> list[str]:
    """The options of ``group``: its files under ``conf/``, sorted as Hydra lists them."""
    return sorted(path.stem for path in (CONFIG_DIR / group).glob("*.yaml"))


def unknown_group_option(config_name: str, argv: Sequence[str]) -> str | None:
    """The error for a group option ``argv`` names that has no config file, if it decides.

    None when every option exists, and when the files alone cannot tell (see the module).
    """
    chosen: dict[str, str] = {}
    for arg in argv:
        if arg in _MULTIRUN_FLAGS:
            continue
        plain = _PLAIN.fullmatch(arg)
        if plain is None or plain["key"] in chosen:
            return None
        chosen[plain["key"]] = plain["value"]
    if any(key == "hydra" or key.startswith(("hydra.", "hydra/")) for key in chosen):
        return None  # Hydra's own groups and search path live in its packages
    for group in default_groups(config_name):
        option = chosen.get(group)
        if option is None or not _OPTION.fullmatch(option) or option == "null":
            continue  # the group's default, or a value the grammar reads otherwise
        if not (CONFIG_DIR / group).is_dir():
            continue
        options = group_options(group)
        if option not in options:
            return f"unknown option {group}={option}; available: {', '.join(options)}"
    return None

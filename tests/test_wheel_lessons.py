"""The lessons from an installed wheel, not a checkout: configs and lesson scripts are packaged.

The wheel is built offline (hatchling from the dev extras, no build isolation) and
installed without dependencies into a fresh venv that sees the project venv's packages
(torch, Lightning, Keras) through a ``.pth`` line, but not its editable trainlab; the
commands run from a directory outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .helpers import REPO

pytestmark = pytest.mark.slow
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def _run(command: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the freshly built trainlab wheel installed; its ``bin`` directory."""
    pytest.importorskip("hatchling", reason="the offline wheel build needs hatchling (dev extras)")
    root = tmp_path_factory.mktemp("wheel")
    built = _run(
        [
            *PIP,
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(root / "dist"),
            str(REPO),
        ],
        cwd=root,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("trainlab-*.whl")
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root)
    # The project venv's packages, as --system-site-packages would give a system Python's.
    (Path(purelib.stdout.strip()) / "project_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = _run(
        [*PIP, "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        cwd=root,
    )
    assert install.returncode == 0, install.stderr
    return venv / "bin"


def test_the_wheel_carries_the_lessons_and_their_configs(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, trainlab, trainlab.config as c, trainlab.lessons as l; "
        "print(trainlab.__file__); print(c.CONFIG_DIR); "
        "print(json.dumps(sorted(p.name for p in l.CONFIG_DIR.iterdir()))); "
        "from trainlab.lessons.notebook_reference import LESSONS; print(len(LESSONS))"
    )
    result = _run([str(installed / "python"), "-c", probe], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    module, config_dir, lesson_configs, notebook_cells = result.stdout.splitlines()
    assert notebook_cells == "11"  # the notebook reference, one module per notebook, packaged
    venv = installed.parent
    assert Path(module).is_relative_to(venv) and Path(config_dir).is_relative_to(venv)
    assert {"gradient_descent.yaml", "manual_steps.yaml", "compact_search.yaml"} <= set(
        json.loads(lesson_configs)
    )
    for script in ("trainlab-train", "trainlab-gradient-descent", "trainlab-manual-steps"):
        assert (installed / script).is_file()


def test_a_lesson_script_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    run = tmp_path / "gd"
    command = [str(installed / "python"), "-m", "trainlab.lessons.gradient_descent"]
    result = _run(
        [*command, "lr=0.05", "steps=5", "surface.points=11", f"hydra.run.dir={run}"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "descent.json").read_text())["agree"]


def test_train_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    run = tmp_path / "train"
    result = _run(
        [
            str(installed / "trainlab-train"),
            "experiment=multiply_by_3",
            "trainer.max_epochs=2",
            "figures=false",
            f"hydra.run.dir={run}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "test/loss" in json.loads((run / "metrics.json").read_text())

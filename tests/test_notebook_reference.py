"""The notebooks' own code (notebook_reference) and the lesson table built on it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from trainlab.lessons import lesson_table
from trainlab.lessons.lesson_table import END, START, Row, Side
from trainlab.lessons.notebook_reference import LESSONS, load_housing, resize_bilinear

from .helpers import EXPERIMENTS, REPO, DataDir

MODULE = REPO / "src" / "trainlab" / "lessons" / "notebook_reference.py"
ALLOWED = {"numpy", "sklearn", "torch", "keras"}


def test_notebook_reference_imports_only_the_libraries_a_notebook_uses():
    """A trainlab import would let a shared bug pass on both sides of the comparison."""
    roots = set()
    for node in ast.walk(ast.parse(MODULE.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import reaches into trainlab"
            roots.add((node.module or "").split(".")[0])
    foreign = {root for root in roots if root not in ALLOWED and root not in sys.stdlib_module_names}
    assert not foreign


def test_every_lesson_with_a_number_has_its_notebook_cell():
    """The lessons whose notebook cell reports a number (001's ReLU neuron and 003's CIFAR-10
    exercise report none)."""
    assert set(LESSONS) <= set(EXPERIMENTS)
    assert len(LESSONS) == 11
    for lesson in LESSONS.values():
        assert lesson.notebook in {"000", "001", "003", "004"}
        assert lesson.metric in {"test/acc", "test/rmse", "test/mae"}


def test_resize_is_tensorflow_bilinear_with_half_pixel_centres():
    """tf.image.resize (no antialias) samples like torch's bilinear with align_corners=False."""
    import torch

    images = np.random.default_rng(0).random((3, 28, 28))
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(images)[:, None], size=(6, 6), mode="bilinear", align_corners=False
    )[:, 0].numpy()
    resized = resize_bilinear(images, 6)
    assert resized.dtype == np.float32 and resized.shape == (3, 6, 6)
    np.testing.assert_allclose(resized, expected, rtol=1e-6)


def test_housing_features_are_scikit_learns(data_dir: DataDir, monkeypatch: pytest.MonkeyPatch):
    if not data_dir.real:
        pytest.skip("the column means are those of the real StatLib file")
    monkeypatch.setenv("TRAINLAB_DATA_DIR", str(data_dir.path))
    load_housing.cache_clear()
    data, target = load_housing()
    load_housing.cache_clear()
    assert data.shape == (20640, 8)
    np.testing.assert_allclose(data[:, [0, 2, 3]].mean(axis=0), [3.8707, 5.4290, 1.0967], atol=1e-4)
    assert target.mean() == pytest.approx(2.0686, abs=1e-4)


def _row(notebook: list[float], lightning: list[float], metric: str = "test/acc") -> Row:
    seeds = list(range(len(notebook)))
    return Row(
        "digits_dropout",
        metric,
        Side(seeds, notebook, [1.0] * len(seeds)),
        {"lightning": Side(seeds, lightning, [2.0] * len(seeds))},
    )


def test_within_the_spread_is_twice_the_std_or_the_floor():
    tight = _row([0.950, 0.950, 0.950], [0.954, 0.954, 0.954])
    assert tight.tolerance() == 0.005 and tight.agrees("lightning")
    assert not _row([0.95, 0.95, 0.95], [0.96, 0.96, 0.96]).agrees("lightning")
    spread = _row([0.90, 0.95, 1.00], [0.99, 0.99, 0.99])
    assert spread.tolerance() == pytest.approx(0.1) and spread.agrees("lightning")
    assert _row([0.5, 0.5], [0.509, 0.509], "test/rmse").agrees("lightning")
    assert not _row([0.5, 0.5], [float("nan")] * 2, "test/rmse").agrees("lightning")


def test_table_goes_between_the_readme_markers():
    text = f"intro\n{START}\nold table\n{END}\nrest\n"
    assert lesson_table.replace_between_markers(text, "| new |\n") == (
        f"intro\n{START}\n| new |\n{END}\nrest\n"
    )
    with pytest.raises(ValueError, match="lesson-table"):
        lesson_table.replace_between_markers("no markers", "| new |\n")


def test_readme_without_markers_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    readme = tmp_path / "README.md"
    readme.write_text("# no table here\n")
    assert lesson_table.main(["--lesson", "multiply_by_3", "--readme", str(readme)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


@pytest.mark.slow
def test_notebook_reference_runs_each_lesson_without_trainlab(data_dir: DataDir):
    """One short seed per lesson (1 epoch, 100 training samples), the file loaded on its own."""
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('notebook_reference', {str(MODULE)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['notebook_reference'] = module\n"
        "spec.loader.exec_module(module)\n"
        "module.main(['--seeds', '0', '--epochs', '1', '--limit', '100', '--json'])\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'trainlab'], 'trainlab imported'\n"
    )
    # one thread: these tiny models only lose time to a second one on a shared machine
    env = {**os.environ, "TRAINLAB_DATA_DIR": str(data_dir.path), "OMP_NUM_THREADS": "1"}
    process = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600, cwd=REPO
    )
    assert process.returncode == 0, process.stderr[-2000:]
    results = json.loads(process.stdout[process.stdout.index("[") :])
    assert [r["lesson"] for r in results] == list(LESSONS)
    for result in results:
        assert result["epochs"] == 1 and result["seconds"] > 0
        assert isinstance(result["value"], float)
        if result["lesson"] != "housing_unscaled":  # raw features may blow up, as the lesson shows
            assert np.isfinite(result["value"]), result


@pytest.mark.slow
def test_lesson_table_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    output, numbers = tmp_path / "table.md", tmp_path / "table.json"
    argv = ["--lesson", "multiply_by_3", "--seeds", "0", "--epochs", "1"]
    argv += ["--output", str(output), "--json", str(numbers), "--run-root", str(tmp_path / "runs")]
    assert lesson_table.main(argv) == 0
    header, rule, row = output.read_text().splitlines()[:3]
    assert header.split(" | ")[3:6] == ["notebook code", "Lightning", "Keras"]
    assert "wall time per run" in header and "within the notebook's spread" in header
    assert rule.count("---") == header.count("|") - 1
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[0] == "`multiply_by_3`" and cells[2] == "test/rmse"
    assert all(cell[0].isdigit() and cell.endswith(", 1 seeds)") for cell in cells[3:6]), row
    assert "Lightning" in cells[7] and "Keras" in cells[7]
    (saved,) = json.loads(numbers.read_text())
    assert saved["notebook"]["seeds"] == [0] and set(saved["engines"]) == {"lightning", "keras"}
    assert len(list((tmp_path / "runs").iterdir())) == 2
    assert output.read_text() in capsys.readouterr().out


def test_lesson_table_merges_earlier_runs_by_lesson_and_seed(tmp_path: Path):
    """Long lessons are measured in several runs; ``--from-json`` writes one table of them."""

    def row(seeds: list[int], engines: tuple[str, ...]) -> Row:
        values = [0.5 + seed / 100 for seed in seeds]
        side = Side(seeds, values, [1.0] * len(seeds))
        return Row(
            "housing_minmax",
            "test/mae",
            side,
            {e: Side(seeds, values, [2.0] * len(seeds)) for e in engines},
        )

    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps([asdict(row([0, 1, 2], ("lightning", "keras")))]))
    second.write_text(json.dumps([asdict(row([2, 3], ("lightning",)))]))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold\n{END}\nrest\n")
    argv = ["--from-json", str(first), "--from-json", str(second), "--readme", str(readme)]
    assert lesson_table.main(argv) == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    (line,) = [line for line in text.splitlines() if line.startswith("| `housing_minmax`")]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[3] == cells[4] == "0.5150 (0.5000 to 0.5300, 4 seeds)"  # seed 2 once
    assert cells[5] == "0.5100 (0.5000 to 0.5200, 3 seeds)"

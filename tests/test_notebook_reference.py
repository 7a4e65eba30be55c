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
from trainlab.lessons.reference import LESSONS
from trainlab.lessons.reference.common import load_housing
from trainlab.lessons.reference.notebook_000 import resize_bilinear
from trainlab.lessons.table_rows import END, START, Row, Side

from .helpers import EXPERIMENTS, REPO, DataDir

LESSONS_DIR = REPO / "src" / "trainlab" / "lessons"
MODULES = [LESSONS_DIR / "notebook_reference.py", *sorted((LESSONS_DIR / "reference").glob("*.py"))]
ALLOWED = {"numpy", "sklearn", "torch", "keras"}
#: The one piece of trainlab the notebook side shares: the StatLib housing derivation, which
#: test_housing_features_are_scikit_learns checks against scikit-learn's own figures.
SHARED = {"trainlab.data.housing"}
TRAINING_CODE = ("trainlab.api", "trainlab.engines", "trainlab.models", "trainlab.run")


def test_notebook_reference_imports_only_the_libraries_a_notebook_uses():
    """A trainlab import would let a shared bug pass on both sides of the comparison."""
    assert len(MODULES) == 7  # the command line, the package, the common part, four notebooks
    for module in MODULES:
        names = set()
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{module.name}: a relative import"
                names.add(node.module or "")
        own = {n for n in names if n.startswith("trainlab.lessons.reference")}
        foreign = {
            n
            for n in names - own - SHARED
            if n.split(".")[0] not in ALLOWED and n.split(".")[0] not in sys.stdlib_module_names
        }
        assert not foreign, module.name


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


def test_table_goes_between_the_markers():
    text = f"intro\n{START}\nold table\n{END}\nrest\n"
    assert lesson_table.replace_between_markers(text, "| new |\n") == (
        f"intro\n{START}\n| new |\n{END}\nrest\n"
    )
    with pytest.raises(ValueError, match="lesson-table"):
        lesson_table.replace_between_markers("no markers", "| new |\n")


def test_a_doc_without_markers_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    doc = tmp_path / "lessons.md"
    doc.write_text("# no table here\n")
    assert lesson_table.main(["--lesson", "multiply_by_3", "--doc", str(doc)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_the_lessons_guide_holds_every_lessons_row():
    """docs/lessons.md carries the table between the markers lesson_table rewrites."""
    text = (REPO / "docs" / "lessons.md").read_text()
    assert text.count(START) == text.count(END) == 1
    table = text[text.index(START) : text.index(END)]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert sorted(row.split("`")[1] for row in rows) == sorted(LESSONS)
    assert "python -m trainlab.lessons.lesson_table" in table


def _rows_json(path: Path) -> Path:
    seeds = [0, 1]
    side = Side(seeds, [0.5, 0.52], [1.0, 1.0])
    row = Row("housing_minmax", "test/mae", side, {"lightning": side, "keras": side})
    path.write_text(json.dumps([asdict(row)]))
    return path


def test_lesson_table_rewrites_docs_lessons_md_by_default(tmp_path: Path):
    """``--doc`` alone (and the ``--readme`` spelling) writes docs/lessons.md's table."""
    doc = tmp_path / "docs" / "lessons.md"
    doc.parent.mkdir()
    numbers = _rows_json(tmp_path / "rows.json")
    for option in ("--doc", "--readme"):
        doc.write_text(f"# The lessons\n{START}\nold\n{END}\nnotes\n")
        command = [sys.executable, "-m", "trainlab.lessons.lesson_table", "--from-json", str(numbers)]
        process = subprocess.run(
            [*command, option], capture_output=True, text=True, cwd=tmp_path, timeout=300
        )
        assert process.returncode == 0, process.stderr[-2000:]
        text = doc.read_text()
        assert text.startswith("# The lessons\n") and text.endswith("notes\n") and "old" not in text
        assert "| `housing_minmax` | 001: Task 3, 8-16-12-1 MinMax | test/mae |" in text


@pytest.mark.slow
def test_notebook_reference_runs_each_lesson_without_trainlab(data_dir: DataDir):
    """One short seed per lesson (1 epoch, 100 training samples) through the command line's
    ``main``; of trainlab, only the lessons' own modules and what the housing loader needs."""
    script = (
        "import json, sys\n"
        "import trainlab.data.housing\n"
        "before = {m for m in sys.modules if m.split('.')[0] == 'trainlab'}\n"
        "from trainlab.lessons.notebook_reference import main\n"
        "main(['--seeds', '0', '--epochs', '1', '--limit', '100', '--json'])\n"
        "after = {m for m in sys.modules if m.split('.')[0] == 'trainlab'}\n"
        "print('TRAINLAB' + json.dumps([sorted(before), sorted(after - before)]))\n"
    )
    # one thread: these tiny models only lose time to a second one on a shared machine
    env = {**os.environ, "TRAINLAB_DATA_DIR": str(data_dir.path), "OMP_NUM_THREADS": "1"}
    process = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600, cwd=REPO
    )
    assert process.returncode == 0, process.stderr[-2000:]
    output, modules = process.stdout.rsplit("TRAINLAB", 1)
    shared, added = json.loads(modules)
    assert all(m.startswith("trainlab.lessons") for m in added), added
    assert not [m for m in shared + added if m.startswith(TRAINING_CODE)]
    results = json.loads(output[output.index("[") :])
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

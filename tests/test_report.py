"""``python -m benchmarks.report`` rewrites only the generated sections of the results document.

The epoch result is written with the structure ``benchmarks.epoch`` gives it (see
``benchmarks/epoch.py``'s ``report`` and ``benchmarks/epoch_report.py``'s ``row_data``);
no benchmark runs here.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import report
from benchmarks.epoch_report import LABELS

MACHINE = {
    "cpu": "Test CPU 3000",
    "cores": 2,
    "torch_threads": 2,
    "device": "cpu",
    "python": "3.11.0",
    "torch": "2.13.0",
    "lightning": "2.5.0",
    "keras": "3.6.0",
}
SECONDS = {"raw": 0.5, "trainlab": 0.6, "keras": 1.2, "per_sample": 2.4, "floor": 0.25}
TRAIN_SAMPLES = 1000


def epoch_result() -> dict[str, object]:
    rows = {
        name: {
            "label": LABELS[name],
            "available": True,
            "reason": None,
            "seconds_per_epoch": {
                "median": seconds,
                "min": seconds - 0.01,
                "max": seconds + 0.02,
                "runs": [seconds - 0.01, seconds, seconds + 0.02],
            },
            "samples_per_second": TRAIN_SAMPLES / seconds,
        }
        for name, seconds in SECONDS.items()
    }
    return {
        "benchmark": "seconds per epoch (train split + validation split)",
        "command": "python -m benchmarks.epoch data=digits reps=3",
        "machine": MACHINE,
        "config": {
            "overrides": ["model=mlp", "optimizer=sgd", "data=digits"],
            "data": "trainlab.data.digits.DigitsDataModule",
            "layers": "64-256-256-10",
            "activation": "relu",
            "optimizer": "torch.optim.SGD",
            "batch_size": 32,
            "eval_batch_size": 1024,
            "train_samples": TRAIN_SAMPLES,
            "val_samples": 270,
            "reps": 3,
            "warmup": 1,
        },
        "rows": rows,
        "floor": {"flops_per_epoch": 1.0e9, "gemm_flops_per_second": 4.0e9, "parameters": 85_000},
        "ratios": {
            "trainlab/raw": 1.2,
            "per_sample/trainlab": 4.0,
            "trainlab/floor": 2.4,
            "keras/raw": 2.4,
        },
    }


DOCUMENT = """# Results

Hand-written text, kept.

<!-- generated: epoch -->
old epoch table
<!-- end: epoch -->

Between the sections, kept.

<!-- generated: startup -->
old startup table
<!-- end: startup -->
"""


def test_report_rewrites_the_epoch_section_only(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "epoch.json").write_text(json.dumps(epoch_result(), indent=2))
    document = tmp_path / "docs" / "results.md"
    document.parent.mkdir()
    document.write_text(DOCUMENT)

    assert report.main(["--bench-dir", str(bench), "--output", str(document)]) == 0

    text = document.read_text()
    before, _, rest = text.partition("<!-- generated: epoch -->\n")
    section, _, after = rest.partition("<!-- end: epoch -->")
    assert before == "# Results\n\nHand-written text, kept.\n\n"
    assert "old epoch table" not in section
    # No bench/startup.json: its section stays as it was, as does the text around it.
    assert after == DOCUMENT.partition("<!-- end: epoch -->")[2]
    assert "Command: `python -m benchmarks.epoch data=digits reps=3`" in section
    assert "Test CPU 3000, 2 cores, 2 torch threads, device cpu" in section
    assert "DigitsDataModule, 64-256-256-10 relu, batch 32, SGD" in section
    lines = section.splitlines()
    assert "| trainlab (Lightning engine) | 0.600 (0.590-0.620) | 1,667 | 1.20 |" in lines
    assert "| raw loop (batched indexing) | 0.500 (0.490-0.520) | 2,000 | 1.00 |" in lines
    assert "| Lightning engine / raw loop | 1.20 | \u2264 1.1 \u2717 |" in lines
    assert "| Keras engine / raw loop | 2.40 |  |" in lines
    assert "| per-sample DataLoader / Lightning engine | 4.00 |  |" in lines

    # Regenerating from the same result changes nothing.
    assert report.main(["--bench-dir", str(bench), "--output", str(document)]) == 0
    assert document.read_text() == text


def test_report_refuses_a_result_without_its_section(tmp_path: Path) -> None:
    (tmp_path / "epoch.json").write_text(json.dumps(epoch_result()))
    document = tmp_path / "results.md"
    document.write_text("# Results\n")

    assert report.main(["--bench-dir", str(tmp_path), "--output", str(document)]) == 1
    assert document.read_text() == "# Results\n"

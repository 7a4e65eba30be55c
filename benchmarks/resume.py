"""Continuing a stopped run (``python train.py resume=<run dir>``): does it end exactly as
an uninterrupted run, how soon does it train again, what do mid-epoch checkpoints cost.

    python -m benchmarks.resume        # digits and MNIST, both engines; writes bench/resume.json
    python -m benchmarks.resume datasets=digits engines=lightning digits_epochs=2 runs=1 saves=5

Options: ``datasets`` (``digits,mnist``), ``engines`` (``lightning,keras``), ``digits_epochs``
and ``mnist_epochs`` (3 each), ``runs`` (5), ``saves`` (20), ``output``. Other ``key=value``
arguments are passed to every ``train.py`` run (not to ``resume=``: a continued run keeps
its config). Parts 1 and 2 run ``train.py`` processes, part 3 trains in this process; all
write to a temporary directory.

1. Exactness, for each dataset and engine. digits is ``model=mlp_dropout data.batch_size=32``
   (dropout: the RNG state must survive too), MNIST the default MLP (784-256-256-10, Adam);
   ``figures=false``. Each is run uninterrupted, then run again and killed, then continued
   with ``resume=``; the first two with ``every_seconds=null``, so that no mid-epoch
   checkpoint falls where the machine's speed puts it. The killed Lightning run writes its
   mid-epoch ``last.ckpt`` at one step only (``every_n_steps`` = that step), a third of an
   epoch into epoch ``E // 2 + 1`` of ``E``, and SIGKILLs itself a third of an epoch later
   (``benchmarks.kill``: the same step however loaded the machine), so the continuation
   starts mid-epoch and redoes the lost steps. The Keras engine checkpoints at epoch ends
   only: its run is SIGKILLed from here once epoch 1's ``last.keras`` appears.
   Reported: the largest absolute difference between the two ``metrics.json`` and whether
   the two ``history.csv`` are the same bytes (on CPU: 0, and yes).
2. Seconds to the first training step, continued against fresh, on the Lightning run of the
   last dataset. ``resume=`` takes only safe overrides, so the continued process cannot get
   the first-step stamp of ``benchmarks.startup``; both are timed instead to a file they
   write anyway. With ``callbacks.mid_epoch_checkpoint.every_n_steps=1`` (an override
   ``resume=`` accepts) the first ``last.ckpt`` a process writes follows its first training
   step: the time is that file's modification time minus the time just before the spawn
   (no polling delay); the process is then killed. Each continued run resumes its own copy
   of part 1's killed run. Both times include one step and one checkpoint write (part 3:
   milliseconds), so their difference is what resuming adds: reading the checkpoint and
   restoring the training state. The two alternate.
3. The cost of mid-epoch checkpoints at their default interval, on the same configuration:
   a 2-epoch run through ``trainlab.train`` calls ``save_last`` (what the callback calls)
   ``saves`` times after its second step, when the optimizer's state exists, and times
   each; its second epoch, without those saves, is the epoch (``T`` s). At the default
   ``every_seconds`` (60) at most one save falls in 60 s of training: ``save / 60 s`` of an
   epoch on average, which must stay under 3% (``met``); the worst single epoch holds
   ``floor(T / 60) + 1`` saves, and its share is reported beside it (``worst_epoch_met``).
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

import trainlab
from benchmarks.clock import timed
from benchmarks.common import command_line, interleaved, split_options, summary, write_result
from benchmarks.lightning_timer import LightningEpochTimer
from benchmarks.loops import device_of
from benchmarks.machine import machine
from benchmarks.processes import REPO, failure, train_command
from trainlab.callbacks.resume import last_checkpoint, save_last
from trainlab.run import CHECKPOINTS_DIR, HISTORY_FILE, METRICS_FILE

OPTIONS = {
    "datasets": "digits,mnist",
    "engines": "lightning,keras",
    "digits_epochs": 3,
    "mnist_epochs": 3,
    "runs": 5,
    "saves": 20,
    "output": "bench/resume.json",
}
DATASETS = {
    "digits": ("data=digits", "model=mlp_dropout", "data.batch_size=32"),
    "mnist": ("data=mnist",),
}
LAST = {"lightning": "last.ckpt", "keras": "last.keras"}
MID_EPOCH = "callbacks.mid_epoch_checkpoint"
TARGET_SHARE = 0.03
POLL_SECONDS = 0.01


@dataclass(frozen=True)
class Case:
    """One dataset on one engine: the overrides of its runs, but for their length."""

    dataset: str
    engine: str
    epochs: int
    extra: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.engine}"

    def overrides(self, epochs: int | None = None) -> list[str]:
        length = f"trainer.max_epochs={epochs or self.epochs}"
        return [*DATASETS[self.dataset], f"engine={self.engine}", length, "figures=false", *self.extra]

    def timeless(self) -> list[str]:
        """The runs of part 1: mid-epoch checkpoints by step only (none unless a step is given),
        so where they fall does not depend on the machine's speed."""
        return [*self.overrides(), f"{MID_EPOCH}.every_seconds=null"]


@dataclass
class Options:
    cases: list[Case]
    runs: int
    saves: int
    output: Path

    @property
    def timed_case(self) -> Case:
        """Parts 2 and 3: the Lightning run of the last dataset."""
        return [case for case in self.cases if case.engine == "lightning"][-1]


def parse_args(argv: Sequence[str]) -> Options:
    own, extra = split_options(argv, OPTIONS, __doc__ or "")
    datasets, engines = str(own["datasets"]).split(","), str(own["engines"]).split(",")
    if not set(datasets) <= set(DATASETS) or not set(engines) <= set(LAST):
        raise SystemExit(f"datasets: some of {', '.join(DATASETS)}; engines: some of {', '.join(LAST)}")
    if "lightning" not in engines:
        raise SystemExit("engines must include lightning: parts 2 and 3 continue its killed run")
    epochs = {"digits": int(own["digits_epochs"]), "mnist": int(own["mnist_epochs"])}
    cases = [Case(data, engine, epochs[data], tuple(extra)) for data in datasets for engine in engines]
    return Options(cases, int(own["runs"]), int(own["saves"]), Path(str(own["output"])))


def spawn(args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """``python train.py args``, its output to ``log`` (never a pipe left unread)."""
    with log.open("wb") as stream:  # the child keeps its own descriptor
        return subprocess.Popen(train_command(args), cwd=REPO, stdout=stream, stderr=subprocess.STDOUT)


def finish(args: Sequence[str], log: Path, expected: int = 0) -> None:
    """Run ``train.py args`` to its end, which must be ``expected`` (-9: SIGKILLed)."""
    returncode = spawn(args, log).wait()
    if returncode != expected:
        raise failed(args, returncode, log)


def failed(args: Sequence[str], returncode: int | None, log: Path) -> RuntimeError:
    command = train_command(args)
    return failure(command, subprocess.CompletedProcess(command, returncode or 0, "", log.read_text()))


def file_stamp(path: Path) -> tuple[int, int] | None:
    """The file's inode and modification time (ns): a rename over it changes both."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def first_write_seconds(args: Sequence[str], path: Path, log: Path) -> float:
    """Seconds from spawning ``train.py args`` to its first write of ``path`` (by the new file's
    modification time); the process is killed then."""
    before = file_stamp(path)
    start = time.time()
    process = spawn(args, log)
    while file_stamp(path) == before and process.poll() is None:
        time.sleep(POLL_SECONDS)
    written = file_stamp(path)
    process.kill()
    process.wait()
    if written is None or written == before:
        raise failed(args, process.returncode, log)
    return written[1] / 1e9 - start


def global_step(checkpoint: Path) -> int:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
    return int(state["global_step"])


def epochs_done(run_dir: Path) -> int:
    """Epochs the run's ``history.csv`` records (a header line, then one line an epoch)."""
    history = run_dir / HISTORY_FILE
    return len(history.read_text().splitlines()) - 1 if history.is_file() else 0


def kill_lightning(case: Case, whole: Path, run_dir: Path) -> dict[str, Any]:
    """Run ``case`` into ``run_dir``, SIGKILLed a third of an epoch after a mid-epoch checkpoint."""
    # The uninterrupted run wrote no mid-epoch checkpoint: its last.ckpt ends its last epoch.
    epochs, total = epochs_done(whole), global_step(whole / CHECKPOINTS_DIR / LAST["lightning"])
    steps = total // epochs
    if steps < 3 or steps * epochs != total:
        raise SystemExit(f"{case.name}: {total} steps in {epochs} epochs; a mid-epoch kill needs 3+")
    saved = steps * (epochs // 2) + steps // 3
    killed = saved + steps // 3
    args = [
        *case.timeless(),
        "engine.steps_per_call=1",  # a checkpoint and a kill at exact optimizer steps
        f"{MID_EPOCH}.every_n_steps={saved}",
        "+callbacks.sigkill._target_=benchmarks.kill.sigkill_at_step",
        f"+callbacks.sigkill.step={killed}",
        f"hydra.run.dir={run_dir}",
    ]
    finish(args, run_dir.with_suffix(".log"), expected=-signal.SIGKILL)
    resumed_from = global_step(run_dir / CHECKPOINTS_DIR / LAST["lightning"])
    return {
        "steps_per_epoch": steps,
        "killed_at_step": killed,
        "resumed_from_step": resumed_from,
        "mid_epoch": resumed_from % steps != 0,
    }


def kill_keras(case: Case, run_dir: Path) -> dict[str, Any]:
    """Run ``case`` into ``run_dir``, SIGKILLed from here once ``last.keras`` appears."""
    last, log = run_dir / CHECKPOINTS_DIR / LAST["keras"], run_dir.with_suffix(".log")
    args = [*case.timeless(), f"hydra.run.dir={run_dir}"]
    process = spawn(args, log)
    while not last.is_file() and process.poll() is None:
        time.sleep(POLL_SECONDS)
    process.kill()
    if process.wait() != -signal.SIGKILL or not last.is_file():
        raise failed(args, process.returncode, log)
    # The run's state beside the model (the Keras engine's ``STATE_SUFFIX``), by epoch index.
    states = json.loads(last.with_name(last.name + ".state.json").read_text())
    return {"resumed_from_epoch": max(int(epoch) for epoch in states) + 1, "mid_epoch": False}


def difference(a: Any, b: Any) -> float:
    if a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)):
        return 0.0
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    return abs(float(a) - float(b)) if numbers else math.inf


def compare(whole: Path, resumed: Path) -> dict[str, Any]:
    """The continued run's ``metrics.json`` and ``history.csv`` against the uninterrupted run's."""
    metrics = [json.loads((d / METRICS_FILE).read_text()) for d in (whole, resumed)]
    history = [(d / HISTORY_FILE).read_bytes() for d in (whole, resumed)]
    shared = metrics[0].keys() & metrics[1].keys()
    max_diff = max((difference(metrics[0][k], metrics[1][k]) for k in shared), default=0.0)
    same_keys = metrics[0].keys() == metrics[1].keys()
    return {
        "metrics_max_abs_diff": max_diff,
        "metrics_same_keys": same_keys,
        "history_identical": history[0] == history[1],
        "exact": same_keys and max_diff == 0 and history[0] == history[1],
    }


def kill_and_resume(case: Case, scratch: Path, keep: Path | None = None) -> dict[str, Any]:
    """Part 1 for one case; ``keep``: where to copy the killed run before it is continued."""
    folder = scratch / case.name.replace("/", "-")
    folder.mkdir(parents=True)
    whole, run_dir = folder / "whole", folder / "killed"
    finish([*case.timeless(), f"hydra.run.dir={whole}"], folder / "whole.log")
    if case.engine == "lightning":
        killed = kill_lightning(case, whole, run_dir)
    else:
        killed = kill_keras(case, run_dir)
    if (run_dir / METRICS_FILE).exists():
        raise RuntimeError(f"{case.name}: the killed run wrote {METRICS_FILE}")
    if keep is not None:
        shutil.copytree(run_dir, keep)
    finish([f"resume={run_dir}"], folder / "resumed.log")
    return {"overrides": case.timeless(), **killed, **compare(whole, run_dir)}


def first_steps(case: Case, killed: Path, scratch: Path, runs: int) -> dict[str, Any]:
    """Part 2: seconds to the first step, continued (a copy of ``killed``) and fresh."""
    every_step = f"{MID_EPOCH}.every_n_steps=1"
    scratch.mkdir()

    def resumed(round_: int) -> float:
        run_dir = scratch / f"resumed{round_}"
        shutil.copytree(killed, run_dir)
        last = run_dir / CHECKPOINTS_DIR / LAST["lightning"]
        return first_write_seconds([f"resume={run_dir}", every_step], last, run_dir.with_suffix(".log"))

    def fresh(round_: int) -> float:
        run_dir = scratch / f"fresh{round_}"
        args = [*case.overrides(), every_step, f"hydra.run.dir={run_dir}"]
        last = run_dir / CHECKPOINTS_DIR / LAST["lightning"]
        return first_write_seconds(args, last, run_dir.with_suffix(".log"))

    rows = interleaved({"resumed": resumed, "fresh": fresh}, warmup=0, reps=runs)
    times = {name: row.seconds for name, row in rows.items()}
    return {
        "overrides": case.overrides(),
        "resumed_s": summary(times["resumed"]),
        "fresh_s": summary(times["fresh"]),
        "resumed_minus_fresh_s": statistics.median(times["resumed"]) - statistics.median(times["fresh"]),
    }


class SaveTimer(pl.Callback):
    """Times ``saves`` calls of ``save_last`` once the run has taken ``after_step`` steps
    (at the end of the first ``training_step`` call that reaches them).
    """

    def __init__(self, saves: int, after_step: int = 2) -> None:
        self.saves, self.after_step = saves, after_step
        self.seconds: list[float] = []
        self.bytes = 0

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        path = last_checkpoint(trainer)
        if trainer.global_step < self.after_step or self.seconds or path is None:
            return
        for _ in range(self.saves):
            self.seconds.append(timed(trainer.strategy.root_device, lambda: save_last(trainer)))
        self.bytes = path.stat().st_size


def save_cost(case: Case, run_dir: Path, saves: int) -> dict[str, Any]:
    """Part 3: one mid-epoch ``last.ckpt`` save, alone and as a share of an epoch."""
    cfg = trainlab.compose(*case.overrides(epochs=2))
    saver, epoch = SaveTimer(saves), LightningEpochTimer()
    trainlab.train(cfg, run_dir=run_dir, callbacks=[saver, epoch])
    if not saver.seconds:
        raise RuntimeError(f"{case.name}: no checkpoint was timed (no last.ckpt configured?)")
    save_s, epoch_s = statistics.median(saver.seconds), epoch.clock.seconds[-1]
    interval_s = float(cfg.callbacks.mid_epoch_checkpoint.every_seconds)
    worst_saves = math.floor(epoch_s / interval_s) + 1
    worst_share = worst_saves * save_s / epoch_s
    return {
        "overrides": case.overrides(epochs=2),
        "checkpoint_bytes": saver.bytes,
        "save_s": summary(saver.seconds),
        "epoch_s": epoch_s,
        "interval_s": interval_s,
        "saves_per_epoch": epoch_s / interval_s,
        "epoch_share": save_s / interval_s,
        "worst_epoch_saves": worst_saves,
        "worst_epoch_share": worst_share,
        "target_share": TARGET_SHARE,
        "met": save_s / interval_s < TARGET_SHARE,
        "worst_epoch_met": worst_share < TARGET_SHARE,
    }


def resumed_from(row: dict[str, Any]) -> str:
    if "steps_per_epoch" not in row:
        return f"end of epoch {row['resumed_from_epoch']}"
    steps, start = row["steps_per_epoch"], row["resumed_from_step"]
    lost = row["killed_at_step"] - start
    return f"epoch {start // steps + 1}, step {start % steps}/{steps} (killed {lost} steps on)"


def print_tables(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    exact = Table(title="SIGKILL, then python train.py resume=<run dir>, against an uninterrupted run")
    for column in ("case", "resumed from", "max |metrics diff|", "history same"):
        exact.add_column(column, justify="left" if column in ("case", "resumed from") else "right")
    for name, row in result["exactness"].items():
        identical = "yes" if row["history_identical"] else "NO"
        exact.add_row(name, resumed_from(row), f"{row['metrics_max_abs_diff']:.3g}", identical)
    console.print(exact)

    first, save = result["first_step"], result["checkpoint_save"]
    timing = Table(title="seconds to the first step; one mid-epoch last.ckpt save")
    for column in ("measure", "median", "min-max", "note"):
        timing.add_column(column, justify="left" if column in ("measure", "note") else "right")
    labels = {"resumed_s": "resume= -> first step (s)", "fresh_s": "fresh run -> first step (s)"}
    for key, label in labels.items():
        row = first[key]
        timing.add_row(label, f"{row['median']:.2f}", f"{row['min']:.2f}-{row['max']:.2f}", "")
    seconds = save["save_s"]
    size = f"{save['checkpoint_bytes'] / 1e6:.2f} MB; epoch {save['epoch_s']:.2f} s"
    timing.add_row(
        "one last.ckpt save (ms)",
        f"{1e3 * seconds['median']:.1f}",
        f"{1e3 * seconds['min']:.1f}-{1e3 * seconds['max']:.1f}",
        size,
    )
    met = {True: "met", False: "NOT met"}
    target = f"target < {100 * TARGET_SHARE:g}%"
    timing.add_row(
        f"share of an epoch, every_seconds={save['interval_s']:g}",
        f"{100 * save['epoch_share']:.3f}%",
        "",
        f"{target}: {met[save['met']]}",
    )
    timing.add_row(
        f"worst single epoch (saves: {save['worst_epoch_saves']})",
        f"{100 * save['worst_epoch_share']:.2f}%",
        "",
        f"{target}: {met[save['worst_epoch_met']]}",
    )
    console.print(timing)


def main(argv: Sequence[str]) -> dict[str, Any]:
    options = parse_args(argv)
    timed_case = options.timed_case
    with tempfile.TemporaryDirectory(prefix="trainlab-resume-") as tmp:
        scratch = Path(tmp)
        pristine = scratch / "killed-copy"
        exactness = {
            case.name: kill_and_resume(case, scratch, pristine if case == timed_case else None)
            for case in options.cases
        }
        first = first_steps(timed_case, pristine, scratch / "first-step", options.runs)
        save = save_cost(timed_case, scratch / "save", options.saves)
    cfg = trainlab.compose(*timed_case.overrides())
    result = {
        "benchmark": "kill and resume: exactness, seconds to the first step, mid-epoch checkpoint cost",
        "command": command_line("benchmarks.resume", argv),
        "machine": machine(device_of(cfg)),
        "exactness": exactness,
        "first_step": first,
        "checkpoint_save": save,
    }
    print_tables(result)
    write_result(options.output, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

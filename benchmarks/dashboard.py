"""What TensorBoard costs and gives: the wait from starting the dashboard to a page that
shows the runs, the bytes of one run's event files, and the seconds a run spends on them.

    python -m benchmarks.dashboard                # 5 starts, 7 pairs; writes bench/dashboard.json
    python -m benchmarks.dashboard threads=1      # on a busy machine
    python -m benchmarks.dashboard runs=1 pairs=1 epochs=1 output=/tmp/dashboard.json

Options: ``runs`` (dashboard starts), ``pairs`` (runs with and without TensorBoard),
``epochs`` (of those runs), ``threads`` (torch's, 0: its default), ``output``; other
``key=value`` arguments are overrides of every run. On a busy machine two torch threads
fight over the cores and a run's seconds vary many-fold, burying a 2% difference: there,
``threads=1``. The dashboard is started as ``make dashboard`` starts it, on a log directory of three
runs (``trainer.max_epochs=3``, at most ``epochs``), and is ready when ``/data/runs`` lists
every run and HPARAMS one session group per run: what its page asks for first. It is
stopped by its PID. The measured runs train in this process through ``trainlab.train``
(the log directory's runs have warmed it up), with and without the TensorBoard logger;
``TimedLogger`` times the logger's own calls inside them, and the first with-TensorBoard
run's event files are weighed. A fresh ``train.py`` process also imports TensorBoard's
modules once: that is timed apart, in fresh interpreters. Every measure takes its turn in
each round, so a busy neighbour slows them alike. The target: TensorBoard under 2% of the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from typing_extensions import override

from benchmarks.common import command_line, rotations, split_options, summary, write_result
from benchmarks.processes import failure, run_timed
from trainlab.loggers import EpochTensorBoardLogger
from trainlab.tensorboard import SUMMARY_RUN

OPTIONS = {"runs": 5, "pairs": 7, "epochs": 10, "threads": 0, "output": "bench/dashboard.json"}
TARGET_FRACTION = 0.02
LOG_DIR_RUNS = 3
LOG_DIR_EPOCHS = 3
WITHOUT_TENSORBOARD = "~logger.tensorboard"
STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
SESSION_GROUPS = {"allowedStatuses": STATUSES, "colParams": [], "startIndex": 0, "sliceSize": 1000}
POLL_SECONDS = 0.05
READY_WITHIN_SECONDS = 120.0
#: What a run with TensorBoard imports that one without it does not (trainlab.tensorboard,
#: Lightning's logger); timed after ``lightning.pytorch``, which every run imports.
TENSORBOARD_MODULES = (
    "torch.utils.tensorboard",
    "tensorboard.compat.proto.summary_pb2",
    "tensorboard.plugins.hparams.api_pb2",
    "tensorboard.plugins.hparams.metadata",
    "tensorboard.plugins.hparams.plugin_data_pb2",
    "tensorboard.plugins.hparams.summary_v2",
)
IMPORT_SCRIPT = (
    "import lightning.pytorch, time; start = time.perf_counter(); "
    f"import {', '.join(TENSORBOARD_MODULES)}; print(time.perf_counter() - start)"
)
#: Writer calls trainlab makes on the logger's ``SummaryWriter`` itself (the run's config).
WRITER_CALLS = ("add_text", "add_scalar", "flush", "close")


class TimedLogger(EpochTensorBoardLogger):
    """The run's TensorBoard logger, adding the wall seconds of its own calls (creating the
    writer, the epoch curves, the config text, flushing) to ``TimedLogger.seconds``.

    A call made inside another is counted once. The figures and the HPARAMS session go
    through writers of their own, so only the paired difference includes them.
    """

    seconds: ClassVar[float] = 0.0
    depth: ClassVar[int] = 0

    @classmethod
    def take(cls) -> float:
        """The seconds summed since the last ``take``."""
        seconds, cls.seconds = cls.seconds, 0.0
        return seconds

    @staticmethod
    @contextlib.contextmanager
    def timed() -> Iterator[None]:
        TimedLogger.depth += 1
        start = time.perf_counter()
        try:
            yield
        finally:
            TimedLogger.depth -= 1
            if TimedLogger.depth == 0:
                TimedLogger.seconds += time.perf_counter() - start

    @staticmethod
    def timing(call: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            with TimedLogger.timed():
                return call(*args, **kwargs)

        return timed_call

    @property
    @override
    def experiment(self) -> Any:
        created = self._experiment is None
        with self.timed():
            writer = super().experiment
        if created and self._experiment is not None:
            for name in WRITER_CALLS:
                setattr(writer, name, self.timing(getattr(writer, name)))
        return writer

    @override
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        with self.timed():
            super().log_metrics(metrics, step)

    @override
    def log_hyperparams(self, *args: Any, **kwargs: Any) -> None:
        with self.timed():
            super().log_hyperparams(*args, **kwargs)

    @override
    def log_graph(self, *args: Any, **kwargs: Any) -> None:
        with self.timed():
            super().log_graph(*args, **kwargs)

    @override
    def save(self) -> None:
        with self.timed():
            super().save()

    @override
    def finalize(self, status: str) -> None:
        with self.timed():
            super().finalize(status)


# Training -------------------------------------------------------------------------------


def timed_train(overrides: Sequence[str], run_dir: Path) -> float:
    """Wall seconds of ``trainlab.train`` in this process; its terminal output is dropped."""
    import trainlab

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        start = time.perf_counter()
        trainlab.train(*overrides, run_dir=run_dir)
        return time.perf_counter() - start


def timed_logger_target() -> str:
    """``TimedLogger`` as Hydra finds it, also when this module runs as ``__main__``."""
    return f"{TimedLogger.__module__}.{TimedLogger.__qualname__}"


def tensorboard_import_seconds() -> float:
    """Seconds a fresh interpreter takes to import TensorBoard's modules after Lightning."""
    command = [sys.executable, "-c", IMPORT_SCRIPT]
    _, done = run_timed(command)
    if done.returncode != 0:
        raise failure(command, done)
    return float(done.stdout.split()[-1])


# Event files ----------------------------------------------------------------------------


def record_kind(event: Any) -> str:
    """What an event record holds, as TensorBoard's tabs name it."""
    values = event.summary.value if event.HasField("summary") else []
    if not values:
        return "header"  # the file version, written first
    value = values[0]
    plugin = str(value.metadata.plugin_data.plugin_name)
    if plugin:
        return plugin
    return {"simple_value": "scalars", "image": "images"}.get(str(value.WhichOneof("value")), "other")


def event_bytes(directory: Path) -> dict[str, Any]:
    """The event files directly in ``directory``: their count, bytes, and bytes by kind.

    A record's bytes are its data plus TFRecord's 16 bytes of length and checksums, so the
    kinds add up to the files' sizes.
    """
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event

    files = sorted(directory.glob("events.out.tfevents.*"))
    kinds: dict[str, int] = {}
    for path in files:
        for record in RawEventFileLoader(str(path)).Load():
            kind = record_kind(Event.FromString(record))
            kinds[kind] = kinds.get(kind, 0) + len(record) + 16
    return {
        "files": len(files),
        "bytes": sum(path.stat().st_size for path in files),
        "by_kind": dict(sorted(kinds.items(), key=lambda item: -item[1])),
    }


def run_event_bytes(run_dir: Path) -> dict[str, Any]:
    run, session = event_bytes(run_dir), event_bytes(run_dir / SUMMARY_RUN)
    return {"run": run, "summary": session, "total_bytes": run["bytes"] + session["bytes"]}


# The dashboard ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_json(url: str, body: Mapping[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def shows_runs(url: str, runs: set[str]) -> bool:
    """Whether the dashboard lists every run and its summary run, and a session group for each."""
    listed = set(read_json(f"{url}/data/runs"))
    if not {*runs, *(f"{run}/{SUMMARY_RUN}" for run in runs)} <= listed:
        return False
    groups = read_json(f"{url}/data/plugin/hparams/session_groups", SESSION_GROUPS)["sessionGroups"]
    return len(groups) >= len(runs)


def dashboard_seconds(log_dir: Path, runs: set[str]) -> tuple[float, float]:
    """Seconds from starting ``make dashboard``'s command to its first answer, and to a page
    showing ``runs``; the server is then stopped by its PID."""
    port = free_port()
    tensorboard = Path(sys.executable).with_name("tensorboard")
    command = [str(tensorboard), "--logdir", str(log_dir), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answered: float | None = None
    try:
        while True:
            try:
                shown = shows_runs(url, runs)
                answered = answered if answered is not None else time.perf_counter() - start
                if shown:
                    return answered, time.perf_counter() - start
            except OSError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} exited ({process.returncode})")
            if time.perf_counter() - start > READY_WITHIN_SECONDS:
                raise RuntimeError(f"TensorBoard did not show {log_dir}'s runs in 120 s")
            time.sleep(POLL_SECONDS)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def build_log_dir(log_dir: Path, overrides: Sequence[str]) -> set[str]:
    """Train the dashboard's runs into ``log_dir`` where ``train.py`` places them; the names
    ``/data/runs`` gives them."""
    import trainlab

    names: set[str] = set()
    for _ in range(LOG_DIR_RUNS):
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            result = trainlab.train(*overrides, f"paths.log_dir={log_dir}")
        names.add(result.run_dir.relative_to(log_dir.resolve()).as_posix())
    return names


# The benchmark ---------------------------------------------------------------------------


def measured_machine(overrides: Sequence[str]) -> dict[str, Any]:
    import trainlab
    from benchmarks.loops import device_of
    from benchmarks.machine import machine

    return machine(device_of(trainlab.compose(*overrides)))


def main(argv: Sequence[str]) -> dict[str, Any]:
    own, extra = split_options(argv, OPTIONS, __doc__ or "")
    runs, pairs, epochs = int(own["runs"]), int(own["pairs"]), int(own["epochs"])
    output = Path(str(own["output"]))
    if int(own["threads"]) > 0:
        import torch

        torch.set_num_threads(int(own["threads"]))
    overrides = [*extra, f"trainer.max_epochs={epochs}"]
    log_dir_overrides = [*extra, f"trainer.max_epochs={min(LOG_DIR_EPOCHS, epochs)}"]
    timed_logger = f"logger.tensorboard._target_={timed_logger_target()}"
    found: dict[str, list[float]] = {
        key: [] for key in ("answered", "shown", "with", "without", "logger", "imports")
    }
    sizes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="trainlab-dashboard-") as scratch:
        log_dir = Path(scratch) / "outputs"
        names = build_log_dir(log_dir, log_dir_overrides)

        def dashboard(round_: int) -> None:
            if round_ < runs:
                answered, shown = dashboard_seconds(log_dir, names)
                found["answered"].append(answered)
                found["shown"].append(shown)

        def with_tensorboard(round_: int) -> None:
            if round_ < pairs:
                TimedLogger.take()
                run_dir = Path(scratch) / f"with{round_}"
                found["with"].append(timed_train([*overrides, timed_logger], run_dir))
                found["logger"].append(TimedLogger.take())
                if not sizes:
                    sizes.update(run_event_bytes(run_dir))

        def without_tensorboard(round_: int) -> None:
            if round_ < pairs:
                run_dir = Path(scratch) / f"without{round_}"
                found["without"].append(timed_train([*overrides, WITHOUT_TENSORBOARD], run_dir))

        def imports(round_: int) -> None:
            if round_ < runs:
                found["imports"].append(tensorboard_import_seconds())

        measures = {
            "dashboard": dashboard,
            "with": with_tensorboard,
            "without": without_tensorboard,
            "imports": imports,
        }
        for round_, order in enumerate(rotations(list(measures), max(runs, pairs))):
            for name in order:
                measures[name](round_)
            print(f"round {round_ + 1} of {max(runs, pairs)} done", flush=True)
    differences = [on - off for on, off in zip(found["with"], found["without"], strict=True)]
    run_s = statistics.median(found["with"])
    fraction = statistics.median(differences) / run_s
    result: dict[str, Any] = {
        "benchmark": "TensorBoard: dashboard start to the runs shown, event bytes, seconds per run",
        "command": command_line("benchmarks.dashboard", argv),
        "overrides": overrides,
        "machine": measured_machine(overrides),
        "dashboard": {
            "command": "tensorboard --logdir <log dir> --host 127.0.0.1 --port <free port>",
            "log_dir_runs": LOG_DIR_RUNS,
            "log_dir_overrides": log_dir_overrides,
            "first_answer_s": summary(found["answered"]),
            "runs_shown_s": summary(found["shown"]),
        },
        "event_files": sizes,
        "run_with_tensorboard_s": summary(found["with"]),
        "run_without_tensorboard_s": summary(found["without"]),
        "paired_difference_s": summary(differences),
        "difference_fraction": fraction,
        "logger_calls_s": summary(found["logger"]),
        "logger_fraction": statistics.median(found["logger"]) / run_s,
        "tensorboard_imports_s": summary(found["imports"]),
        "target_fraction": TARGET_FRACTION,
        "met": fraction < TARGET_FRACTION,
    }
    print(
        f"dashboard: runs shown after {statistics.median(found['shown']):.2f} s (median of {runs}); "
        f"one run's event files: {sizes['total_bytes']:,} bytes; "
        f"train {' '.join(overrides)}: {run_s:.2f} s with TensorBoard, "
        f"{statistics.median(found['without']):.2f} s without (medians of {pairs}); "
        f"paired difference {100 * fraction:+.1f}% (target < {100 * TARGET_FRACTION:.0f}%), "
        f"logger calls {100 * result['logger_fraction']:.1f}%"
    )
    write_result(output, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

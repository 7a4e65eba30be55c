"""DDP ranks that train the job's own config, started by the job rather than by its command line.

Lightning's launcher starts each extra rank by running the parent's command line again.
Under Hydra that reruns the whole command, ``-m`` included: every rank runs the sweep
itself, an Optuna rank claims a trial of its own and trains it as part of rank 0's job,
and the extra ranks leave run directories of their own. Here the job process (global
rank 0) publishes its resolved config in a ``TCPStore`` and starts the other ranks of
its machine (``main`` here, in fresh interpreters): they take the config from the
store, build the same model and data, and join the process group on that store.
Lightning finds the group formed and the ranks given by ``RankEnvironment`` (a public
``ClusterEnvironment``), so it starts no process of its own. Ranks other than 0 never
compose a config, never resolve a run directory and write nothing.

Every job forms its own group and ends it, so a sweep's trials each get fresh ranks.
With ``trainer.num_nodes > 1`` the other machines run the same command with
``NODE_RANK=1, 2 ...`` (and ``MASTER_ADDR``, ``MASTER_PORT``) set: ``cli.train`` sends
them here, to receive the job the same way. They need neither the run directory nor a
shared filesystem (checkpoints are read by rank 0 and broadcast, see ``checkpoint_io``).

What a rank decides alone but all must do together is agreed on: stopping for a signal
or a sweep's pruner, and writing a mid-epoch ``last.ckpt`` (``StepAgreement``).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import hashlib
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightning.pytorch as pl
import torch
import torch.distributed as dist
from lightning.fabric.plugins.environments.cluster_environment import ClusterEnvironment
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from trainlab.callbacks.resume import MidEpochCheckpoint, StopOnSignal, save_last
from trainlab.config.environment import cuda_devices, requested_devices
from trainlab.config.trainer_checks import SPAWNING
from trainlab.console import FILE_ONLY
from trainlab.engines.interrupts import StopSignals
from trainlab.engines.runtime import EpochHook
from trainlab.errors import ConfigError, RunInterrupted, TrainlabError

log = logging.getLogger(FILE_ONLY)  # rank lines: train.log only

#: Where rank 0 publishes the job, and where each rank says it is ready to join.
JOB_KEY, READY_KEY = "trainlab/job", "trainlab/ready/"
#: How long a rank waits for rank 0's job, and rank 0 for every rank to be ready.
JOIN_SECONDS = float(os.environ.get("TRAINLAB_RANK_TIMEOUT", 600))
#: How long rank 0 waits for its machine's ranks to exit once the job is over, or failed.
EXIT_SECONDS, STOP_SECONDS = 30.0, 5.0
#: Set in the environment of every rank this module starts (its global rank).
RANK_VARIABLE = "TRAINLAB_RANK"
#: Lines of a rank's output kept for the error that reports its failure.
TAIL_LINES = 5


class RankStopped(Exception):
    """Rank 0 stopped the job on purpose (pruned, interrupted): this rank stops with it."""


@dataclass(frozen=True)
class Rank:
    """Where one process stands in a job's group."""

    address: str
    port: int
    node_rank: int
    local_rank: int
    per_node: int  # processes on each machine
    num_nodes: int

    @property
    def global_rank(self) -> int:
        return self.node_rank * self.per_node + self.local_rank

    @property
    def world_size(self) -> int:
        return self.per_node * self.num_nodes


class RankEnvironment(ClusterEnvironment):
    """A ``ClusterEnvironment`` whose processes trainlab has started (see the module doc)."""

    def __init__(self, rank: Rank) -> None:
        super().__init__()
        self.rank = rank
        self._global_rank, self._world_size = rank.global_rank, rank.world_size

    @property
    def creates_processes_externally(self) -> bool:
        return True

    @property
    def main_address(self) -> str:
        return self.rank.address

    @property
    def main_port(self) -> int:
        return self.rank.port

    @staticmethod
    def detect() -> bool:
        return True

    def world_size(self) -> int:
        return self._world_size

    def set_world_size(self, size: int) -> None:
        self._world_size = size

    def global_rank(self) -> int:
        return self._global_rank

    def set_global_rank(self, rank: int) -> None:
        self._global_rank = rank

    def local_rank(self) -> int:
        return self.rank.local_rank

    def node_rank(self) -> int:
        return self.rank.node_rank


def spawns(strategy: Any) -> bool:
    """Whether a ``trainer.strategy`` name forks or spawns its ranks (``ddp_spawn`` ...)."""
    return isinstance(strategy, str) and any(word in strategy for word in SPAWNING)


def processes_per_node(trainer: DictConfig) -> int:
    """The processes ``trainer.devices`` asks for on each machine, as Lightning counts them."""
    request = requested_devices(trainer.get("devices", "auto"))
    if isinstance(request, list):
        return len(request)
    if request is not None:
        return request
    accelerator = str(trainer.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and cuda_devices()):
        return max(cuda_devices(), 1)
    return 1  # a CPU or MPS device counts as one under devices=auto


def config_digest(config: dict[str, Any]) -> str:
    """A short fingerprint of a resolved config: equal on every rank of one job."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def rank_line(rank: Rank, config: dict[str, Any]) -> str:
    """What one rank trains: its place, the config's fingerprint and its hyperparameters."""
    model, optimizer = config.get("model") or {}, config.get("optimizer") or {}
    shown = {
        "optimizer.lr": optimizer.get("lr"),
        "model.hidden": model.get("hidden"),
        "model.activation": model.get("activation"),
        "model.dropout": model.get("dropout"),
        "data.batch_size": (config.get("data") or {}).get("batch_size"),
    }
    values = " ".join(f"{key}={value}" for key, value in shown.items() if value is not None)
    return (
        f"rank {rank.global_rank} of {rank.world_size} (node {rank.node_rank}): "
        f"config {config_digest(config)} {values}"
    )


class Child:
    """A rank started by this process, its output relayed to this process's log."""

    def __init__(self, rank: Rank) -> None:
        command = [
            sys.executable,
            "-c",
            f"from {__name__} import main; main()",
            f"--address={rank.address}",
            f"--port={rank.port}",
            f"--node-rank={rank.node_rank}",
            f"--local-rank={rank.local_rank}",
        ]
        self.rank = rank
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.process = subprocess.Popen(
            command,
            env={**os.environ, RANK_VARIABLE: str(rank.global_rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        self._relay = threading.Thread(target=self._read, daemon=True)
        self._relay.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip()
            if line:
                self.tail.append(line)
                log.info("rank %d: %s", self.rank.global_rank, line)

    def failure(self) -> str | None:
        """Why the rank failed (its exit code and last line), or None while it is fine."""
        code = self.process.poll()
        if code is None or code == 0:
            return None
        self._relay.join(timeout=1)
        if code < 0:
            return f"rank {self.rank.global_rank} was killed ({signal.Signals(-code).name})"
        last = self.tail[-1] if self.tail else "no output"
        return f"rank {self.rank.global_rank} exited with code {code}: {last}"

    def finish(self, seconds: float) -> None:
        """Wait ``seconds`` for the rank to exit, then end it."""
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._relay.join(timeout=1)


@dataclass
class Team:
    """This process's part in a job: alone, rank 0 leading the others, or one of them."""

    rank: Rank | None = None
    store: Any = None
    children: list[Child] = field(default_factory=list)
    connected: bool = False
    trainer: pl.Trainer | None = None

    @property
    def leads(self) -> bool:
        """Whether this process writes the run (every process of a one-process job does)."""
        return self.rank is None or self.rank.global_rank == 0

    def plugins(self) -> list[Any]:
        return [RankEnvironment(self.rank)] if self.rank is not None else []

    def connect(self, trainer: pl.Trainer, cfg: DictConfig, signals: StopSignals) -> None:
        """Form the job's process group once every rank is ready; log what this rank trains."""
        self.trainer = trainer
        if self.rank is None:
            return
        rank, config = self.rank, _resolved(cfg)
        if (trainer.num_devices, trainer.num_nodes) != (rank.per_node, rank.num_nodes):
            raise ConfigError(
                f"Lightning resolved trainer.devices to {trainer.num_devices} per node on "
                f"{trainer.num_nodes} node(s), not {rank.per_node} on {rank.num_nodes}: give "
                "trainer.devices as a number"
            )
        device = trainer.strategy.root_device
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        self.store.set(f"{READY_KEY}{rank.global_rank}", "1")
        if rank.global_rank == 0:
            self._wait_for_ranks(signals)
        dist.init_process_group(
            backend,
            store=self.store,
            rank=rank.global_rank,
            world_size=rank.world_size,
            device_id=device if device.type == "cuda" else None,
        )
        self.connected = True
        # Rank 0 writes train.log; the others print, and rank 0 relays their lines there.
        (log if self.leads else logging.getLogger("trainlab.ranks")).info(rank_line(rank, config))

    def _wait_for_ranks(self, signals: StopSignals) -> None:
        assert self.rank is not None
        keys = [f"{READY_KEY}{number}" for number in range(self.rank.world_size)]
        deadline = time.monotonic() + JOIN_SECONDS
        while not self.store.check(keys):
            if signals.received is not None:
                raise signals.interruption("before training, while the DDP ranks were starting")
            for child in self.children:
                failure = child.failure()
                if failure is not None:
                    raise TrainlabError(f"DDP {failure}")
            if time.monotonic() > deadline:
                raise TrainlabError(
                    f"DDP: not every rank joined within {JOIN_SECONDS:.0f} s (trainer.num_nodes: "
                    "start the other machines with MASTER_ADDR, MASTER_PORT and NODE_RANK set)"
                )
            time.sleep(0.05)

    def agreed(self, hook: EpochHook) -> EpochHook:
        """``hook`` as rank 0 runs it; a stop it raises (a pruned trial) stops every rank."""
        if self.rank is None:
            return hook

        def call(epoch: int, metrics: dict[str, float]) -> None:
            assert self.trainer is not None
            stop: BaseException | None = None
            if self.leads:
                try:
                    hook(epoch, metrics)
                except BaseException as error:  # re-raised below, on every rank
                    stop = error
            reason = self.trainer.strategy.broadcast(str(stop) if stop else None, src=0)
            if stop is not None:
                raise stop
            if reason is not None:
                raise RankStopped(reason)

        return call

    def after_step_callbacks(self, callbacks: Sequence[Any], signals: StopSignals) -> list[Any]:
        """``callbacks`` with the stop on a signal and the timed ``last.ckpt`` agreed on."""
        if self.rank is None:
            return [*callbacks, KeepSigterm(), StopOnSignal(signals)]
        every_seconds = None
        for callback in callbacks:
            if isinstance(callback, MidEpochCheckpoint) and callback.every_seconds is not None:
                every_seconds, callback.every_seconds = callback.every_seconds, None
        return [*callbacks, StepAgreement(signals, every_seconds)]


class KeepSigterm(pl.Callback):
    """Gives SIGTERM back to ``StopSignals`` once Lightning has taken it for a stage.

    Lightning's handler stops a fit between steps without ``last.ckpt``, and under DDP
    it broadcasts from rank 0 alone, a collective the other ranks never join, so the
    job hangs. With ``StopSignals``' handler the run stops after its step, as on SIGINT.
    """

    def __init__(self) -> None:
        self._handler = signal.getsignal(signal.SIGTERM)  # made inside ``StopSignals``

    def _take_back(self) -> None:
        if threading.current_thread() is threading.main_thread() and callable(self._handler):
            signal.signal(signal.SIGTERM, self._handler)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._take_back()

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._take_back()

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._take_back()


class StepAgreement(KeepSigterm):
    """Between steps, every rank learns whether any rank received SIGINT/SIGTERM or has
    waited ``every_seconds`` since the last ``last.ckpt``, so all save (a collective) and
    stop at the same step: a rank that saves or stops alone leaves the others waiting.
    """

    def __init__(self, signals: StopSignals, every_seconds: float | None) -> None:
        super().__init__()
        self.signals, self.every_seconds = signals, every_seconds
        self._last_save = time.monotonic()

    def on_train_batch_start(
        self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, index: int
    ) -> None:
        """As the next call starts (see ``trainlab.callbacks.resume.AfterStep``): after an
        epoch's last call, its validation and end are done before anything is saved.
        """
        if trainer.global_step == 0:
            return
        waited = time.monotonic() - self._last_save
        due = self.every_seconds is not None and waited >= self.every_seconds
        flags = torch.tensor(
            [float(self.signals.received or 0), float(due)], device=trainer.strategy.root_device
        )
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        received, due = int(flags[0].item()), bool(flags[1].item())
        if received or due:
            save_last(trainer)
            self._last_save = time.monotonic()
        if received:
            self.signals.received = self.signals.received or received
            where = f"in epoch {trainer.current_epoch + 1} after step {trainer.global_step}"
            raise self.signals.interruption(where)


#: Set in a process this module started: the job it joins and its store.
_joining: list[tuple[Rank, Any]] = []


def _resolved(cfg: DictConfig) -> dict[str, Any]:
    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    return {str(key): value for key, value in config.items()}


def _store(rank: Rank, leader: bool) -> Any:
    return dist.TCPStore(  # type: ignore[attr-defined]
        rank.address,
        rank.port,
        is_master=leader,
        wait_for_workers=False,
        timeout=datetime.timedelta(seconds=JOIN_SECONDS),
    )


def _leader_rank(cfg: DictConfig) -> Rank | None:
    """Rank 0 of a job that asks for more than one process; None for one process."""
    trainer = cfg.get("trainer")
    if not isinstance(trainer, DictConfig) or spawns(trainer.get("strategy")):
        return None
    strategy = trainer.get("strategy", "auto")
    if isinstance(strategy, str) and strategy.startswith("single"):
        return None
    per_node, num_nodes = processes_per_node(trainer), int(trainer.get("num_nodes") or 1)
    if per_node * num_nodes == 1:
        return None
    if num_nodes > 1:
        address, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
        if not address or not port:
            raise ConfigError(
                f"trainer.num_nodes={num_nodes} needs MASTER_ADDR (this machine's address) and "
                "MASTER_PORT set on every machine"
            )
        return Rank(address, int(port), 0, 0, per_node, num_nodes)
    return Rank("127.0.0.1", 0, 0, 0, per_node, num_nodes)


def _start_children(rank: Rank) -> list[Child]:
    """The other ranks of this machine (local ranks 1 ...)."""
    return [
        Child(Rank(rank.address, rank.port, rank.node_rank, local, rank.per_node, rank.num_nodes))
        for local in range(1, rank.per_node)
    ]


@contextlib.contextmanager
def job_team(cfg: DictConfig, callbacks: Sequence[Any] = ()) -> Iterator[Team]:
    """This process's ``Team`` for the job ``cfg``; the other ranks, started and ended here."""
    if _joining:
        rank, store = _joining[-1]
        yield Team(rank, store)
        return
    leader = _leader_rank(cfg)
    if leader is None:
        yield Team()
        return
    if os.environ.get(RANK_VARIABLE):  # a started rank never starts ranks of its own
        raise TrainlabError(f"rank {os.environ[RANK_VARIABLE]} of a DDP job tried to lead a job")
    try:
        payload = pickle.dumps({"config": _resolved(cfg), "callbacks": list(callbacks)})
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise ConfigError(
            f"the callbacks given to train() cannot be sent to the other DDP ranks: {error}"
        ) from None
    store = _store(leader, leader=True)
    rank = Rank(
        leader.address, int(store.port), 0, 0, leader.per_node, leader.num_nodes
    )  # the port the store took
    store.set(JOB_KEY, payload)
    team = Team(rank, store, _start_children(rank))
    try:
        yield team
    except BaseException as error:
        failure = _end(team, STOP_SECONDS)
        if failure is not None and not isinstance(error, TrainlabError):
            raise TrainlabError(f"DDP {failure} (its output is in the run's train.log)") from None
        raise
    failure = _end(team, EXIT_SECONDS)
    if failure is not None:  # after rank 0 wrote the results: they stand
        log.warning("DDP %s", failure)


def _end(team: Team, seconds: float) -> str | None:
    """End the job's group and its ranks on this machine; the first failure among them."""
    if team.connected and dist.is_initialized():
        dist.destroy_process_group()
    team.connected = False
    for child in team.children:
        child.finish(seconds)
    return next((failure for child in team.children if (failure := child.failure())), None)


def _follow(rank: Rank) -> int:
    """Join rank 0's job as ``rank``: its config, its group, its training; write nothing."""
    from trainlab.engines import load_engine

    try:
        store = _store(rank, leader=False)
        job = pickle.loads(store.get(JOB_KEY))
    except (RuntimeError, OSError) as error:  # torch's DistNetworkError, DistStoreError ...
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TrainlabError(
            f"no DDP job to join at {rank.address}:{rank.port} within {JOIN_SECONDS:.0f} s "
            f"(start rank 0 with the same MASTER_ADDR and MASTER_PORT): {first}"
        ) from None
    cfg = OmegaConf.create(job["config"])
    assert isinstance(cfg, DictConfig)
    trainer = cfg.trainer
    per_node, num_nodes = processes_per_node(trainer), int(trainer.get("num_nodes") or 1)
    rank = Rank(rank.address, rank.port, rank.node_rank, rank.local_rank, per_node, num_nodes)
    rank_zero_only.rank = rank.global_rank  # type: ignore[attr-defined]
    children = _start_children(rank) if rank.local_rank == 0 else []
    _joining.append((rank, store))
    code = 0
    try:
        load_engine(cfg).fit(cfg, job["callbacks"])
    except (RankStopped, RunInterrupted) as error:  # with rank 0, on purpose
        logging.getLogger("trainlab.ranks").info("stopped with rank 0: %s", error)
    except TrainlabError as error:
        print(error, file=sys.stderr, flush=True)
        code = 1
    finally:
        _joining.pop()
        if dist.is_initialized():
            dist.destroy_process_group()
        for child in children:
            child.finish(EXIT_SECONDS)
    return code


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="NODE_RANK=<n> python train.py",
        description="Join rank 0's DDP job (MASTER_ADDR:MASTER_PORT) as the ranks of node n.",
    )
    parser.add_argument("--address", default=os.environ.get("MASTER_ADDR", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MASTER_PORT", 0) or 0))
    parser.add_argument("--node-rank", type=int, default=int(os.environ.get("NODE_RANK", 0) or 0))
    parser.add_argument("--local-rank", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    if not args.port:
        print("trainlab: error: give --port or MASTER_PORT (rank 0's)", file=sys.stderr)
        sys.exit(2)
    if args.node_rank == 0 and args.local_rank == 0:
        print("trainlab: error: rank 0 is the job itself (python train.py)", file=sys.stderr)
        sys.exit(2)
    rank = Rank(args.address, args.port, args.node_rank, args.local_rank, 1, 1)
    try:
        code = _follow(rank)
    except TrainlabError as error:
        print(error, file=sys.stderr, flush=True)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


__all__ = [
    "Rank",
    "RankEnvironment",
    "RankStopped",
    "StepAgreement",
    "Team",
    "job_team",
    "main",
    "processes_per_node",
    "rank_line",
    "spawns",
]

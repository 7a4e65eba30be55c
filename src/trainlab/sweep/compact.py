"""The smallest and fastest-learning digits MLPs that reach a validation accuracy.

Two objectives, both minimised: the parameter count and the epochs to plateau; one
constraint, ``val/acc >= target_acc``. Optuna's TPE sampler handles the constraint
(``constraints_func``) and ``study.best_trials`` is the Pareto front. Every trial is
an ordinary trainlab run (composed from ``conf/train.yaml``, trained by ``cli.fit``),
so its run directory holds its checkpoints, metrics and ``history.csv``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from trainlab.errors import ConfigError

if TYPE_CHECKING:
    from trainlab.data.base import DataSpec

log = logging.getLogger("trainlab")
VAL_ACC = "val/acc"


def epochs_to_plateau(history_file: Path, tolerance: float) -> int:
    """The first epoch (from 1) whose val/acc is within ``tolerance`` of the run's best."""
    with history_file.open() as stream:
        rows = [row for row in csv.DictReader(stream) if row.get(VAL_ACC)]
    if not rows:
        raise ConfigError(f"{history_file} has no {VAL_ACC} column: the search needs a classifier")
    best = max(float(row[VAL_ACC]) for row in rows)
    return next(int(row["epoch"]) for row in rows if float(row[VAL_ACC]) >= best - tolerance)


def parameter_count(widths: list[int], spec: DataSpec) -> int:
    """The trainable parameters of the MLP a trial trains, counted on the built network."""
    from trainlab.models import MLP

    return sum(p.numel() for p in MLP(hidden=widths).build_torch(spec).parameters())


def _check(cfg: DictConfig) -> None:
    if not isinstance(cfg.target_acc, float | int) or not 0 < cfg.target_acc <= 1:
        raise ConfigError(f"target_acc={cfg.target_acc} is invalid: expected a number in (0, 1]")
    for key in ("n_trials", "max_epochs"):
        if not isinstance(cfg[key], int) or cfg[key] < 1:
            raise ConfigError(f"{key}={cfg[key]!r} is invalid: expected an integer >= 1")
    low, high = cfg.space.width
    if not 1 <= int(low) <= int(high):
        raise ConfigError(
            f"space.width={list(cfg.space.width)} is invalid: expected [low, high], 1 <= low <= high"
        )


class CompactObjective:
    """Trains one sampled MLP; returns (parameters, epochs to plateau), records val/acc."""

    def __init__(self, cfg: DictConfig, config_dir: Path, output_dir: Path, spec: DataSpec) -> None:
        self.cfg, self.config_dir, self.output_dir, self.spec = cfg, config_dir, output_dir, spec

    def overrides(self, trial: Any) -> tuple[list[str], list[int]]:
        space = self.cfg.space
        depth = trial.suggest_categorical("depth", list(space.depth))
        width = trial.suggest_int("width", int(space.width[0]), int(space.width[1]), log=True)
        activation = trial.suggest_categorical("activation", list(space.activation))
        lr = trial.suggest_float("lr", float(space.lr[0]), float(space.lr[1]), log=True)
        widths = [width] * int(depth)
        choices = [
            "model=mlp",
            f"model.hidden=[{','.join(map(str, widths))}]",
            f"model.activation={activation}",
            f"optimizer.lr={lr}",
            f"seed={int(self.cfg.seed)}",
        ]
        return choices, widths

    def __call__(self, trial: Any) -> tuple[float, float]:
        from trainlab.cli import fit
        from trainlab.engines.common import HISTORY_FILE

        choices, widths = self.overrides(trial)
        run_dir = self.output_dir / f"trial_{trial.number:03d}"
        run_dir.mkdir(parents=True, exist_ok=True)
        metrics = fit(train_config(self.cfg, self.config_dir, [*choices, f"paths.output_dir={run_dir}"]))
        epochs = epochs_to_plateau(run_dir / HISTORY_FILE, float(self.cfg.plateau_tolerance))
        params = parameter_count(widths, self.spec)
        trial.set_user_attr("val_acc", metrics[VAL_ACC])
        trial.set_user_attr("test_acc", metrics.get("test/acc"))
        trial.set_user_attr("run_dir", str(run_dir))
        log.info(
            "trial %d: %s -> %d parameters, plateau at epoch %d, val/acc %.4f",
            trial.number,
            " ".join(choices[1:4]),
            params,
            epochs,
            metrics[VAL_ACC],
        )
        return float(params), float(epochs)


def train_config(cfg: DictConfig, config_dir: Path, overrides: list[str]) -> DictConfig:
    """``conf/train.yaml`` composed with the search's and the trial's overrides."""
    GlobalHydra.instance().clear()  # this app's own Hydra holds scripts/conf
    with initialize_config_dir(str(config_dir), version_base="1.3"):
        return compose("train", overrides=[*cfg.train_overrides, *overrides])


def pareto_front(trials: list[Any]) -> list[Any]:
    """The trials no other trial beats on both objectives (fewer or equal on each, fewer on one)."""

    def dominates(a: Any, b: Any) -> bool:
        return all(x <= y for x, y in zip(a.values, b.values, strict=True)) and a.values != b.values

    front = [t for t in trials if not any(dominates(other, t) for other in trials)]
    return sorted(front, key=lambda t: tuple(t.values))


def _row(trial: Any) -> dict[str, Any]:
    params, epochs = trial.values
    return {
        "trial": trial.number,
        "parameters": int(params),
        "epochs_to_plateau": int(epochs),
        "val_acc": round(trial.user_attrs["val_acc"], 4),
        "test_acc": round(trial.user_attrs.get("test_acc") or float("nan"), 4),
        "depth": trial.params["depth"],
        "width": trial.params["width"],
        "activation": trial.params["activation"],
        "lr": f"{trial.params['lr']:.4g}",
        "run_dir": trial.user_attrs["run_dir"],
    }


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]) if rows else ["trial"])
        writer.writeheader()
        writer.writerows(rows)


def _print_table(rows: list[dict[str, Any]], target: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Pareto front: digits MLPs with val/acc >= {target}")
    columns = [
        "parameters",
        "epochs_to_plateau",
        "val_acc",
        "test_acc",
        "depth",
        "width",
        "activation",
        "lr",
    ]
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    Console(width=120).print(table)


def search(cfg: DictConfig) -> list[dict[str, Any]]:
    """Run the study; print and save the Pareto front; returns its rows."""
    _check(cfg)
    import optuna

    from trainlab.cli import CONFIG_DIR
    from trainlab.engines.common import build_datamodule
    from trainlab.errors import TrainlabError
    from trainlab.sweep.compact_plot import pareto_plot

    for name in ("lightning", "lightning.pytorch", "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)
    output_dir = Path(str(cfg.output_dir))
    spec = build_datamodule(train_config(cfg, CONFIG_DIR, [f"paths.output_dir={output_dir}"])).spec
    target = float(cfg.target_acc)

    def below_target(trial: optuna.trial.FrozenTrial) -> list[float]:
        return [target - trial.user_attrs.get("val_acc", 0.0)]  # <= 0: feasible

    study = optuna.create_study(
        study_name="compact_search",
        directions=["minimize", "minimize"],
        sampler=optuna.samplers.TPESampler(seed=int(cfg.seed), constraints_func=below_target),
    )
    study.optimize(
        CompactObjective(cfg, CONFIG_DIR, output_dir, spec),
        n_trials=int(cfg.n_trials),
        catch=(TrainlabError,),
    )
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    feasible = [t for t in done if t.user_attrs["val_acc"] >= target]
    front = [_row(t) for t in pareto_front(feasible)]
    _write_csv([_row(t) for t in done], output_dir / "trials.csv")
    _write_csv(front, output_dir / "pareto.csv")
    pareto_plot(done, feasible, pareto_front(feasible), target, output_dir / "pareto.png")
    if not front:
        raise TrainlabError(
            f"no trial reached val/acc >= {target} in {len(done)} trials; lower target_acc or "
            f"raise n_trials (trials: {output_dir / 'trials.csv'})"
        )
    _print_table(front, target)
    smallest, fastest = front[0], min(front, key=lambda r: (r["epochs_to_plateau"], r["parameters"]))
    print(
        f"smallest reaching val/acc >= {target}: {smallest['parameters']} parameters "
        f"({smallest['depth']}x{smallest['width']} {smallest['activation']}, plateau at epoch "
        f"{smallest['epochs_to_plateau']}); fewest epochs: {fastest['epochs_to_plateau']} "
        f"({fastest['parameters']} parameters)\nreport: {output_dir}"
    )
    return front

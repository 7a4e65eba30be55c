"""The smallest and fastest-learning digits MLPs that reach a validation accuracy.

Two objectives, both minimised: the parameter count and the epochs to plateau; one
constraint, ``val/acc >= target_acc``. Optuna's TPE sampler handles the constraint
(``constraints_func``) and the non-dominated feasible trials are the Pareto front.
Every trial is an ordinary trainlab run, trained by ``trainlab.api.train`` into its
own run directory (checkpoints, ``metrics.json``, ``history.csv``), so this script's
Hydra app and the trials' configs never mix.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from trainlab.errors import ConfigError, TrainlabError
from trainlab.lessons import lesson_main

if TYPE_CHECKING:
    from trainlab.data.base import DataSpec

log = logging.getLogger("trainlab")
VAL_ACC = "val/acc"
COLUMNS = [
    "parameters",
    "epochs_to_plateau",
    "val_acc",
    "test_acc",
    "depth",
    "width",
    "activation",
    "lr",
]


def epochs_to_plateau(history: list[dict[str, float]], tolerance: float) -> int:
    """The first epoch (from 1) whose val/acc is within ``tolerance`` of the run's best."""
    epochs = [epoch for epoch in history if VAL_ACC in epoch]
    if not epochs:
        raise ConfigError(f"the run logged no {VAL_ACC}: the search needs a classifier")
    best = max(epoch[VAL_ACC] for epoch in epochs)
    return next(int(epoch["epoch"]) for epoch in epochs if epoch[VAL_ACC] >= best - tolerance)


def parameter_count(widths: list[int], spec: DataSpec) -> int:
    """The trainable parameters of the MLP a trial trains, counted on the built network."""
    from trainlab.models import MLP

    return sum(p.numel() for p in MLP(hidden=widths).build_torch(spec).parameters())


def check_options(cfg: DictConfig) -> None:
    """One line for an option the search cannot use, before any data is loaded."""
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


def train_overrides(cfg: DictConfig) -> list[str]:
    """The overrides of ``conf/train.yaml`` every trial shares."""
    return [str(override) for override in cfg.train_overrides]


class CompactObjective:
    """Trains one sampled MLP; returns (parameters, epochs to plateau), records val/acc."""

    def __init__(self, cfg: DictConfig, output_dir: Path, spec: DataSpec) -> None:
        self.cfg, self.output_dir, self.spec = cfg, output_dir, spec

    def overrides(self, trial: Any) -> tuple[list[str], list[int]]:
        """The trial's sampled choices as overrides, and its hidden layers' widths."""
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
        from trainlab.api import train

        choices, widths = self.overrides(trial)
        run_dir = self.output_dir / f"trial_{trial.number:03d}"
        result = train(*train_overrides(self.cfg), *choices, run_dir=run_dir)
        epochs = epochs_to_plateau(result.history, float(self.cfg.plateau_tolerance))
        params = parameter_count(widths, self.spec)
        trial.set_user_attr("val_acc", result.metrics[VAL_ACC])
        trial.set_user_attr("test_acc", result.metrics.get("test/acc"))
        trial.set_user_attr("run_dir", str(result.run_dir))
        log.info(
            "trial %d: %s -> %d parameters, plateau at epoch %d, val/acc %.4f",
            trial.number,
            " ".join(choices[1:4]),
            params,
            epochs,
            result.metrics[VAL_ACC],
        )
        return float(params), float(epochs)


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
    for column in COLUMNS:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in COLUMNS))
    Console(width=120).print(table)


def _data_spec(cfg: DictConfig) -> DataSpec:
    """The shape of the data every trial trains on, to count a network's parameters."""
    from trainlab.api import compose
    from trainlab.engines.runtime import build_datamodule

    return build_datamodule(compose(*train_overrides(cfg))).spec


def search(cfg: DictConfig) -> list[dict[str, Any]]:
    """Run the study; print and save the Pareto front; returns its rows."""
    check_options(cfg)
    import optuna

    from trainlab.lessons.compact_plot import pareto_plot

    for name in ("lightning", "lightning.pytorch", "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)
    output_dir = Path(str(cfg.output_dir))
    target = float(cfg.target_acc)

    def below_target(trial: optuna.trial.FrozenTrial) -> list[float]:
        return [target - trial.user_attrs.get("val_acc", 0.0)]  # <= 0: feasible

    study = optuna.create_study(
        study_name="compact_search",
        directions=["minimize", "minimize"],
        sampler=optuna.samplers.TPESampler(seed=int(cfg.seed), constraints_func=below_target),
    )
    study.optimize(
        CompactObjective(cfg, output_dir, _data_spec(cfg)),
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


main = lesson_main("compact_search", search)

if __name__ == "__main__":
    main()

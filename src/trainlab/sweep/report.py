"""The end-of-sweep report: a table on the console and files in the sweep directory.

``best.yaml`` holds the overrides that reproduce the best trial as a single run,
``trials.csv`` one row per trial, and the PNG plots come from
``optuna.visualization.matplotlib``. Trials that never reached an outcome (released as
one too many, a killed worker's, an interrupted one) are left out; their re-runs are in.
"""

from __future__ import annotations

import csv
import functools
import logging
import shlex
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from trainlab.figures.canvas import DPI, TEXT_PT, WIDTH, integer_ticks, style
from trainlab.run import write_atomically
from trainlab.sweep.study import counted_trials

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

PLOTS = {
    "optimization_history.png": "plot_optimization_history",
    "param_importances.png": "plot_param_importances",
    "parallel_coordinate.png": "plot_parallel_coordinate",
}
PLOT_HEIGHT = 4.2  # inches; the width is the runs' figures' (``WIDTH``)
PARALLEL_AXIS_WIDTH = 1.3  # inches per vertical axis of the parallel coordinates


def _trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return counted_trials(study)


def _duration(trial: optuna.trial.FrozenTrial) -> float | None:
    return trial.duration.total_seconds() if trial.duration else None


def _last_epoch(trial: optuna.trial.FrozenTrial) -> int | None:
    """The last epoch (1-based) the trial reported, i.e. where a pruned trial stopped."""
    return max(trial.intermediate_values) + 1 if trial.intermediate_values else None


def write_csv(study: optuna.Study, path: Path) -> Path:
    trials = _trials(study)
    names = sorted({name for t in trials for name in t.params})

    def write(target: Path) -> None:
        with target.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["number", "state", "value", "duration_s", "epochs", *names, "error"])
            for t in trials:
                writer.writerow(
                    [
                        t.number,
                        t.state.name,
                        t.value if t.value is not None else "",
                        f"{_duration(t):.2f}" if _duration(t) is not None else "",
                        _last_epoch(t) or "",
                        *(t.params.get(name, "") for name in names),
                        t.user_attrs.get("error", ""),
                    ]
                )

    return write_atomically(path, write)


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def write_best(study: optuna.Study, path: Path, metric: str, program: str) -> Path | None:
    """``best.yaml``: value, parameters and the command that reproduces the best trial."""
    best = best_trial(study)
    if best is None:
        return None
    overrides = list(best.user_attrs.get("overrides", []))
    content = {
        "study_name": study.study_name,
        "trial": best.number,
        "optimized_metric": metric,
        "direction": study.direction.name.lower(),
        "value": best.value,
        "params": dict(best.params),
        "overrides": overrides,
        "command": " ".join([program, *map(shlex.quote, overrides)]),
    }
    return write_atomically(path, lambda target: OmegaConf.save(OmegaConf.create(content), target))


def _save_figure(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.1)


def _readable(figure: Figure, parallel: bool) -> None:
    """The sizes of trainlab's own figures (``trainlab.figures.canvas``), whole trial numbers.

    Optuna's plots are 640 px wide with 10 pt ticks; at ``WIDTH`` with no text under
    ``TEXT_PT`` they read like the runs' figures, except the parallel coordinates, which
    get ``PARALLEL_AXIS_WIDTH`` per vertical axis so that their tick labels keep apart.
    The history's trial axis gets whole-number ticks: there is no trial 2.5.
    """
    from matplotlib.text import Text

    width = WIDTH
    if parallel:  # one axes per parameter, the objective's, and the colour bar's
        width = max(WIDTH, PARALLEL_AXIS_WIDTH * (len(figure.axes) - 1) + 1.2)
    figure.set_size_inches(width, PLOT_HEIGHT)  # saved cropped to its content: about as wide
    for ax in figure.axes:
        ax.tick_params(labelsize=TEXT_PT)
        if ax.get_xlabel() == "Trial":
            integer_ticks(ax.xaxis)
    for text in figure.findobj(Text):
        if isinstance(text, Text):
            size = text.get_fontsize()
            if isinstance(size, float | int) and size < TEXT_PT:
                text.set_fontsize(TEXT_PT)


def plot_figures(study: optuna.Study, metric: str) -> dict[str, Figure]:
    """Optuna's matplotlib plots by file name; one that needs more trials than the study has
    is left out (and logged).

    The objective is labelled ``metric`` (``target_name``), not "Objective Value".
    """
    import matplotlib

    matplotlib.use("Agg")
    import optuna.visualization.matplotlib as plots

    figures: dict[str, Figure] = {}
    for filename, function in PLOTS.items():
        # Optuna switches pyplot to its ggplot style, for the whole process: undone on exit.
        with matplotlib.rc_context(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                axes: Any = getattr(plots, function)(study, target_name=metric)
            except Exception as error:  # e.g. importances of fewer than two complete trials
                reason = str(error).splitlines()[0] if str(error) else error
                log.warning("%s skipped: %s", filename, reason)
                continue
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
            _readable(figure, parallel=function == "plot_parallel_coordinate")
            figures[filename] = figure
    return figures


def write_plots(study: optuna.Study, sweep_dir: Path, metric: str) -> list[Path]:
    """Optuna's matplotlib plots as PNG (``plot_figures``)."""
    import matplotlib.pyplot as plt

    written = []
    for filename, figure in plot_figures(study, metric).items():
        try:
            with style():
                write_atomically(sweep_dir / filename, functools.partial(_save_figure, figure))
            written.append(sweep_dir / filename)
        except Exception as error:
            log.warning("%s skipped: %s", filename, str(error).splitlines()[0] if str(error) else error)
        finally:
            plt.close(figure)
    return written


def print_table(study: optuna.Study, metric: str) -> None:
    """The trials as a rich table; every text shown literally.

    Errors, names and values come from users and libraries (gloo's errors hold ``[/...]``):
    read as rich markup they could vanish, or stop the report with a ``MarkupError``.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    trials = _trials(study)
    best = best_trial(study)
    names = sorted({name for t in trials for name in t.params})
    table = Table(title=Text(f"study {study.study_name}: {metric} ({study.direction.name.lower()})"))
    for column in ["#", "state", metric, "epochs", "time (s)", *names, "error"]:
        table.add_column(Text(column), overflow="fold")
    for t in trials:
        value = "" if t.value is None else f"{t.value:.4f}"
        params = [_short(t.params.get(name)) for name in names]
        duration = _duration(t)
        cells = [
            str(t.number),
            t.state.name,
            value,
            str(_last_epoch(t) or ""),
            "" if duration is None else f"{duration:.1f}",
            *params,
            str(t.user_attrs.get("error", "")),
        ]
        table.add_row(
            *map(Text, cells),
            style="bold green" if best is not None and t.number == best.number else None,
        )
    console = Console(width=max(120, Console().width))
    console.print(table)
    if best is not None:
        console.print(
            f"best: trial {best.number}, {metric}={best.value:.4f}, params {best.params}", markup=False
        )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def write_report(study: optuna.Study, sweep_dir: Path, metric: str, program: str) -> list[Path]:
    """Print the table and write every report file; returns the files written."""
    print_table(study, metric)
    files = [write_csv(study, sweep_dir / "trials.csv")]
    best = write_best(study, sweep_dir / "best.yaml", metric, program)
    files += [best] if best else []
    files += write_plots(study, sweep_dir, metric)
    log.info("report: %s", ", ".join(str(f) for f in files))
    return files

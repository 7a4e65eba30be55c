"""``optimizer=sgd|adam|...`` (``torch.optim`` partials) translated to ``keras.optimizers``.

A translation is allowed only where both libraries compute the same update, so a
setting without a Keras counterpart fails before training instead of silently
training a different optimizer. The torch defaults fill what the config leaves out
(Keras' defaults differ: Adam's epsilon is 1e-8 in torch, 1e-7 in Keras).

Known residual difference: Keras' Adam adds epsilon to ``sqrt(v)`` before the bias
correction, torch after it; with epsilon 1e-8 the two agree to within noise.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from trainlab.errors import ConfigError

# torch.optim arguments that choose an implementation, not the update: ignored.
IMPLEMENTATION_FLAGS = {"foreach", "fused", "capturable", "differentiable"}

Translation = tuple[str, dict[str, Any]]


def _sgd(p: dict[str, Any]) -> tuple[Translation, set[str]]:
    if p["weight_decay"] and p["momentum"]:
        raise ConfigError(
            f"optimizer.weight_decay={p['weight_decay']} with momentum has no Keras counterpart "
            "(torch.optim.SGD feeds it through the momentum, Keras' is decoupled); "
            "use optimizer.momentum=0, weight_decay=0 or engine=lightning"
        )
    kwargs = {
        "learning_rate": float(p["lr"]),
        "momentum": float(p["momentum"]),
        "nesterov": p["nesterov"],
        # Without momentum, torch's L2 term and Keras' decoupled decay are the same step.
        "weight_decay": float(p["weight_decay"]) or None,
    }
    return ("SGD", kwargs), {"lr", "momentum", "nesterov", "weight_decay"}


def _adam_kwargs(p: dict[str, Any]) -> dict[str, Any]:
    beta_1, beta_2 = p["betas"]
    return {
        "learning_rate": float(p["lr"]),
        "beta_1": float(beta_1),
        "beta_2": float(beta_2),
        "epsilon": float(p["eps"]),
        "amsgrad": p["amsgrad"],
    }


def _adam(p: dict[str, Any]) -> tuple[Translation, set[str]]:
    used = {"lr", "betas", "eps", "amsgrad", "weight_decay", "decoupled_weight_decay"}
    if p["weight_decay"] and not p.get("decoupled_weight_decay"):
        raise ConfigError(
            f"optimizer.weight_decay={p['weight_decay']} with torch.optim.Adam (an L2 term in the "
            "gradient) has no Keras counterpart; use optimizer._target_=torch.optim.AdamW "
            "(decoupled, as Keras' AdamW) or engine=lightning"
        )
    if p["weight_decay"]:
        return ("AdamW", {**_adam_kwargs(p), "weight_decay": float(p["weight_decay"])}), used
    return ("Adam", _adam_kwargs(p)), used


def _adamw(p: dict[str, Any]) -> tuple[Translation, set[str]]:
    return ("AdamW", {**_adam_kwargs(p), "weight_decay": float(p["weight_decay"])}), {
        "lr",
        "betas",
        "eps",
        "amsgrad",
        "weight_decay",
    }


TRANSLATORS: dict[str, Callable[[dict[str, Any]], tuple[Translation, set[str]]]] = {
    "torch.optim.SGD": _sgd,
    "torch.optim.Adam": _adam,
    "torch.optim.AdamW": _adamw,
}


def _torch_defaults(target: str) -> dict[str, Any]:
    signature = inspect.signature(get_class(target))
    return {
        name: param.default
        for name, param in signature.parameters.items()
        if param.default is not inspect.Parameter.empty and name != "params"
    }


def translate(node: DictConfig) -> Translation:
    """(Keras optimizer class name, its arguments) for a ``torch.optim`` partial config."""
    target = str(node.get("_target_", ""))
    if target not in TRANSLATORS:
        raise ConfigError(
            f"optimizer._target_={target} has no Keras counterpart; "
            f"engine=keras supports {', '.join(TRANSLATORS)}"
        )
    container = OmegaConf.to_container(node, resolve=True)
    assert isinstance(container, dict)
    given = {str(k): v for k, v in container.items() if not str(k).startswith("_")}
    defaults = _torch_defaults(target)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"optimizer.{unknown[0]} is not an argument of {target}")
    params = {**defaults, **given}
    translation, used = TRANSLATORS[target](params)
    for name in sorted(set(params) - used - IMPLEMENTATION_FLAGS):
        if params[name] != defaults[name]:
            raise ConfigError(
                f"optimizer.{name}={params[name]!r} has no Keras counterpart in {target}'s "
                "translation; drop it or use engine=lightning"
            )
    return translation


def build_optimizer(node: DictConfig) -> Any:
    """The Keras optimizer that takes the same steps as ``instantiate(node)`` would."""
    from trainlab.keras_backend import keras

    name, kwargs = translate(node)
    return getattr(keras.optimizers, name)(**kwargs)

"""Parity: the Lightning and Keras engines train the same model.

Same initial weights (the torch network's copied into the Keras model by layer
name), the same batches in the same order, plain SGD: after training, the weights
agree to 1e-5, and both engines' metrics agree on the same weights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from trainlab.engines.runtime import build_datamodule

if TYPE_CHECKING:  # Lightning and Keras are imported by the tests that use them
    import lightning.pytorch as pl

TOLERANCE = 1e-5
CASES = {
    "digits-multiclass": ["data=digits", "model=mlp", "model.hidden=[32,16]", "model.activation=tanh"],
    "addition-regression": ["data=addition", "model=mlp", "model.hidden=[3]", "model.activation=linear"],
}


def _copy_torch_weights(torch_net: torch.nn.Module, keras_model, names: list[str]) -> None:
    for name in names:
        layer = getattr(torch_net, name)
        keras_model.get_layer(name).set_weights(
            [layer.weight.detach().numpy().T, layer.bias.detach().numpy()]
        )


def _max_weight_difference(torch_net: torch.nn.Module, keras_model, names: list[str]) -> float:
    worst = 0.0
    for name in names:
        layer = getattr(torch_net, name)
        kernel, bias = keras_model.get_layer(name).get_weights()
        worst = max(
            worst,
            float(np.abs(layer.weight.detach().numpy().T - kernel).max()),
            float(np.abs(layer.bias.detach().numpy() - bias).max()),
        )
    return worst


def _quiet_trainer(**options: int) -> pl.Trainer:
    import lightning.pytorch as pl

    return pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **options,
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_epoch_of_plain_sgd_ends_with_the_same_weights(case: str, compose_train) -> None:
    from trainlab.engines.keras.adapters import SetEpoch
    from trainlab.engines.keras.fit import compile_model, keras_batches
    from trainlab.engines.keras.optimizers import build_optimizer
    from trainlab.engines.lightning.build import build_module

    cfg = compose_train(*CASES[case], "optimizer=sgd", "optimizer.lr=0.05", "optimizer.momentum=0.0")
    datamodule = build_datamodule(cfg)
    spec = datamodule.spec
    description = instantiate(cfg.model)
    names = description.layer_names()

    torch.manual_seed(0)
    module = build_module(cfg, spec)
    keras_model = compile_model(description.build_keras(spec), spec, build_optimizer(cfg.optimizer))
    _copy_torch_weights(module.network, keras_model, names)
    assert _max_weight_difference(module.network, keras_model, names) == 0.0

    _quiet_trainer(limit_val_batches=0).fit(module, datamodule=datamodule)
    train = keras_batches(datamodule.train_dataloader(), spec)
    keras_model.fit(train, epochs=1, shuffle=False, callbacks=[SetEpoch(train)], verbose=0)

    assert len(datamodule.train_dataloader()) > 1  # the batch order matters
    assert _max_weight_difference(module.network, keras_model, names) <= TOLERANCE

    # Same weights, same metric definitions: Keras' evaluate equals the torchmetrics values.
    keras_metrics = keras_model.evaluate(
        keras_batches(datamodule.val_dataloader(), spec), return_dict=True, verbose=0
    )
    # As the engine reads them: a validation's metrics go to callback_metrics, not to the loggers.
    trainer = _quiet_trainer()
    trainer.validate(module, datamodule=datamodule, verbose=False)
    for name, value in keras_metrics.items():
        assert float(trainer.callback_metrics[f"val/{name}"]) == pytest.approx(value, abs=1e-5), name


def test_the_shuffled_order_changes_per_epoch_as_lightnings(compose_train) -> None:
    """Two epochs of shuffled batches: the Keras dataset follows the sampler's epochs."""
    from trainlab.engines.keras.fit import keras_batches

    cfg = compose_train("data=digits")
    datamodule = build_datamodule(cfg)
    batches = keras_batches(datamodule.train_dataloader(), datamodule.spec)
    loader = datamodule.train_dataloader()
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)
        batches.set_epoch(epoch)
        for index, (x, y) in enumerate(loader):
            keras_x, keras_y = batches[index]
            assert torch.equal(x, keras_x) and torch.equal(y, keras_y)

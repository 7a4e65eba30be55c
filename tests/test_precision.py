"""Gradient clipping under mixed precision clips the true gradients, fused optimizers too.

Lightning refuses ``16-mixed`` on a CPU Trainer, so the tests hand the Trainer the same
precision plugin a GPU run gets (fp16 autocast with a ``GradScaler``), on the CPU.
"""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.plugins.precision import MixedPrecision

import trainlab
from trainlab.engines.lightning.build import build_module
from trainlab.engines.runtime import build_datamodule

pytestmark = pytest.mark.slow
CLIP = 0.01


class ClippedNorms(pl.Callback):
    """The norm of the gradients each step used: the optimizer step leaves them in place."""

    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, *args: object) -> None:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))


@pytest.mark.parametrize("fused", [False, True])
def test_clipping_under_fp16_mixed_precision_applies_to_unscaled_gradients(fused: bool) -> None:
    overrides = [
        f"trainer.gradient_clip_val={CLIP}",
        "optimizer=sgd",
        f"optimizer.fused={fused}".lower(),
    ]
    cfg = trainlab.compose(*overrides)
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule.spec)
    probe = ClippedNorms()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    trainer = pl.Trainer(
        accelerator="cpu",
        plugins=[MixedPrecision("16-mixed", "cpu", scaler=scaler)],
        max_epochs=1,
        limit_train_batches=4,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[probe],
    )
    trainer.fit(module, datamodule=datamodule)
    # Clipped before unscaling, the norm would end 65,536 times below the threshold.
    assert probe.norms and all(norm == pytest.approx(CLIP, rel=1e-3) for norm in probe.norms), (
        probe.norms
    )

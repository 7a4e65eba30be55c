"""Notebook 004 (PyTorch): the digits MLP 64-h-h-10 trained full-batch (sigmoid, tanh) and in
mini-batches of 20 (the 12-unit compact model, the dropout model), on its 70/30 split."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, SubsetRandomSampler

from trainlab.lessons.reference.common import Array, Outcome, lesson, limit

DIGITS_SPLIT_SEED = 20231110  # train_test_split(..., random_state=20231110, stratify=y)
HELD_OUT_30 = "accuracy on the 30 % held out, last epoch"


@cache
def load_digits() -> tuple[Array, Array]:
    """``sklearn.datasets.load_digits()``'s data (pixels 0-16) and target."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    return digits.data, digits.target


class MLPDigits(nn.Module):
    """``MLPDigits`` / ``MLPDigits_tanh`` / ``MLPDigits_dropout``: 64-h-h-10, log-softmax."""

    def __init__(self, hidden: int, activation: str, dropout: float | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8 * 8, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 10)
        self.act = F.sigmoid if activation == "sigmoid" else F.tanh
        self.dropout = nn.Dropout(dropout) if dropout is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 8 * 8)
        x = self.act(self.fc1(x))
        if self.dropout is not None:
            x = self.dropout(x)
        x = self.act(self.fc2(x))
        if self.dropout is not None:
            x = self.dropout(x)
        return F.log_softmax(self.fc3(x), dim=1)


def accuracy_fn(logps: torch.Tensor, labels: torch.Tensor) -> float:
    """The notebook's accuracy: argmax of the probabilities against the labels."""
    pred_classes = torch.argmax(torch.exp(logps), dim=1)
    return float(torch.eq(pred_classes, labels).sum() / labels.shape[0])


def _digits_split(count: int | None) -> tuple[Array, Array, Array, Array]:
    """The split of ``load_digits()``: 70/30, ``random_state=20231110``, stratified."""
    from sklearn.model_selection import train_test_split

    x, y = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.3, random_state=DIGITS_SPLIT_SEED, stratify=y
    )
    x_train, y_train = limit(count, x_train, y_train)
    return x_train, x_val, y_train, y_val


def train_full_batch(
    hidden: int, activation: str, lr: float, seed: int, epochs: int, count: int | None
) -> Outcome:
    """``train()``: one SGD step per epoch on all training digits (pixels ``* 1.0/255``),
    the held-out 30 % evaluated after every step; the number is the last epoch's."""
    from sklearn.model_selection import train_test_split

    torch.manual_seed(seed)
    data, target = load_digits()
    x_tn = torch.tensor(data * 1.0 / 255, dtype=torch.float32)
    y_tn = torch.tensor(target)
    # The same indices as splitting the tensors themselves: only y and the length matter.
    train_idx, val_idx = train_test_split(
        np.arange(len(y_tn)), test_size=0.3, random_state=DIGITS_SPLIT_SEED, stratify=target
    )
    (train_idx,) = limit(count, train_idx)
    x_train, y_train = x_tn[train_idx], y_tn[train_idx]
    x_val, y_val = x_tn[val_idx], y_tn[val_idx]
    model = MLPDigits(hidden, activation)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    acc = valid_acc = math.nan
    for _ in range(epochs):
        model.train()
        y_logps = model(x_train)
        loss = criterion(y_logps, y_train)
        acc = accuracy_fn(y_logps, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.inference_mode():
            y_val_logps = model(x_val)
            valid_acc = accuracy_fn(y_val_logps, y_val)
    return Outcome(valid_acc, epochs, {"train_acc": acc})


def to_tensor(image: Array) -> torch.Tensor:
    """torchvision's ``transforms.ToTensor()`` on a uint8 HxWxC array: CxHxW floats / 255."""
    return torch.from_numpy(image.transpose((2, 0, 1))).contiguous().to(torch.float32).div(255)


class DatasetDigits(Dataset[tuple[torch.Tensor, Any]]):
    """``DatasetDigits``: each digit as a uint8 8x8x1 image through ``ToTensor``."""

    def __init__(self, x: Array, y: Array) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        image = self.x[index].astype(np.uint8).reshape((8, 8, 1))
        return to_tensor(image), self.y[index]


def train_batches(
    model: nn.Module, lr: float, batch_size: int, epochs: int, count: int | None
) -> Outcome:
    """``train_batches()``: DataLoaders with a ``SubsetRandomSampler``, SGD momentum 0.9;
    the number is the last epoch's accuracy on the held-out 30 %."""
    x_train, x_val, y_train, y_val = _digits_split(count)
    train_data, val_data = DatasetDigits(x_train, y_train), DatasetDigits(x_val, y_val)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    train_generator = DataLoader(
        train_data, batch_size=batch_size, sampler=SubsetRandomSampler(list(range(y_train.shape[0])))
    )
    valid_generator = DataLoader(
        val_data, batch_size=batch_size, sampler=SubsetRandomSampler(list(range(y_val.shape[0])))
    )
    train_acc = valid_acc = math.nan
    for _ in range(epochs):
        model.train()
        train_correct = valid_correct = 0.0
        for x_batch, y_batch in train_generator:
            y_logps = model(x_batch)
            loss = criterion(y_logps, y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_correct += accuracy_fn(y_logps, y_batch) * y_batch.shape[0]
        train_acc = train_correct / len(train_data)
        model.eval()  # the notebook validates without no_grad
        for x_val_batch, y_val_batch in valid_generator:
            y_batch_logps = model(x_val_batch)
            valid_correct += accuracy_fn(y_batch_logps, y_val_batch) * y_val_batch.shape[0]
        valid_acc = valid_correct / len(val_data)
    return Outcome(valid_acc, epochs, {"train_acc": train_acc})


@lesson("004", "MLPDigits lr 0.3, train(model, epochs=5000)", "test/acc", HELD_OUT_30, 5000)
def digits_sigmoid(seed: int, epochs: int, count: int | None) -> Outcome:
    """``MLPDigits`` (52 sigmoid units), SGD lr 0.3 momentum 0.9, full batch, 5,000 epochs."""
    return train_full_batch(52, "sigmoid", 0.3, seed, epochs, count)


@lesson("004", "MLPDigits_tanh, train(model, 5000)", "test/acc", HELD_OUT_30, 5000)
def digits_tanh(seed: int, epochs: int, count: int | None) -> Outcome:
    """``MLPDigits_tanh`` (52 tanh units), SGD lr 0.05 momentum 0.9, full batch, 5,000 epochs."""
    return train_full_batch(52, "tanh", 0.05, seed, epochs, count)


@lesson("004", "12-unit model, train_batches", "test/acc", HELD_OUT_30, 800)
def digits_compact(seed: int, epochs: int, count: int | None) -> Outcome:
    """The 12-unit sigmoid model, SGD lr 0.3 momentum 0.9, batches of 20, 800 epochs."""
    torch.manual_seed(seed)
    return train_batches(MLPDigits(12, "sigmoid"), 0.3, 20, epochs, count)


@lesson("004", "MLPDigits_dropout, train_batches", "test/acc", HELD_OUT_30, 800)
def digits_dropout(seed: int, epochs: int, count: int | None) -> Outcome:
    """``MLPDigits_dropout`` (24 tanh, dropout 0.25), SGD lr 0.01 momentum 0.9, batch 20,
    800 epochs."""
    torch.manual_seed(seed)
    return train_batches(MLPDigits(24, "tanh", dropout=0.25), 0.01, 20, epochs, count)

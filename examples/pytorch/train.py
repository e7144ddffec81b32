"""PyTorch MLP trainer for the flights task, run by Flywheel under the command-trainer protocol
(docs/command-trainer.md). Predicts `delay > 15` and exports ONNX that Flywheel serves.

Inputs (environment):
  FLYWHEEL_INPUT_TRAIN, FLYWHEEL_INPUT_VALIDATION  Parquet file or folder (date, distance, origin,
                                                  destination, delay[, label])
  FLYWHEEL_INPUT_FEATURE_SPEC                     feature-spec JSON (kind "flights-v1")
  FLYWHEEL_HYPERPARAMETERS                        JSON, keys below (all optional)
  FLYWHEEL_CHECKPOINT_DIR, FLYWHEEL_OUTPUT_DIR    local folders owned by the runner
  FLYWHEEL_RESUME_DIR                             set when resuming: holds checkpoint.pt

Hyperparameters: epochs (3), batch_size (4096), lr (0.001), weight_decay (0.0), hidden ([128, 64]),
checkpoint_every_steps (1000), log_every_steps (100), seed (42), pos_weight (1.0).

Features, in this order (the same as lib/features/flights.ts `encodeFlights`): one-hot hour of
day (24), one-hot day of week Monday=0 (7), scaled distance (1), one-hot origin vocabulary + 1
out-of-vocabulary slot, one-hot destination vocabulary + 1 out-of-vocabulary slot.
"""
import copy
import inspect
import json
import os
import shutil
import signal
import sys
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

CHECKPOINT_FILE = "checkpoint.pt"
DELAY_THRESHOLD_MINUTES = 15
ONNX_OPSET = 17


def emit(event):
    """One protocol event per stdout line. A broken pipe means the runner is gone: stop training."""
    try:
        print(json.dumps(event), flush=True)
    except BrokenPipeError:
        os._exit(141)


def log(message):
    print(message, file=sys.stderr, flush=True)


def env_path(name):
    value = os.environ.get(name)
    if not value:
        log(f"{name} is not set; run this under the Flywheel command-trainer protocol")
        sys.exit(2)
    return value


# ---- data -------------------------------------------------------------------------------------


class FeatureSpec:
    def __init__(self, raw):
        if raw.get("kind") != "flights-v1":
            log(f"unsupported feature spec kind {raw.get('kind')!r}; expected 'flights-v1'")
            sys.exit(2)
        self.mean = float(raw["distance"]["mean"])
        std = float(raw["distance"]["std"])
        self.std = std if std > 0 else 1.0
        self.origin_index = {a: i for i, a in enumerate(raw["originVocab"])}
        self.destination_index = {a: i for i, a in enumerate(raw["destinationVocab"])}
        self.n_origin = len(raw["originVocab"]) + 1
        self.n_destination = len(raw["destinationVocab"]) + 1

    @property
    def dimension(self):
        return 24 + 7 + 1 + self.n_origin + self.n_destination


class Split:
    """A split kept compact on the device (indices, not one-hot rows); batches are encoded on the fly."""

    def __init__(self, path, spec, device):
        df = pd.read_parquet(path, columns=None)
        # Missing airports go to the out-of-vocabulary slots, as in encodeFlights; rows without a
        # time, distance or label cannot be encoded or learnt from.
        before = len(df)
        df = df.dropna(subset=["date", "distance", "label" if "label" in df.columns else "delay"])
        if len(df) < before:
            log(f"{path}: dropped {before - len(df)} rows with nulls")
        dates = pd.to_datetime(df["date"])
        self.n = len(df)
        self.hour = torch.as_tensor(dates.dt.hour.to_numpy(np.int64), device=device)
        self.dow = torch.as_tensor(dates.dt.dayofweek.to_numpy(np.int64), device=device)  # Monday = 0
        distance = (df["distance"].to_numpy(np.float64) - spec.mean) / spec.std
        self.distance = torch.as_tensor(distance.astype(np.float32), device=device)
        oov_o, oov_d = spec.n_origin - 1, spec.n_destination - 1
        # astype(object): a categorical column would refuse the out-of-vocabulary fill value.
        origin = df["origin"].astype(object).map(spec.origin_index).fillna(oov_o).to_numpy(np.int64)
        destination = df["destination"].astype(object).map(spec.destination_index).fillna(oov_d).to_numpy(np.int64)
        self.origin = torch.as_tensor(origin, device=device)
        self.destination = torch.as_tensor(destination, device=device)
        if "label" in df.columns:
            label = df["label"].to_numpy(np.float32)
        else:
            label = (df["delay"].to_numpy(np.float64) > DELAY_THRESHOLD_MINUTES).astype(np.float32)
        self.label = torch.as_tensor(label, device=device)
        self.spec = spec

    def features(self, idx):
        s = self.spec
        return torch.cat(
            [
                F.one_hot(self.hour[idx], 24).float(),
                F.one_hot(self.dow[idx], 7).float(),
                self.distance[idx].unsqueeze(1),
                F.one_hot(self.origin[idx], s.n_origin).float(),
                F.one_hot(self.destination[idx], s.n_destination).float(),
            ],
            dim=1,
        )


# ---- model and metrics ------------------------------------------------------------------------


def build_model(dimension, hidden):
    layers, width = [], dimension
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, 1))  # logits; the exported graph adds the sigmoid
    return nn.Sequential(*layers)


def roc_auc(scores, labels):
    """Mann-Whitney AUC with average ranks for ties."""
    positives = labels.sum()
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@torch.no_grad()
def evaluate(model, split, batch_size, pos_weight):
    model.eval()
    losses, probabilities = 0.0, []
    for start in range(0, split.n, batch_size):
        idx = torch.arange(start, min(start + batch_size, split.n), device=split.label.device)
        logits = model(split.features(idx)).squeeze(1)
        losses += float(F.binary_cross_entropy_with_logits(logits, split.label[idx], pos_weight=pos_weight, reduction="sum"))
        probabilities.append(torch.sigmoid(logits).cpu())
    model.train()
    p = torch.cat(probabilities).numpy()
    y = split.label.cpu().numpy()
    return {
        "val_loss": losses / max(split.n, 1),
        "val_accuracy": float(((p >= 0.5) == (y == 1)).mean()) if split.n else float("nan"),
        "val_auc": roc_auc(p, y),
        "val_rows": split.n,
    }


# ---- checkpoints ------------------------------------------------------------------------------


def save_checkpoint(state, model, optimizer, device):
    """Writes step-<step>/checkpoint.pt, then announces it. The folder is the runner's from then on."""
    step = state["step"]
    name = f"step-{step}"
    folder = os.path.join(os.environ["FLYWHEEL_CHECKPOINT_DIR"], name)
    os.makedirs(folder, exist_ok=False)
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": state["epoch"],  # epoch to continue in (0-based)
            "batch": state["batch"],  # next batch of that epoch
            "step": step,
            "history": state["history"],
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
        },
        os.path.join(folder, CHECKPOINT_FILE),
    )
    state["last_saved_step"] = step
    emit({"type": "checkpoint", "step": step, "epoch": state["epoch"] + (1 if state["batch"] else 0), "dir": name, "metrics": state["last_metrics"]})


def restore_checkpoint(resume_dir, model, optimizer, device, state):
    # weights_only: the file holds tensors and plain containers only, so no pickle code runs.
    ckpt = torch.load(os.path.join(resume_dir, CHECKPOINT_FILE), map_location=device, weights_only=True)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    torch.set_rng_state(ckpt["torch_rng"].cpu())
    if device.type == "cuda" and ckpt["cuda_rng"]:
        torch.cuda.set_rng_state_all([s.cpu() for s in ckpt["cuda_rng"]])
    state.update(epoch=ckpt["epoch"], batch=ckpt["batch"], step=ckpt["step"], history=ckpt["history"], last_saved_step=ckpt["step"])
    log(f"resumed from step {ckpt['step']} (epoch {ckpt['epoch']}, batch {ckpt['batch']})")


# ---- export -----------------------------------------------------------------------------------


def export_onnx(model, dimension, path):
    exported = nn.Sequential(copy.deepcopy(model).cpu(), nn.Sigmoid()).eval()
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter honours dynamic_axes and opset 17 as asked
    torch.onnx.export(
        exported,
        (torch.zeros(1, dimension),),
        path,
        input_names=["features"],
        output_names=["probability"],
        dynamic_axes={"features": {0: "batch"}, "probability": {0: "batch"}},
        opset_version=ONNX_OPSET,
        **kwargs,
    )


# ---- main -------------------------------------------------------------------------------------


def main():
    hp = json.loads(os.environ.get("FLYWHEEL_HYPERPARAMETERS") or "{}")
    epochs = int(hp.get("epochs", 3))
    batch_size = int(hp.get("batch_size", 4096))
    checkpoint_every = int(hp.get("checkpoint_every_steps", 1000))
    log_every = int(hp.get("log_every_steps", 100))
    seed = int(hp.get("seed", 42))
    hidden = [int(h) for h in hp.get("hidden", [128, 64])]

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    torch.set_float32_matmul_precision("high")
    log(f"device {device}{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}")

    spec_path = env_path("FLYWHEEL_INPUT_FEATURE_SPEC")
    with open(spec_path) as f:
        spec = FeatureSpec(json.load(f))
    started = time.time()
    train = Split(env_path("FLYWHEEL_INPUT_TRAIN"), spec, device)
    validation = Split(env_path("FLYWHEEL_INPUT_VALIDATION"), spec, device)
    log(f"loaded {train.n} training and {validation.n} validation rows in {time.time() - started:.1f}s; {spec.dimension} features")
    if train.n == 0:
        log("the training split is empty")
        sys.exit(2)

    model = build_model(spec.dimension, hidden).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(hp.get("lr", 1e-3)), weight_decay=float(hp.get("weight_decay", 0.0)))
    pos_weight = torch.tensor(float(hp.get("pos_weight", 1.0)), device=device)
    state = {"epoch": 0, "batch": 0, "step": 0, "history": [], "last_saved_step": None, "last_metrics": {}}
    resume_dir = os.environ.get("FLYWHEEL_RESUME_DIR")
    if resume_dir:
        restore_checkpoint(resume_dir, model, optimizer, device, state)

    # SIGTERM (cancellation, spot notice): save where we are, then exit; the runner stores it.
    terminated = []
    signal.signal(signal.SIGTERM, lambda *_: terminated.append(True))

    batches = (train.n + batch_size - 1) // batch_size
    running, running_n = torch.zeros((), device=device), 0  # summed on the device: no sync per step
    model.train()
    while state["epoch"] < epochs:
        epoch = state["epoch"]
        # The order of an epoch depends on (seed, epoch) only, so a resumed run skips exactly the
        # batches it already trained on.
        order = torch.randperm(train.n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).to(device)
        for b in range(state["batch"], batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            logits = model(train.features(idx)).squeeze(1)
            loss = F.binary_cross_entropy_with_logits(logits, train.label[idx], pos_weight=pos_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            state["step"] += 1
            state["batch"] = b + 1
            running += loss.detach()
            running_n += 1
            if state["step"] % log_every == 0:
                state["last_metrics"] = {"loss": float(running) / running_n}
                running, running_n = torch.zeros((), device=device), 0
                emit({"type": "progress", "epoch": epoch + 1, "step": state["step"], "metrics": state["last_metrics"]})
            last_batch = b + 1 == batches
            if terminated:
                if state["last_saved_step"] != state["step"]:
                    save_checkpoint(state, model, optimizer, device)
                log("SIGTERM: checkpoint saved, exiting")
                sys.exit(143)
            if checkpoint_every > 0 and state["step"] % checkpoint_every == 0 and not last_batch:
                save_checkpoint(state, model, optimizer, device)

        metrics = evaluate(model, validation, batch_size * 4, pos_weight)
        metrics["epoch"] = epoch + 1
        state["history"].append(metrics)
        state["last_metrics"] = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        emit({"type": "progress", "epoch": epoch + 1, "step": state["step"], "metrics": state["last_metrics"]})
        state["epoch"], state["batch"] = epoch + 1, 0
        if state["last_saved_step"] != state["step"]:
            save_checkpoint(state, model, optimizer, device)
        if terminated:
            log("SIGTERM: checkpoint saved, exiting")
            sys.exit(143)

    out = env_path("FLYWHEEL_OUTPUT_DIR")
    export_onnx(model, spec.dimension, os.path.join(out, "model.onnx"))
    shutil.copyfile(spec_path, os.path.join(out, "feature-spec.json"))
    final = state["history"][-1] if state["history"] else evaluate(model, validation, batch_size * 4, pos_weight)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"final": final, "history": state["history"], "hyperparameters": hp, "device": str(device), "steps": state["step"]}, f, indent=2)
    emit({"type": "done", "metrics": {k: v for k, v in final.items() if isinstance(v, (int, float))}})


if __name__ == "__main__":
    main()

"""PyTorch MLP trainer for any Flywheel task, run under the command-trainer protocol
(docs/command-trainer.md) as the cycle runs a `trainer: { kind: command }` model spec. Exports ONNX
that Flywheel serves.

Inputs (environment):
  FLYWHEEL_INPUT_TRAIN, FLYWHEEL_INPUT_VALIDATION  folders holding features.npy (float32 [N, d],
                                                  rows already encoded) and labels.npy (float32 [N])
  FLYWHEEL_INPUT_TASK                             task.json: kind, classes, inputDim, output, featureNames
  FLYWHEEL_HYPERPARAMETERS                        JSON, keys below (all optional)
  FLYWHEEL_CHECKPOINT_DIR, FLYWHEEL_OUTPUT_DIR    local folders owned by the runner
  FLYWHEEL_RESUME_DIR                             set when resuming: holds checkpoint.pt

Hyperparameters: epochs (3), batch_size (4096), lr (0.001), weight_decay (0.0), hidden ([128, 64]),
checkpoint_every_steps (1000), log_every_steps (100), seed (42), pos_weight (1.0, binary only),
epoch_delay_s (0: seconds to sleep after each epoch, to slow a demo or a kill-and-resume test).

Output (FLYWHEEL_OUTPUT_DIR): model.onnx (input `features` [N, d]; output `probability` [N, 1],
`probabilities` [N, K] or `value` [N, 1] by task kind), metrics.json, validation_predictions.npy
(the model's scores on the validation rows, shaped like the ONNX output).

Exit codes: 0 done, 2 bad input, 143 stopped by SIGTERM after saving a checkpoint.
"""
import copy
import inspect
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CHECKPOINT_FILE = "checkpoint.pt"
ONNX_OPSET = 17
OUTPUT_BY_KIND = {"binary": "probability", "multiclass": "probabilities", "regression": "value"}


class InputError(Exception):
    """Bad input from the caller: reported on stderr with exit code 2."""


def emit(event):
    """One protocol event per stdout line. A broken pipe means the runner is gone: stop training."""
    try:
        print(json.dumps(event, allow_nan=False), flush=True)
    except BrokenPipeError:
        os._exit(141)


def log(message):
    print(message, file=sys.stderr, flush=True)


def env_value(name):
    value = os.environ.get(name)
    if not value:
        raise InputError(f"{name} is not set; run this under the Flywheel command-trainer protocol")
    return value


# ---- data -------------------------------------------------------------------------------------


def read_task(path):
    if not os.path.isfile(path):
        raise InputError(f"FLYWHEEL_INPUT_TASK: {path} is not a file")
    try:
        with open(path) as f:
            task = json.load(f)
    except ValueError as err:
        raise InputError(f"{path} is not JSON: {err}") from None
    kind = task.get("kind") if isinstance(task, dict) else None
    if kind not in OUTPUT_BY_KIND:
        raise InputError(f"{path}: unknown task kind {kind!r} (expected one of {', '.join(OUTPUT_BY_KIND)})")
    dim = task.get("inputDim")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise InputError(f"{path}: inputDim must be a positive integer, got {dim!r}")
    if task.get("output", OUTPUT_BY_KIND[kind]) != OUTPUT_BY_KIND[kind]:
        raise InputError(f"{path}: a {kind} task's output is {OUTPUT_BY_KIND[kind]!r}, not {task.get('output')!r}")
    if kind == "multiclass" and (not isinstance(task.get("classes"), list) or len(task["classes"]) < 2):
        raise InputError(f"{path}: a multiclass task needs at least 2 classes, got {task.get('classes')!r}")
    return task


class Split:
    """One split on the training device: features [N, d] float32 and targets (float, or class index)."""

    def __init__(self, env_name, name, task, device):
        folder = env_value(env_name)
        if not os.path.isdir(folder):
            raise InputError(f"{env_name}: {folder} is not a folder")
        x, y = (self._load(folder, f, name) for f in ("features.npy", "labels.npy"))
        d = task["inputDim"]
        if x.ndim != 2 or x.shape[1] != d:
            raise InputError(f"{name}/features.npy has shape {list(x.shape)}; expected [N, {d}] (inputDim from task.json)")
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise InputError(f"{name}/labels.npy has shape {list(y.shape)}; expected [{x.shape[0]}], one label per row")
        if x.shape[0] == 0:
            raise InputError(f"the {name} split has no rows")
        if not np.isfinite(x).all() or not np.isfinite(y).all():
            raise InputError(f"the {name} split holds NaN or infinite values")
        kind = task["kind"]
        if kind != "regression":
            k = 2 if kind == "binary" else len(task["classes"])
            if not np.all((y == np.round(y)) & (y >= 0) & (y < k)):
                what = "0 or 1" if kind == "binary" else f"class indices 0..{k - 1}"
                raise InputError(f"{name}/labels.npy holds values other than {what}")
        self.n = x.shape[0]
        self.x = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32), device=device)
        # Cross-entropy takes class indices; BCE and MSE take float targets.
        self.y = torch.as_tensor(y.astype(np.int64 if kind == "multiclass" else np.float32), device=device)

    @staticmethod
    def _load(folder, file, name):
        path = os.path.join(folder, file)
        if not os.path.isfile(path):
            raise InputError(f"the {name} split has no {file} (looked for {path})")
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise InputError(f"{path} is not a readable .npy array: {err}") from None


# ---- model and metrics ------------------------------------------------------------------------


def build_model(dimension, hidden, units):
    layers, width = [], dimension
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, units))  # logits (or the value); the exported graph adds the head
    return nn.Sequential(*layers)


def head(kind):
    """The activation the exported graph applies to the logits."""
    return {"binary": nn.Sigmoid(), "multiclass": nn.Softmax(dim=1), "regression": nn.Identity()}[kind]


def loss_of(kind, out, target, pos_weight, reduction="mean"):
    if kind == "binary":
        return F.binary_cross_entropy_with_logits(out.squeeze(1), target, pos_weight=pos_weight, reduction=reduction)
    if kind == "multiclass":
        return F.cross_entropy(out, target, reduction=reduction)
    return F.mse_loss(out.squeeze(1), target, reduction=reduction)


def roc_auc(scores, labels):
    """Mann-Whitney AUC with average ranks for ties."""
    positives = float(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@torch.no_grad()
def predict(model, split, batch_size):
    """The model's raw outputs (logits, or the value) for every row of a split."""
    model.eval()
    outs = []
    for start in range(0, split.n, batch_size):
        outs.append(model(split.x[start : start + batch_size]))
    model.train()
    return torch.cat(outs)


@torch.no_grad()
def evaluate(model, kind, split, batch_size, pos_weight):
    logits = predict(model, split, batch_size)
    metrics = {"val_loss": float(loss_of(kind, logits, split.y, pos_weight, reduction="mean"))}
    scores = head(kind)(logits).cpu().numpy()
    y = split.y.cpu().numpy()
    if kind == "binary":
        metrics["val_accuracy"] = float(((scores[:, 0] >= 0.5) == (y == 1)).mean())
        auc = roc_auc(scores[:, 0], y)
        if auc is not None:
            metrics["val_auc"] = auc
    elif kind == "multiclass":
        metrics["val_accuracy"] = float((scores.argmax(axis=1) == y).mean())
    else:
        metrics["val_rmse"] = math.sqrt(float(np.mean((scores[:, 0] - y) ** 2)))
    return metrics, scores.astype(np.float32)


# ---- checkpoints ------------------------------------------------------------------------------


def save_checkpoint(state, model, optimizer, device):
    """Writes step-<step>/checkpoint.pt (temp file, then rename), then announces it. The folder is
    the runner's from then on."""
    step = state["step"]
    name = f"step-{step}"
    folder = os.path.join(env_value("FLYWHEEL_CHECKPOINT_DIR"), name)
    os.makedirs(folder, exist_ok=False)
    path = os.path.join(folder, CHECKPOINT_FILE)
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
        path + ".tmp",
    )
    os.replace(path + ".tmp", path)
    state["last_saved_step"] = step
    emit({"type": "checkpoint", "step": step, "epoch": state["epoch"], "dir": name, "metrics": state["last_metrics"]})


def restore_checkpoint(resume_dir, model, optimizer, device, state):
    path = os.path.join(resume_dir, CHECKPOINT_FILE)
    if not os.path.isfile(path):
        raise InputError(f"FLYWHEEL_RESUME_DIR holds no {CHECKPOINT_FILE}")
    # weights_only: the file holds tensors and plain containers only, so no pickle code runs.
    ckpt = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    torch.set_rng_state(ckpt["torch_rng"].cpu())
    if device.type == "cuda" and ckpt["cuda_rng"]:
        torch.cuda.set_rng_state_all([s.cpu() for s in ckpt["cuda_rng"]])
    state.update(epoch=ckpt["epoch"], batch=ckpt["batch"], step=ckpt["step"], history=ckpt["history"], last_saved_step=ckpt["step"])
    state["last_metrics"] = ckpt["history"][-1] if ckpt["history"] else {}
    log(f"resumed from step {ckpt['step']} (epoch {ckpt['epoch']}, batch {ckpt['batch']})")


# ---- export -----------------------------------------------------------------------------------


def export_onnx(model, kind, dimension, path):
    output = OUTPUT_BY_KIND[kind]
    exported = nn.Sequential(copy.deepcopy(model).cpu(), head(kind)).eval()
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter honours dynamic_axes and opset 17 as asked
    torch.onnx.export(
        exported,
        (torch.zeros(1, dimension),),
        path,
        input_names=["features"],
        output_names=[output],
        dynamic_axes={"features": {0: "N"}, output: {0: "N"}},
        opset_version=ONNX_OPSET,
        **kwargs,
    )


# ---- main -------------------------------------------------------------------------------------


def sleep_unless(terminated, seconds):
    """time.sleep resumes after a signal handler returns; sleep in slices so SIGTERM is seen at once."""
    deadline = time.monotonic() + seconds
    while not terminated and time.monotonic() < deadline:
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def train():
    # SIGTERM (cancellation, spot notice): save where we are, then exit; the runner stores it.
    terminated = []
    signal.signal(signal.SIGTERM, lambda *_: terminated.append(True))

    try:
        hp = json.loads(os.environ.get("FLYWHEEL_HYPERPARAMETERS") or "{}")
    except ValueError as err:
        raise InputError(f"FLYWHEEL_HYPERPARAMETERS is not JSON: {err}") from None
    epochs = int(hp.get("epochs", 3))
    batch_size = int(hp.get("batch_size", 4096))
    checkpoint_every = int(hp.get("checkpoint_every_steps", 1000))
    log_every = int(hp.get("log_every_steps", 100))
    seed = int(hp.get("seed", 42))
    hidden = [int(h) for h in hp.get("hidden", [128, 64])]
    epoch_delay_s = float(hp.get("epoch_delay_s", 0.0))

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    torch.set_float32_matmul_precision("high")
    log(f"device {device}{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}")

    task = read_task(env_value("FLYWHEEL_INPUT_TASK"))
    kind, dimension = task["kind"], task["inputDim"]
    units = len(task["classes"]) if kind == "multiclass" else 1
    train_split = Split("FLYWHEEL_INPUT_TRAIN", "train", task, device)
    validation = Split("FLYWHEEL_INPUT_VALIDATION", "validation", task, device)
    out = env_value("FLYWHEEL_OUTPUT_DIR")
    env_value("FLYWHEEL_CHECKPOINT_DIR")
    log(f"{kind}: {train_split.n} training and {validation.n} validation rows, {dimension} features")

    model = build_model(dimension, hidden, units).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(hp.get("lr", 1e-3)), weight_decay=float(hp.get("weight_decay", 0.0)))
    pos_weight = torch.tensor(float(hp.get("pos_weight", 1.0)), device=device) if kind == "binary" else None
    state = {"epoch": 0, "batch": 0, "step": 0, "history": [], "last_saved_step": None, "last_metrics": {}}
    resume_dir = os.environ.get("FLYWHEEL_RESUME_DIR")
    if resume_dir:
        restore_checkpoint(resume_dir, model, optimizer, device, state)

    batches = (train_split.n + batch_size - 1) // batch_size
    running, running_n = torch.zeros((), device=device), 0  # summed on the device: no sync per step
    model.train()
    while state["epoch"] < epochs:
        epoch = state["epoch"]
        # The order of an epoch depends on (seed, epoch) only, so a resumed run skips exactly the
        # batches it already trained on.
        order = torch.randperm(train_split.n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).to(device)
        for b in range(state["batch"], batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            loss = loss_of(kind, model(train_split.x[idx]), train_split.y[idx], pos_weight)
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
            if terminated and not last_batch:
                if state["last_saved_step"] != state["step"]:
                    save_checkpoint(state, model, optimizer, device)
                log("SIGTERM: checkpoint saved, exiting")
                sys.exit(143)
            if checkpoint_every > 0 and state["step"] % checkpoint_every == 0 and not last_batch:
                save_checkpoint(state, model, optimizer, device)

        metrics, _ = evaluate(model, kind, validation, batch_size * 4, pos_weight)
        if running_n:
            metrics["loss"] = float(running) / running_n
            running, running_n = torch.zeros((), device=device), 0
        state["history"].append({"epoch": epoch + 1, **metrics})
        state["last_metrics"] = metrics
        emit({"type": "progress", "epoch": epoch + 1, "step": state["step"], "metrics": metrics})
        state["epoch"], state["batch"] = epoch + 1, 0
        if state["last_saved_step"] != state["step"]:
            save_checkpoint(state, model, optimizer, device)
        if state["epoch"] < epochs:
            sleep_unless(terminated, epoch_delay_s)
        if terminated:
            log("SIGTERM: checkpoint saved, exiting")
            sys.exit(143)

    export_onnx(model, kind, dimension, os.path.join(out, "model.onnx"))
    final, scores = evaluate(model, kind, validation, batch_size * 4, pos_weight)
    np.save(os.path.join(out, "validation_predictions.npy"), scores)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"final": final, "history": state["history"], "hyperparameters": hp, "task": kind, "device": str(device), "steps": state["step"]}, f, indent=2)
    emit({"type": "done", "metrics": final})


def main():
    try:
        train()
    except InputError as err:
        log(f"error: {err}")
        sys.exit(2)


if __name__ == "__main__":
    main()

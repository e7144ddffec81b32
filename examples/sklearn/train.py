"""scikit-learn MLP trainer for any Flywheel task, run under the command-trainer protocol
(docs/command-trainer.md) as the cycle runs a `trainer: { kind: command }` model spec.

Inputs (environment):
  FLYWHEEL_INPUT_TRAIN, FLYWHEEL_INPUT_VALIDATION  folders holding features.npy (float32 [N, d],
                                                  rows already encoded) and labels.npy (float32 [N])
  FLYWHEEL_INPUT_TASK                             task.json: kind, classes, inputDim, output, featureNames
  FLYWHEEL_HYPERPARAMETERS                        JSON, keys below (all optional)
  FLYWHEEL_CHECKPOINT_DIR, FLYWHEEL_OUTPUT_DIR    local folders owned by the runner
  FLYWHEEL_RESUME_DIR                             set when resuming: holds checkpoint.pkl

Hyperparameters: hidden ([32]), epochs (20), batch_size (64), learning_rate (0.001), alpha (0.0001),
seed (42), epoch_delay_s (0: seconds to sleep after each epoch, to slow a demo or a
kill-and-resume test down so the kill lands mid-run).

Output (FLYWHEEL_OUTPUT_DIR): model.onnx (input `features` [N, d]; output `probability` [N, 1],
`probabilities` [N, K] or `value` [N, 1] by task kind), metrics.json, and
validation_predictions.npy (the estimator's own scores on the validation rows, float32, shaped like
the ONNX output) so a caller can check the exported graph against the estimator.

Exit codes: 0 done, 2 bad input (missing file, wrong shape, unknown task kind, bad
hyperparameter), 3 the exported ONNX does not reproduce the estimator, 143 stopped by SIGTERM
after saving a checkpoint.
"""
import json
import math
import os
import pickle
import signal
import sys
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, roc_auc_score
from sklearn.neural_network import MLPClassifier, MLPRegressor

CHECKPOINT_FILE = "checkpoint.pkl"
CHECKPOINT_FORMAT = 1
ONNX_OPSET = 17
EXPORT_TOLERANCE = 1e-5
OUTPUT_BY_KIND = {"binary": "probability", "multiclass": "probabilities", "regression": "value"}
DEFAULTS = {
    "hidden": [32],
    "epochs": 20,
    "batch_size": 64,
    "learning_rate": 0.001,
    "alpha": 0.0001,
    "seed": 42,
    "epoch_delay_s": 0.0,
}
# A resumed run must train the same model it started: these may not change between attempts.
FIXED_ON_RESUME = ("hidden", "batch_size", "learning_rate", "alpha", "seed")

# Each partial_fit call below gets one batch; the last batch of an epoch is smaller than
# batch_size, which sklearn warns about although it is exactly what is meant.
warnings.filterwarnings("ignore", message="Got `batch_size` less than 1 or larger than sample size")


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


# ---- inputs -----------------------------------------------------------------------------------


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
    output = task.get("output", OUTPUT_BY_KIND[kind])
    if output != OUTPUT_BY_KIND[kind]:
        raise InputError(f"{path}: a {kind} task's output is {OUTPUT_BY_KIND[kind]!r}, not {output!r}")
    if kind == "multiclass":
        classes = task.get("classes")
        if not isinstance(classes, list) or len(classes) < 2:
            raise InputError(f"{path}: a multiclass task needs at least 2 classes, got {classes!r}")
    names = task.get("featureNames")
    if names is not None and (not isinstance(names, list) or len(names) != dim):
        raise InputError(f"{path}: featureNames must list inputDim = {dim} names")
    return task


def load_npy(folder, name, split):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise InputError(f"the {split} split has no {name} (looked for {path})")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path} is not a readable .npy array: {err}") from None


def read_split(env_name, split, task):
    folder = env_value(env_name)
    if not os.path.isdir(folder):
        raise InputError(f"{env_name}: {folder} is not a folder")
    x = load_npy(folder, "features.npy", split)
    y = load_npy(folder, "labels.npy", split)
    d = task["inputDim"]
    if x.ndim != 2 or x.shape[1] != d:
        raise InputError(f"{split}/features.npy has shape {list(x.shape)}; expected [N, {d}] (inputDim from task.json)")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise InputError(f"{split}/labels.npy has shape {list(y.shape)}; expected [{x.shape[0]}], one label per row")
    if x.shape[0] == 0:
        raise InputError(f"the {split} split has no rows")
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = y.astype(np.float64)
    if not np.isfinite(x).all() or not np.isfinite(y).all():
        raise InputError(f"the {split} split holds NaN or infinite values")
    kind = task["kind"]
    if kind == "regression":
        return x, y
    k = 2 if kind == "binary" else len(task["classes"])
    if not np.all((y == np.round(y)) & (y >= 0) & (y < k)):
        what = "0 or 1" if kind == "binary" else f"class indices 0..{k - 1}"
        raise InputError(f"{split}/labels.npy holds values other than {what}")
    return x, y.astype(np.int64)


def read_hyperparameters():
    raw = os.environ.get("FLYWHEEL_HYPERPARAMETERS") or "{}"
    try:
        given = json.loads(raw)
    except ValueError as err:
        raise InputError(f"FLYWHEEL_HYPERPARAMETERS is not JSON: {err}") from None
    if not isinstance(given, dict):
        raise InputError("FLYWHEEL_HYPERPARAMETERS must be a JSON object")
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        log(f"ignoring unknown hyperparameters: {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    hp = {**DEFAULTS, **{k: v for k, v in given.items() if k in DEFAULTS}}

    def number(key, cast, minimum, exclusive=False):
        value = hp[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or cast(value) != value:
            raise InputError(f"hyperparameter {key} must be {'an integer' if cast is int else 'a number'}, got {value!r}")
        if value < minimum or (exclusive and value == minimum):
            raise InputError(f"hyperparameter {key} must be {'>' if exclusive else '≥'} {minimum}, got {value!r}")
        return cast(value)

    hidden = hp["hidden"]
    if not isinstance(hidden, list) or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden):
        raise InputError(f"hyperparameter hidden must be a list of positive integers, got {hidden!r}")
    return {
        "hidden": list(hidden),
        "epochs": number("epochs", int, 1),
        "batch_size": number("batch_size", int, 1),
        "learning_rate": number("learning_rate", float, 0, exclusive=True),
        "alpha": number("alpha", float, 0),
        "seed": number("seed", int, 0),
        "epoch_delay_s": number("epoch_delay_s", float, 0),
    }


# ---- model and metrics ------------------------------------------------------------------------


def build_estimator(kind, hp):
    common = dict(
        hidden_layer_sizes=tuple(hp["hidden"]) or (1,),
        solver="adam",
        batch_size=hp["batch_size"],
        learning_rate_init=hp["learning_rate"],
        alpha=hp["alpha"],
        random_state=hp["seed"],
        # The epoch order is ours (see epoch_order): sklearn's own shuffle would draw from a random
        # state that a resume would have to replay.
        shuffle=False,
    )
    return MLPRegressor(**common) if kind == "regression" else MLPClassifier(**common)


def class_labels(task):
    return np.arange(2 if task["kind"] == "binary" else len(task["classes"]))


def scores(estimator, kind, x):
    """The estimator's predictions shaped like the ONNX output: [N, 1] or [N, K]."""
    if kind == "regression":
        return estimator.predict(x).reshape(-1, 1)
    p = estimator.predict_proba(x)
    return p[:, 1:2] if kind == "binary" else p


def evaluate(estimator, task, x, y):
    kind = task["kind"]
    s = scores(estimator, kind, x).astype(np.float64)
    if kind == "regression":
        err = s[:, 0] - y
        return {"val_rmse": math.sqrt(float(np.mean(err**2))), "val_mae": float(mean_absolute_error(y, s[:, 0]))}
    labels = class_labels(task)
    p = np.column_stack([1 - s[:, 0], s[:, 0]]) if kind == "binary" else s
    p = p / p.sum(axis=1, keepdims=True)  # float32 softmax rows sum to 1 only within rounding
    metrics = {"val_accuracy": float(accuracy_score(y, p.argmax(axis=1))), "val_loss": float(log_loss(y, p, labels=labels))}
    if kind == "binary" and len(np.unique(y)) == 2:  # AUC is undefined with one class present
        metrics["val_auc"] = float(roc_auc_score(y, s[:, 0]))
    return metrics


def epoch_order(seed, epoch, n):
    """The row order of an epoch depends on (seed, epoch) only, so a resumed run replays exactly
    the batches an uninterrupted one would."""
    return np.random.default_rng([seed, epoch]).permutation(n)


# ---- checkpoints ------------------------------------------------------------------------------


def save_checkpoint(state, estimator, hp):
    """Writes <dir>/checkpoint.pkl (temp file, then rename), then announces it. The folder is the
    runner's from then on, so every checkpoint gets a new name."""
    epoch, batch = state["epoch"], state["batch"]
    name = f"epoch-{epoch}" if batch == 0 else f"epoch-{epoch + 1}-batch-{batch}"
    folder = os.path.join(env_value("FLYWHEEL_CHECKPOINT_DIR"), name)
    os.makedirs(folder, exist_ok=False)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "estimator": estimator,
        "epoch": epoch,  # epochs completed
        "batch": batch,  # batches of the next epoch already trained
        "step": state["step"],
        "history": state["history"],
        "hyperparameters": {k: hp[k] for k in FIXED_ON_RESUME},
    }
    final = os.path.join(folder, CHECKPOINT_FILE)
    with open(final + ".tmp", "wb") as f:
        pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    os.replace(final + ".tmp", final)
    state["saved_step"] = state["step"]
    emit({"type": "checkpoint", "step": state["step"], "epoch": epoch, "dir": name, "metrics": state["metrics"]})


def restore_checkpoint(resume_dir, hp, state):
    path = os.path.join(resume_dir, CHECKPOINT_FILE)
    if not os.path.isfile(path):
        raise InputError(f"FLYWHEEL_RESUME_DIR holds no {CHECKPOINT_FILE}")
    # Unpickling runs code from the file: this is the run's own checkpoint, which the runner has
    # checked against the SHA-256 it recorded when the file was stored.
    with open(path, "rb") as f:
        ckpt = pickle.load(f)
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} has checkpoint format {ckpt.get('format')!r}; this script writes {CHECKPOINT_FORMAT}")
    changed = [k for k in FIXED_ON_RESUME if ckpt["hyperparameters"].get(k) != hp[k]]
    if changed:
        raise InputError(f"cannot resume: hyperparameters {', '.join(changed)} differ from the checkpoint's")
    state.update(epoch=ckpt["epoch"], batch=ckpt["batch"], step=ckpt["step"], history=ckpt["history"], saved_step=ckpt["step"])
    state["metrics"] = ckpt["history"][-1] if ckpt["history"] else {}
    log(f"resumed from step {ckpt['step']} ({ckpt['epoch']} epochs and {ckpt['batch']} batches done)")
    return ckpt["estimator"]


# ---- export -----------------------------------------------------------------------------------


def export_onnx(estimator, task, path):
    """skl2onnx, then one graph edit so the outputs follow Flywheel's contract: the single output is
    named by the task, `probability` being column 1 of the classifier's [N, 2] probabilities."""
    kind, d = task["kind"], task["inputDim"]
    options = {} if kind == "regression" else {id(estimator): {"zipmap": False}}
    model = convert_sklearn(
        estimator,
        initial_types=[("features", FloatTensorType([None, d]))],
        options=options,
        target_opset={"": ONNX_OPSET, "ai.onnx.ml": 3},
    )
    graph = model.graph
    source = graph.output[-1].name  # classifiers: (label, probabilities); regressors: (variable,)
    target = OUTPUT_BY_KIND[kind]
    width = len(task["classes"]) if kind == "multiclass" else 1
    if kind == "binary":
        graph.initializer.append(helper.make_tensor("flywheel_positive_column", TensorProto.INT64, [1], [1]))
        graph.node.append(helper.make_node("Gather", [source, "flywheel_positive_column"], [target], axis=1, name="flywheel_head"))
    elif kind == "regression":
        # [N, 1] whatever shape the converter gave the prediction.
        graph.initializer.append(helper.make_tensor("flywheel_value_shape", TensorProto.INT64, [2], [-1, 1]))
        graph.node.append(helper.make_node("Reshape", [source, "flywheel_value_shape"], [target], name="flywheel_head"))
    elif source != target:
        graph.node.append(helper.make_node("Identity", [source], [target], name="flywheel_head"))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(target, TensorProto.FLOAT, ["N", width]))
    graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    prune(graph)
    model.producer_name = "flywheel-sklearn-example"
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def prune(graph):
    """Drops the nodes and initializers no output needs (the classifier's `label` branch)."""
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(out in needed for out in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    nodes = list(reversed(keep))
    del graph.node[:]
    graph.node.extend(nodes)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def verify_onnx(path, expected, x, output):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    if [i.name for i in session.get_inputs()] != ["features"] or names != [output]:
        return f"model.onnx has inputs {[i.name for i in session.get_inputs()]} and outputs {names}; expected ['features'] and ['{output}']"
    (got,) = session.run([output], {"features": x})
    if got.dtype != np.float32 or got.shape != expected.shape:
        return f"model.onnx output {output} is {got.dtype} {list(got.shape)}; expected float32 {list(expected.shape)}"
    diff = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))
    if not diff <= EXPORT_TOLERANCE:
        return f"model.onnx scores differ from the estimator's by up to {diff:.3g} (> {EXPORT_TOLERANCE}) on the validation rows"
    log(f"model.onnx verified with onnxruntime {ort.__version__}: max abs difference {diff:.3g} over {len(x)} validation rows")
    return None


# ---- main -------------------------------------------------------------------------------------


def sleep_unless(terminated, seconds):
    """time.sleep resumes after a signal handler returns; sleep in slices so SIGTERM is seen at once."""
    deadline = time.monotonic() + seconds
    while not terminated and time.monotonic() < deadline:
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def train():
    # SIGTERM (cancellation, spot notice): finish the current batch, save a checkpoint, exit 143.
    terminated = []
    signal.signal(signal.SIGTERM, lambda *_: terminated.append(True))

    hp = read_hyperparameters()
    task = read_task(env_value("FLYWHEEL_INPUT_TASK"))
    kind = task["kind"]
    x_train, y_train = read_split("FLYWHEEL_INPUT_TRAIN", "train", task)
    x_val, y_val = read_split("FLYWHEEL_INPUT_VALIDATION", "validation", task)
    out_dir = env_value("FLYWHEEL_OUTPUT_DIR")
    env_value("FLYWHEEL_CHECKPOINT_DIR")
    log(f"{kind}: {len(x_train)} training and {len(x_val)} validation rows, {task['inputDim']} features; {hp}")

    state = {"epoch": 0, "batch": 0, "step": 0, "history": [], "saved_step": None, "metrics": {}}
    resume_dir = os.environ.get("FLYWHEEL_RESUME_DIR")
    estimator = restore_checkpoint(resume_dir, hp, state) if resume_dir else build_estimator(kind, hp)
    fit_kwargs = {} if kind == "regression" else {"classes": class_labels(task)}

    n, batch_size = len(x_train), hp["batch_size"]
    batches = (n + batch_size - 1) // batch_size
    while state["epoch"] < hp["epochs"]:
        epoch = state["epoch"]
        order = epoch_order(hp["seed"], epoch, n)
        # Resuming mid-epoch: the loss of the batches trained before the stop is not known, so the
        # epoch's loss is the mean over the batches this attempt trained.
        loss_sum, loss_rows = 0.0, 0
        for b in range(state["batch"], batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            estimator.partial_fit(x_train[idx], y_train[idx], **fit_kwargs)
            loss_sum += float(estimator.loss_) * len(idx)
            loss_rows += len(idx)
            state["step"] += 1
            state["batch"] = b + 1
            if terminated and b + 1 < batches:
                save_checkpoint(state, estimator, hp)
                log("SIGTERM: checkpoint saved mid-epoch, exiting")
                sys.exit(143)

        metrics = {"loss": loss_sum / loss_rows if loss_rows else float("nan"), **evaluate(estimator, task, x_val, y_val)}
        metrics = {k: v for k, v in metrics.items() if math.isfinite(v)}
        state["epoch"], state["batch"] = epoch + 1, 0
        state["history"].append({"epoch": epoch + 1, **metrics})
        state["metrics"] = metrics
        emit({"type": "progress", "epoch": epoch + 1, "step": state["step"], "metrics": metrics})
        save_checkpoint(state, estimator, hp)
        if terminated:
            log("SIGTERM: checkpoint saved, exiting")
            sys.exit(143)
        if state["epoch"] < hp["epochs"]:
            sleep_unless(terminated, hp["epoch_delay_s"])
        if terminated:  # during the delay: this epoch's checkpoint is already out
            log("SIGTERM: exiting after the last checkpoint")
            sys.exit(143)

    model_path = os.path.join(out_dir, "model.onnx")
    export_onnx(estimator, task, model_path)
    expected = scores(estimator, kind, x_val).astype(np.float32)
    problem = verify_onnx(model_path, expected, x_val, OUTPUT_BY_KIND[kind])
    if problem:
        log(problem)
        sys.exit(3)
    np.save(os.path.join(out_dir, "validation_predictions.npy"), expected)
    final = state["metrics"] or {k: v for k, v in evaluate(estimator, task, x_val, y_val).items() if math.isfinite(v)}
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump({"final": final, "history": state["history"], "hyperparameters": hp, "task": kind, "steps": state["step"]}, f, indent=2)
    emit({"type": "done", "metrics": final})


def main():
    try:
        train()
    except InputError as err:
        log(f"error: {err}")
        sys.exit(2)


if __name__ == "__main__":
    main()

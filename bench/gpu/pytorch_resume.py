"""bench:gpu's PyTorch part: examples/pytorch/train.py on a synthetic binary task, run once
uninterrupted and once SIGKILLed at ~60% of its steps and resumed from its newest checkpoint
(the command-trainer protocol by hand, as Flywheel's runner drives it). Prints one JSON line.

  python3 bench/gpu/pytorch_resume.py [--quick]
"""

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

QUICK = "--quick" in sys.argv
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.path.join(ROOT, "examples", "pytorch", "train.py")
ROWS, VAL_ROWS, DIM = (100_000, 20_000, 64) if QUICK else (1_000_000, 100_000, 128)
EPOCHS, BATCH, EVERY = (2, 1024, 50) if QUICK else (4, 1024, 200)
KILL_AT = 0.6


def write_split(folder, rows, rng, w):
    os.makedirs(folder)
    x = rng.standard_normal((rows, DIM), dtype=np.float32)
    p = 1 / (1 + np.exp(-(x @ w)))
    np.save(os.path.join(folder, "features.npy"), x)
    np.save(os.path.join(folder, "labels.npy"), (rng.random(rows) < p).astype(np.float32))


def run(base, name, kill_at_step=None, resume_dir=None):
    """One process; returns (seconds, the step it was killed at or None, the done event or None)."""
    out = os.path.join(base, name)
    os.makedirs(os.path.join(out, "out"), exist_ok=True)
    env = dict(
        os.environ,
        FLYWHEEL_INPUT_TRAIN=os.path.join(base, "train"),
        FLYWHEEL_INPUT_VALIDATION=os.path.join(base, "validation"),
        FLYWHEEL_INPUT_TASK=os.path.join(base, "task.json"),
        FLYWHEEL_CHECKPOINT_DIR=os.path.join(base, "ck"),
        FLYWHEEL_OUTPUT_DIR=os.path.join(out, "out"),
        FLYWHEEL_HYPERPARAMETERS=json.dumps(
            {"epochs": EPOCHS, "batch_size": BATCH, "checkpoint_every_steps": EVERY, "log_every_steps": 10, "seed": 7}
        ),
        PYTHONUNBUFFERED="1",
    )
    if resume_dir:
        env["FLYWHEEL_RESUME_DIR"] = resume_dir
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, TRAIN], env=env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    killed, done = None, None
    for line in child.stdout:
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event["type"] == "progress" and kill_at_step is not None and killed is None and event["step"] >= kill_at_step:
            killed = event["step"]
            child.send_signal(signal.SIGKILL)
        if event["type"] == "done":
            done = event
    child.wait()
    return time.perf_counter() - start, killed, done, out


def newest_checkpoint(base):
    steps = [(int(os.path.basename(d).split("-")[1]), d) for d in glob.glob(os.path.join(base, "ck", "step-*"))]
    return max(steps) if steps else (None, None)


def main():
    import torch  # noqa: F401 — fail here, clearly, when this python has no torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng = np.random.default_rng(11)
    w = (rng.standard_normal(DIM) / np.sqrt(DIM)).astype(np.float32)
    steps_per_epoch = -(-ROWS // BATCH)
    total = EPOCHS * steps_per_epoch
    results = {}
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-gpu-") as tmp:
        for kind in ("straight", "resumed"):
            base = os.path.join(tmp, kind)
            os.makedirs(base)
            data_rng = np.random.default_rng(5)
            write_split(os.path.join(base, "train"), ROWS, data_rng, w)
            write_split(os.path.join(base, "validation"), VAL_ROWS, data_rng, w)
            with open(os.path.join(base, "task.json"), "w") as f:
                json.dump({"kind": "binary", "inputDim": DIM, "output": "probability", "featureNames": [f"f{i}" for i in range(DIM)]}, f)
            if kind == "straight":
                secs, _, done, out = run(base, "a")
                results[kind] = {"s": secs, "done": done, "out": out}
            else:
                secs1, killed, _, _ = run(base, "a", kill_at_step=int(total * KILL_AT))
                ck_step, ck_dir = newest_checkpoint(base)
                if killed is None or ck_dir is None:
                    raise SystemExit(f"the kill did not land (killed at {killed}, newest checkpoint {ck_step})")
                secs2, _, done, out = run(base, "b", resume_dir=ck_dir)
                results[kind] = {"s": secs1 + secs2, "done": done, "out": out, "killed": killed, "resumed_from": ck_step}
        a = np.load(os.path.join(results["straight"]["out"], "out", "validation_predictions.npy"))
        b = np.load(os.path.join(results["resumed"]["out"], "out", "validation_predictions.npy"))
        r = results["resumed"]
        if not results["straight"]["done"] or not r["done"]:
            raise SystemExit("a run did not finish (no done event)")
        print(
            json.dumps(
                {
                    "device": device,
                    "torch": torch.__version__,
                    "rows": ROWS,
                    "steps": total,
                    "straight_s": round(results["straight"]["s"], 2),
                    "resumed_total_s": round(r["s"], 2),
                    "extra_wall_s": round(r["s"] - results["straight"]["s"], 2),
                    "killed_at_step": r["killed"],
                    "resumed_from_step": r["resumed_from"],
                    "repeated_work_ratio": round((r["killed"] - r["resumed_from"]) / EVERY, 3),
                    "max_prediction_diff": float(np.max(np.abs(a - b))),
                }
            )
        )


if __name__ == "__main__":
    main()

"""The flights fixture's feature encoding, in NumPy, for the serving peers (bench:serving --peer).

Reads the same fitted-features JSON Flywheel serves with (lib/features/tabular/state.ts) and
encodes the same raw instances (`date`, `distance`, `origin`, `destination`) into the same float32
rows as lib/features/tabular/encode.ts: datetime parts one-hot (or sin/cos when cyclic), numeric
(clip, log1p) standardised, categoricals one-hot over the fitted vocabulary with an unseen bucket.
So a peer receives Flywheel's request body and does Flywheel's work on it, not a pre-encoded
vector. Feature kinds the fixture does not use (boolean, vector, hashed) are refused at load.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np

PART_SIZES = {"hour": 24, "dayOfWeek": 7, "month": 12, "dayOfMonth": 31}


def _part(dt: datetime, part: str) -> int:
    if part == "hour":
        return dt.hour
    if part == "dayOfWeek":
        return dt.weekday()  # Monday 0, like dayOfWeekOfMs
    if part == "month":
        return dt.month - 1
    return dt.day - 1


class FlightsEncoder:
    def __init__(self, fitted_path: str) -> None:
        with open(fitted_path, encoding="utf-8") as f:
            fitted = json.load(f)
        self.steps: list[tuple] = []
        offset = 0
        for d, state in zip(fitted["spec"]["features"], fitted["state"]):
            kind = d["kind"]
            column = d.get("column", d["name"])
            if kind == "numeric":
                clip = d.get("clip")
                self.steps.append(("numeric", column, offset, state["impute"], state["center"], state["scale"], clip, d.get("log1p", False)))
                offset += 1
            elif kind == "categorical" and not d.get("hash") and d.get("encoding", "onehot") != "index":
                vocab = state.get("vocabulary") or []
                self.steps.append(("categorical", column, offset, {v: i for i, v in enumerate(vocab)}, len(vocab)))
                offset += len(vocab) + 1
            elif kind == "datetime":
                for p in d["parts"]:
                    cyclic = p.get("encoding") == "cyclic"
                    if cyclic and p["part"] == "dayOfMonth":
                        raise ValueError("a cyclic dayOfMonth is not implemented by the peers' encoder")
                    self.steps.append(("datetime", column, offset, p["part"], cyclic))
                    offset += 2 if cyclic else PART_SIZES[p["part"]]
            else:
                raise ValueError(f"feature {d['name']}: kind {kind} is not implemented by the peers' encoder")
        self.dimension = offset

    def encode(self, instances: list[dict]) -> np.ndarray:
        x = np.zeros((len(instances), self.dimension), dtype=np.float32)
        for step in self.steps:
            kind, column, offset = step[0], step[1], step[2]
            if kind == "numeric":
                _, _, _, impute, center, scale, clip, log1p = step
                for i, inst in enumerate(instances):
                    v = inst.get(column)
                    if v is None or not math.isfinite(v):
                        v = impute
                    if clip:
                        v = min(max(v, clip[0]), clip[1])
                    if log1p:
                        v = math.log1p(v) if v > -1 else float("nan")
                    x[i, offset] = 0.0 if v != v else (v - center) / scale
            elif kind == "categorical":
                lookup, oov = step[3], step[4]
                for i, inst in enumerate(instances):
                    x[i, offset + lookup.get(inst.get(column), oov)] = 1.0
            else:
                part, cyclic = step[3], step[4]
                for i, inst in enumerate(instances):
                    s = inst.get(column)
                    if not isinstance(s, str):
                        continue
                    dt = datetime.fromisoformat(s)
                    k = _part(dt, part)
                    if cyclic:
                        period = PART_SIZES[part]
                        angle = 2 * math.pi * k / period
                        x[i, offset] = math.sin(angle)
                        x[i, offset + 1] = math.cos(angle)
                    else:
                        x[i, offset + k] = 1.0
        return x


def onnx_session(model_path: str):
    """One ONNX Runtime session on one thread, spinning off (the bench's rule for every server)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])

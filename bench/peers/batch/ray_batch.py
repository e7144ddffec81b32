# P3 — the peer of bench:batch: Ray Data scoring the same Parquet with the same ONNX model and the
# same feature encoding, on its documented fast path for batch inference on CPUs:
# ray.data.read_parquet → select_columns → map_batches (tasks, TaskPoolStrategy(size=2), one CPU
# each, one onnxruntime session per Ray worker process, large batches in the pyarrow format,
# zero-copy; Ray fuses the read and the map into one task per block) → write_parquet; local mode,
# ray.init(num_cpus=2). `--strategy actors` runs the callable-class actor pool instead (it stalled
# here with 2 CPUs: the two actors hold the CPUs the read tasks need).
#
# The encoding is Flywheel's fitted tabular features (lib/features/tabular/encode.ts) re-implemented
# with numpy/pyarrow from the fitted state JSON the model was exported with; bench/batch.ts checks
# on a sample that the scores equal Flywheel's (≤ 1e-5) before any timing counts.
#
# A long-lived process driven by stdin, so Ray starts once and rounds interleave with Flywheel's:
#   run <out_dir>                 → {"rows": n, "seconds": s}   (read → encode + score → write)
#   parity <parquet> <out.parquet> → {"rows": n}  (same pipeline, order preserved, one output file)
import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
PART_SIZES = {"hour": 24, "dayOfWeek": 7, "month": 12, "dayOfMonth": 31}


def source_column(feature):
    return feature.get("column") or feature["name"]


class Encoder:
    """Fitted tabular features → row-major float32 vectors, as encode.ts writes them."""

    def __init__(self, fitted):
        self.plan = []
        offset = 0
        for feature, state in zip(fitted["spec"]["features"], fitted["state"]):
            kind = feature["kind"]
            if kind == "numeric":
                self.plan.append(("numeric", source_column(feature), offset, feature, state))
                offset += 1
            elif kind == "categorical":
                if feature.get("hash"):
                    raise NotImplementedError("hashed categoricals")
                vocab = state.get("vocabulary") or []
                self.plan.append(("categorical", source_column(feature), offset, feature, pa.array(vocab, pa.string())))
                offset += 1 if feature.get("encoding") == "index" else len(vocab) + 1
            elif kind == "boolean":
                self.plan.append(("boolean", source_column(feature), offset, feature, state))
                offset += 1
            elif kind == "datetime":
                for part in feature["parts"]:
                    name, encoding = (part, feature.get("encoding", "one-hot")) if isinstance(part, str) else (part["part"], part.get("encoding", feature.get("encoding", "one-hot")))
                    if encoding != "one-hot" or name not in ("hour", "dayOfWeek"):
                        raise NotImplementedError(f"datetime part {name} ({encoding})")
                    self.plan.append((name, source_column(feature), offset, feature, None))
                    offset += PART_SIZES[name]
            else:
                raise NotImplementedError(f"{kind} features")
        self.dimension = offset
        self.columns = sorted({p[1] for p in self.plan})

    @staticmethod
    def _epoch_ms(col):
        if pa.types.is_timestamp(col.type):
            col = pc.cast(pc.cast(col, pa.timestamp("ms")), pa.int64())
        valid = np.asarray(pc.is_valid(col))
        ms = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return ms, valid

    def encode(self, table):
        n = table.num_rows
        x = np.zeros((n, self.dimension), dtype=np.float32)
        rows = np.arange(n)
        for kind, column, offset, feature, state in self.plan:
            col = table.column(column)
            if kind == "numeric":
                v = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
                lo, hi = (feature.get("clip") or [-np.inf, np.inf])
                def transform(a):
                    if feature.get("clip"):
                        a = np.clip(a, lo, hi)
                    if feature.get("log1p"):
                        with np.errstate(invalid="ignore", divide="ignore"):
                            a = np.log1p(a)
                    return a
                imputed = transform(np.array([state["impute"]], dtype=np.float64))[0]
                fallback = (0.0 if np.isnan(imputed) else imputed - state["center"]) / state["scale"]
                ok = np.isfinite(v)
                t = transform(np.where(ok, v, 0.0))
                good = ok & ~np.isnan(t)
                x[:, offset] = np.where(good, (t - state["center"]) / state["scale"], fallback)
            elif kind == "categorical":
                oov = len(state)
                idx = pc.index_in(pc.cast(col, pa.string()), value_set=state)
                k = np.asarray(pc.fill_null(idx, oov).to_numpy(zero_copy_only=False), dtype=np.int64)
                if feature.get("encoding") == "index":
                    x[:, offset] = k
                else:
                    x[rows, offset + k] = 1.0
            elif kind == "boolean":
                v = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy(zero_copy_only=False))
                x[:, offset] = np.where(v == 1, 1.0, np.where(v == 0, 0.0, 1.0 if feature.get("impute") else 0.0))
            else:
                ms, valid = self._epoch_ms(col)
                part = (ms % MS_PER_DAY) // MS_PER_HOUR if kind == "hour" else ((ms // MS_PER_DAY) + 3) % 7
                x[rows[valid], offset + part[valid]] = 1.0
        return x


class Scorer:
    """One onnxruntime session per actor (Ray Data's pattern for stateful batch inference)."""

    def __init__(self, model_path, fitted, model_version):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[0].name
        self.encoder = Encoder(fitted)
        self.model_version = model_version

    def __call__(self, batch: pa.Table) -> pa.Table:
        y = self.session.run([self.output], {self.input: self.encoder.encode(batch)})[0].reshape(-1)
        return pa.table({"probability": pa.array(y, pa.float32()), "model_version": pa.array(np.full(len(y), self.model_version, dtype=np.int32))})


_SCORERS = {}


def score_batch(batch: pa.Table, model_path, fitted, model_version) -> pa.Table:
    """Task-based map: each Ray worker process keeps its session (workers are reused)."""
    scorer = _SCORERS.get(model_path)
    if scorer is None:
        scorer = _SCORERS[model_path] = Scorer(model_path, fitted, model_version)
    return scorer(batch)


def pipeline(args, fitted, path, preserve_order):
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = preserve_order
    ds = ray.data.read_parquet(path).select_columns(Encoder(fitted).columns)
    common = dict(batch_format="pyarrow", batch_size=args.batch_size, zero_copy_batch=True, num_cpus=1)
    if args.strategy == "actors":
        return ds.map_batches(
            Scorer,
            fn_constructor_args=(args.model, fitted, args.model_version),
            compute=ray.data.ActorPoolStrategy(size=args.concurrency),
            **common,
        )
    # Tasks: Ray fuses read → select → map into one task per block, no actor hop.
    return ds.map_batches(
        score_batch,
        fn_args=(args.model, fitted, args.model_version),
        compute=ray.data.TaskPoolStrategy(size=args.concurrency),
        **common,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parquet", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--model-version", type=int, default=1)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--strategy", choices=["tasks", "actors"], default="tasks")
    args = parser.parse_args()
    with open(args.features) as f:
        fitted = json.load(f)
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.data.DataContext.get_current().enable_progress_bars = False
    print(json.dumps({"ready": True, "ray": ray.__version__, "onnxruntime": ort.__version__, "pyarrow": pa.__version__, "numpy": np.__version__}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "run":
            start = time.perf_counter()
            ds = pipeline(args, fitted, args.parquet, False)
            ds.write_parquet(cmd[1])
            seconds = time.perf_counter() - start
            rows = pq.ParquetDataset(cmd[1]).read(columns=["model_version"]).num_rows
            print(json.dumps({"rows": rows, "seconds": seconds}), flush=True)
        elif cmd[0] == "parity":
            table = pa.concat_tables(ray.get(pipeline(args, fitted, cmd[1], True).to_arrow_refs()))
            pq.write_table(table, cmd[2])
            print(json.dumps({"rows": table.num_rows}), flush=True)
        elif cmd[0] == "quit":
            break
    ray.shutdown()


if __name__ == "__main__":
    main()

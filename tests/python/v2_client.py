#!/usr/bin/env python3
"""Calls a Flywheel model through the Open Inference Protocol (KServe V2) with Triton's own HTTP
client, as a Triton user would: checks liveness and readiness, reads the model metadata, sends
the rows as one InferInput per column (datatypes from the metadata) and prints one JSON object:

    {"live": .., "ready": .., "model_ready": .., "metadata": {..}, "outputs": {name: [..]},
     "model_version": ".."}

Usage: v2_client.py --url 127.0.0.1:PORT --model NAME --rows rows.json
                    [--header X-API-Key=...] [--binary | --json]

rows.json is a JSON list of instances (objects keyed by input column), as /v1 predict takes them.
--binary (the default, as in tritonclient) sends and receives tensors with the binary tensor data
extension; --json sends them as JSON `data`.
"""

import argparse
import json
import sys

import numpy as np
import tritonclient.http as httpclient

NUMPY_TYPES = {"FP32": np.float32, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64, "BOOL": np.bool_}


def column_array(rows, name, datatype, shape):
    """The column `name` of `rows` as an array of the metadata's datatype and shape ([-1] or [-1, k])."""
    values = [row.get(name) for row in rows]
    if datatype == "BYTES":
        if None in values:
            # V2 has no missing value for text; NaN stands in for numbers only.
            raise SystemExit(f"column {name}: a text column cannot be missing (null) over V2")
        return np.array([v.encode("utf-8") if isinstance(v, str) else str(v).encode("utf-8") for v in values], dtype=np.object_)
    dtype = NUMPY_TYPES[datatype]
    if len(shape) == 2:
        # A vector column: one row of k numbers per instance; a missing row is all NaN.
        k = shape[1]
        return np.array([v if v is not None else [np.nan] * k for v in values], dtype=dtype).reshape(len(rows), k)
    # A missing number is NaN, which the server reads as a missing value.
    return np.array([np.nan if v is None else v for v in values], dtype=dtype)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="host:port of the Flywheel server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", required=True, help="a JSON file holding a list of instances")
    parser.add_argument("--header", action="append", default=[], help="NAME=VALUE, sent with every request")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--binary", dest="binary", action="store_true", default=True)
    mode.add_argument("--json", dest="binary", action="store_false")
    args = parser.parse_args(argv)

    headers = dict(h.split("=", 1) for h in args.header)
    with open(args.rows, encoding="utf-8") as f:
        rows = json.load(f)
    if not args.binary and any(v is None or (isinstance(v, list) and None in v) for row in rows for v in row.values()):
        # A missing number travels as NaN, which JSON cannot carry (tritonclient would send `NaN`).
        parser.error("rows with missing values (null) need --binary")

    client = httpclient.InferenceServerClient(url=args.url)
    live = client.is_server_live(headers=headers)
    ready = client.is_server_ready(headers=headers)
    model_ready = client.is_model_ready(args.model, headers=headers)
    metadata = client.get_model_metadata(args.model, headers=headers)

    inputs = []
    for tensor in metadata["inputs"]:
        data = column_array(rows, tensor["name"], tensor["datatype"], tensor["shape"])
        item = httpclient.InferInput(tensor["name"], list(data.shape), tensor["datatype"])
        item.set_data_from_numpy(data, binary_data=args.binary)
        inputs.append(item)
    outputs = [httpclient.InferRequestedOutput(o["name"], binary_data=args.binary) for o in metadata["outputs"]]
    result = client.infer(args.model, inputs, outputs=outputs, headers=headers)
    response = result.get_response()

    answers = {}
    for o in metadata["outputs"]:
        array = result.as_numpy(o["name"])
        if array.dtype == np.object_:
            answers[o["name"]] = [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.reshape(-1).tolist()]
        else:
            answers[o["name"]] = array.tolist()

    json.dump(
        {
            "live": live,
            "ready": ready,
            "model_ready": model_ready,
            "metadata": metadata,
            "outputs": answers,
            "model_version": response.get("model_version"),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

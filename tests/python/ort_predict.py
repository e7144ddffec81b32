"""Scores encoded rows with ONNX Runtime in Python, the reference the parity checks compare
Flywheel's answers with: ort_predict.py MODEL.onnx FEATURES.npy OUTPUT_NAME -> JSON list of rows."""
import json
import sys

import numpy as np
import onnxruntime as ort

model, features, output = sys.argv[1:4]
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
x = np.load(features).astype(np.float32)
(y,) = session.run([output], {"features": x})
json.dump(np.asarray(y, dtype=np.float64).reshape(len(x), -1).tolist(), sys.stdout)

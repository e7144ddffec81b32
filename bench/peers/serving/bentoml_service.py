"""P1 peer (bench:serving --peer): BentoML 1.4 serving the flights model with adaptive batching.

Its documented fast path for a small model under many concurrent requests: `@bentoml.api(
batchable=True)`, where BentoML's dispatcher gathers concurrent requests into one call (one ONNX
Runtime run per batch) within max_latency_ms; one worker (the bench pins BentoML's processes to
the server core); access log off. The ONNX session has 1 intra-op and 1 inter-op thread, spinning
off. It takes Flywheel's predict body (`{"instances":[{date, distance, origin, destination}], ...}`;
fields it does not declare, like routingKey, are ignored) and encodes it with the same fitted
features (flights_encoding.py): the same work per request as Flywheel's server.

    FLIGHTS_MODEL_ONNX=model.onnx FLIGHTS_MODEL_FEATURES=fitted.json \
      bentoml serve bentoml_service:FlightsPredictor --host 127.0.0.1 --port 3000
"""

from __future__ import annotations

import os

import bentoml
import numpy as np

from flights_encoding import FlightsEncoder, onnx_session

# Flywheel's own defaults: 32 rows per merged run, and a request that would wait longer than 1 s
# is refused (BentoML answers 503, Flywheel 504). A tighter max_latency_ms only sheds load earlier
# (each shed request also logs a traceback); the bench's SLO (p99 <= 20 ms) decides capacity.
MAX_BATCH_SIZE = int(os.environ.get("FLIGHTS_MAX_BATCH_SIZE", "32"))
MAX_LATENCY_MS = int(os.environ.get("FLIGHTS_MAX_LATENCY_MS", "1000"))


@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class FlightsPredictor:
    def __init__(self) -> None:
        self.encoder = FlightsEncoder(os.environ["FLIGHTS_MODEL_FEATURES"])
        self.session = onnx_session(os.environ["FLIGHTS_MODEL_ONNX"])
        self.input_name = self.session.get_inputs()[0].name

    @bentoml.api(route="/predict", batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=MAX_LATENCY_MS)
    def predict(self, instances: list[dict]) -> list[dict]:
        # `instances` is every instance of the requests the dispatcher gathered, in order; the
        # answer is split back among them.
        x = self.encoder.encode(instances)
        p: np.ndarray = self.session.run(None, {self.input_name: x})[0].reshape(-1)
        return [{"probability": float(v), "version": 1} for v in p]

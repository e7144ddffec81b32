"""P2 peer (bench:serving --peer): the server a team writes by hand, FastAPI + ONNX Runtime.

Its fast path: one uvicorn process (the bench pins it to the server core) on uvloop and httptools,
no access log, the body parsed and the reply written with orjson (no pydantic model: FastAPI's
validation layer measured ~20% slower here), one ONNX Runtime session (1 intra-op and 1 inter-op
thread, spinning off) run once per request, in the event loop (a thread hop per request costs more
than this model's run). It takes Flywheel's predict body as is (`{"instances":[{date, distance,
origin, destination}], "routingKey": ...}`) and encodes it with the same fitted features
(flights_encoding.py), so both servers do the same work per request.

    python fastapi_server.py --model model.onnx --features fitted.json --port 8000
"""

from __future__ import annotations

import argparse
import sys

import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from flights_encoding import FlightsEncoder, onnx_session


def build_app(model_path: str, features_path: str) -> FastAPI:
    encoder = FlightsEncoder(features_path)
    session = onnx_session(model_path)
    input_name = session.get_inputs()[0].name
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def error(status: int, message: str) -> Response:
        return Response(orjson.dumps({"error": {"message": message}}), status_code=status, media_type="application/json")

    @app.post("/v1/models/{name}/predict")
    async def predict(name: str, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            return error(400, f"malformed JSON body: {exc}")
        instances = body.get("instances") if isinstance(body, dict) else None
        if not isinstance(instances, list) or not instances or not all(isinstance(i, dict) for i in instances):
            return error(400, "instances must be a non-empty array of objects")
        probabilities = session.run(None, {input_name: encoder.encode(instances)})[0].reshape(-1)
        return Response(
            orjson.dumps({"model": name, "predictions": [{"probability": float(p), "version": 1} for p in probabilities]}),
            media_type="application/json",
        )

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b"{}", media_type="application/json")

    return app


def main(argv: list[str]) -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--model", required=True)
    args.add_argument("--features", required=True)
    args.add_argument("--port", type=int, required=True)
    opts = args.parse_args(argv)
    uvicorn.run(
        build_app(opts.model, opts.features),
        host="127.0.0.1",
        port=opts.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main(sys.argv[1:])

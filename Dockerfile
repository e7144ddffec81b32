# syntax=docker/dockerfile:1
# Images for Flywheel's Node processes (docs/images.md). Two targets:
# - `cpu` (the default, `docker build .`): the CPU worker by default; the GPU worker and the
#   inference server are the same image with another command:
#     node dist/workers/gpu/main.js   |   node dist/bin/flywheel.js serve
# - `gpu` (`docker build --target gpu .`): on an NVIDIA CUDA runtime, with onnxruntime-node's CUDA
#   provider and @tensorflow/tfjs-node-gpu; runs the GPU worker by default and serves or
#   batch-scores on the GPU with FLYWHEEL_ONNX_PROVIDERS=cuda,cpu (docs/gpu.md).
# Both run compiled JavaScript (dist/, `npm run build`: no tsx, no TypeScript at run time), load
# the workflow bundle built here (FLYWHEEL_WORKFLOW_BUNDLE) instead of bundling at every start,
# hold production dependencies only, and run as the unprivileged `node` user (uid 1000).

# Node 24: the Active LTS line (Node 20 reached end of life in April 2026; a dependency, cookie@2,
# already requires Node >= 22). Every stage builds on this one, so the version is named once.
FROM node:24-bookworm-slim AS base
WORKDIR /app

# ---------------------------------------------------------------------------------------------
# Build: all dependencies (TypeScript, webpack through @temporalio/worker), then `npm run build`:
# dist/ (tsc -p tsconfig.build.json, plus migrations and entry files) and dist/workflow-bundle.js.
# No install scripts are needed to compile and bundle, so none run here.
FROM base AS build
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY lib ./lib
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY serving ./serving
COPY console ./console
COPY cli ./cli
COPY examples ./examples
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Production dependencies, pruned to this platform (scripts/prune-node-modules.sh: the other
# platforms' ONNX Runtime and Temporal bridge binaries, source maps). .npmrc skips
# onnxruntime-node's CUDA download; the gpu target asks for it instead.
FROM base AS prod-deps
ARG TARGETARCH=amd64
COPY package.json package-lock.json .npmrc ./
COPY scripts/prune-node-modules.sh ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund \
  && npm cache clean --force \
  && sh scripts/prune-node-modules.sh node_modules "$TARGETARCH"

# ---------------------------------------------------------------------------------------------
# The CPU image. Size target: under 850 MB uncompressed (docs/images.md has the measured parts).
FROM base AS cpu
# git: the GitOps reconciler's activities fetch the desired-state repository with the git binary
# (docs/gitops.md); ca-certificates for https remotes. About 98 MB installed, most of it Perl.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  FLYWHEEL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
  FLYWHEEL_WORKER_HTTP_PORT=9464
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
# The embedded-default data folder (PGlite, file:// artifacts) is the only place under /app the
# processes write to; everything else stays root-owned and read-only to them.
RUN mkdir -p /app/.flywheel && chown node:node /app/.flywheel
USER node
# 9464: a worker's /healthz, /readyz, /metrics; 8080: `flywheel serve`.
EXPOSE 9464 8080
# Liveness of whichever process runs (scripts/healthcheck.mjs): the worker's or the server's /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
# SIGTERM must reach Node itself (exec form, no shell) so the worker drains and the GPU worker
# checkpoints before the container stops.
CMD ["node", "dist/workers/cpu/main.js"]

# ---------------------------------------------------------------------------------------------
# GPU dependencies: onnxruntime-node 1.30's CUDA provider (ONNXRUNTIME_NODE_INSTALL wins over
# .npmrc's skip) and tfjs-node-gpu's libtensorflow; both install scripts are allowed here only.
FROM base AS gpu-deps
COPY package.json package-lock.json .npmrc ./
COPY scripts/prune-node-modules.sh ./scripts/
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --omit=dev --no-audit --no-fund --allow-scripts=onnxruntime-node \
  && npm install --omit=dev --no-save --no-audit --no-fund --allow-scripts=@tensorflow/tfjs-node-gpu @tensorflow/tfjs-node-gpu@4.22.0 \
  && test -e node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
  && npm cache clean --force \
  && sh scripts/prune-node-modules.sh node_modules amd64

# ---------------------------------------------------------------------------------------------
# The GPU image. onnxruntime-node 1.30's CUDA provider needs CUDA 12 + cuDNN 9 (this base image);
# @tensorflow/tfjs-node-gpu 4.22 loads libtensorflow 2.9, built for CUDA 11 + cuDNN 8, whose
# runtime libraries are installed beside from NVIDIA's apt repository (configured in the base).
# The TensorRT provider also needs TensorRT's libraries (libnvinfer), which this image leaves out:
# list tensorrt in FLYWHEEL_ONNX_PROVIDERS only on an image that adds them.
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 AS gpu
# Node from the official image (the same build as the cpu target), not the distribution's; no npm:
# nothing is installed at run time.
COPY --from=base /usr/local/bin/node /usr/local/bin/node
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
    cuda-cudart-11-8 libcublas-11-8 libcufft-11-8 libcurand-11-8 libcusolver-11-8 libcusparse-11-8 \
    'libcudnn8=8.9.7.29-1+cuda11.8' \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node
ENV LD_LIBRARY_PATH=/usr/local/cuda-11.8/lib64:${LD_LIBRARY_PATH} \
  NODE_ENV=production \
  FLYWHEEL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
  FLYWHEEL_WORKER_HTTP_PORT=9464 \
  FLYWHEEL_ONNX_PROVIDERS=cuda,cpu \
  NVIDIA_VISIBLE_DEVICES=all \
  NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /app
COPY package.json ./
COPY --from=gpu-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
RUN mkdir -p /app/.flywheel && chown node:node /app/.flywheel
USER node
EXPOSE 9464 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "dist/workers/gpu/main.js"]

# ---------------------------------------------------------------------------------------------
# The default target (last stage): the CPU image, so `docker build .` and compose's `build: .`
# never pull the CUDA base.
FROM cpu AS default

# Images for Flywheel's Node processes. Two targets:
# - `cpu` (the default, `docker build .`): the CPU worker by default; the GPU worker is the same
#   image with `node --import tsx workers/gpu/main.ts` (see docker-compose.temporal.yml and infra/k8s).
# - `gpu` (`docker build --target gpu .`): on an NVIDIA CUDA runtime, with onnxruntime-node's CUDA
#   provider and @tensorflow/tfjs-node-gpu; runs the GPU worker by default and serves or
#   batch-scores on the GPU with FLYWHEEL_ONNX_PROVIDERS=cuda,cpu (docs/gpu.md).
FROM node:20-bookworm-slim AS cpu

WORKDIR /app

# Dependencies first, so a source change does not reinstall them. Runtime dependencies only:
# TypeScript runs through tsx, which is one of them. .npmrc skips onnxruntime-node's CUDA
# download (the gpu target sets ONNXRUNTIME_NODE_INSTALL=cuda12 instead; see README).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force

COPY . .

# Workers run unprivileged; the embedded-default data folder (PGlite, file:// artifacts) is the
# only place under /app they write to.
RUN mkdir -p /app/.flywheel && chown node:node /app/.flywheel
USER node
ENV NODE_ENV=production

# SIGTERM must reach Node itself (exec form, no shell) so the worker drains and the GPU worker
# checkpoints before the container stops.
CMD ["node", "--import", "tsx", "workers/cpu/main.ts"]

# ---------------------------------------------------------------------------------------------
# GPU image. onnxruntime-node 1.30's CUDA provider needs CUDA 12 + cuDNN 9 (this base image);
# @tensorflow/tfjs-node-gpu 4.22 loads libtensorflow 2.9, built for CUDA 11 + cuDNN 8, whose
# runtime libraries are installed beside from NVIDIA's apt repository (configured in the base).
# The TensorRT provider also needs TensorRT's libraries (libnvinfer), which this image leaves out:
# list tensorrt in FLYWHEEL_ONNX_PROVIDERS only on an image that adds them.
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 AS gpu

# Node from the official image (the same build as the cpu target), not the distribution's.
COPY --from=cpu /usr/local/bin/node /usr/local/bin/node
COPY --from=cpu /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
    cuda-cudart-11-8 libcublas-11-8 libcufft-11-8 libcurand-11-8 libcusolver-11-8 libcusparse-11-8 \
    'libcudnn8=8.9.7.29-1+cuda11.8' \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node
ENV LD_LIBRARY_PATH=/usr/local/cuda-11.8/lib64:${LD_LIBRARY_PATH}

WORKDIR /app

# ONNXRUNTIME_NODE_INSTALL wins over .npmrc's skip: the install script fetches the CUDA provider's
# libraries; tfjs-node-gpu's fetches libtensorflow (GPU). Both scripts are allowed here only.
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --omit=dev --allow-scripts=onnxruntime-node \
  && npm install --omit=dev --no-save --allow-scripts=@tensorflow/tfjs-node-gpu @tensorflow/tfjs-node-gpu@4.22.0 \
  && test -e node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
  && npm cache clean --force

COPY . .

RUN mkdir -p /app/.flywheel && chown node:node /app/.flywheel
USER node
ENV NODE_ENV=production \
  FLYWHEEL_ONNX_PROVIDERS=cuda,cpu \
  NVIDIA_VISIBLE_DEVICES=all \
  NVIDIA_DRIVER_CAPABILITIES=compute,utility

CMD ["node", "--import", "tsx", "workers/gpu/main.ts"]

# ---------------------------------------------------------------------------------------------
# The default target (last stage): the CPU image, so `docker build .` and compose's `build: .`
# are unchanged and never pull the CUDA base.
FROM cpu AS default

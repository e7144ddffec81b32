# One image for Flywheel's Node processes. The default command runs the CPU worker; the GPU
# worker is the same image with `node --import tsx workers/gpu/main.ts` (see
# docker-compose.temporal.yml and infra/k8s).
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so a source change does not reinstall them. Runtime dependencies only:
# TypeScript runs through tsx, which is one of them. .npmrc skips onnxruntime-node's CUDA
# download (a GPU image sets ONNXRUNTIME_NODE_INSTALL=cuda12 instead; see README).
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

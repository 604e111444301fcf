# A jetmicro service process for a project made by `npm create jetmicro` (build from the
# project's root: docker build -f deploy/service.Dockerfile -t my-app-services .).
# It runs every module of services/ and no gateway (MICRO_GATEWAY_PORT=0); NATS is the
# cluster named by NATS_URL, which must be set when the container starts.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Installs bun (the runtime `micro` runs on) and buf with the project; no global tools.
RUN npm ci --no-audit --no-fund
COPY buf.yaml buf.gen.yaml ./
COPY proto ./proto
RUN node_modules/.bin/buf generate
COPY services ./services
# Only what runs: drop build-only tools from node_modules.
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    MICRO_GATEWAY_PORT=0 \
    MICRO_SERVICES_DIR=services
COPY --from=build /app /app
USER node
# No HTTP port: readiness and liveness are NATS-level (see deploy/README.md), e.g.
#   node_modules/.bin/micro health greeter
# bin/micro forwards SIGTERM to the runner, which drains in-flight calls, then exits.
STOPSIGNAL SIGTERM
CMD ["node_modules/.bin/micro", "run"]

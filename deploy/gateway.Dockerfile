# The jetmicro HTTP gateway as its own process (build from the project's root:
# docker build -f deploy/gateway.Dockerfile -t my-app-gateway .). It serves no service
# module (an empty services folder): calls travel over NATS (NATS_URL, required) to the
# service containers. Liveness and readiness: GET /health on port 8080.
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && mkdir -p /app/no-services
ENV NODE_ENV=production \
    MICRO_SERVICES_DIR=/app/no-services \
    MICRO_GATEWAY_HOST=0.0.0.0 \
    MICRO_GATEWAY_PORT=8080
# Optional: MICRO_GATEWAY_AUTH_FILE=/run/secrets/gateway-auth.json (API keys / JWT rules),
# MICRO_GATEWAY_CORS_ORIGINS, MICRO_GATEWAY_TIMEOUT_MS, MICRO_GATEWAY_MAX_BODY_BYTES.
EXPOSE 8080
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node_modules/.bin/micro", "run"]

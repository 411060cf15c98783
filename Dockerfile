# zkrisk's image: the package as `npm pack` makes it (dist/, the shipped models, circuit templates and contract
# ABIs; no TypeScript sources, no Solidity compiler), installed with its production dependencies on Node 20.
# The default command runs the prover service on /config/service.json; `docker run IMAGE publisher serve
# --config /config/publisher.json` runs a publisher. Proving artifacts, keystores and the job store are mounted:
# nothing secret is baked into the image.
#
#   docker build -t zkrisk .
#   docker compose up            # prover service + Redis (append-only) + a local chain: compose.yaml

# Build stage: the whole project with its development dependencies, to compile and pack.
FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# npm pack writes into an existing directory only.
RUN mkdir /pack && npm pack --pack-destination /pack && mv /pack/zkrisk-*.tgz /pack/zkrisk.tgz

# Runtime stage: the packed package installed globally, production dependencies only (better-sqlite3 is built
# here for the job store), run as the unprivileged `node` user, which owns /data: a named volume mounted there
# starts as a copy of the image's directory, owner included, and the job store, cache and archive are written in it.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /pack/zkrisk.tgz /tmp/zkrisk.tgz
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/zkrisk.tgz && rm /tmp/zkrisk.tgz \
  && npm cache clean --force \
  && apt-get purge -y make g++ && apt-get autoremove -y \
  && mkdir /data && chown node:node /data
ENV NODE_ENV=production \
    ZKRISK_CACHE_DIR=/data/cache
USER node
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# The service answers /healthz while its process runs; /readyz says whether it can prove (chain, store, markets).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["zkrisk"]
CMD ["serve", "--config", "/config/service.json"]

# syntax=docker/dockerfile:1
# Node 24, the current LTS: argon2's and libsql's prebuilt binaries load on it, so the image needs
# no compiler. package.json's engines says what is supported (22.15+ and 24).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# How the server's memory is held, measured with `npm run bench` (scripts/bench/README.md):
# - MALLOC_ARENA_MAX=1: argon2 takes its memory (7 MiB since HASH_OPTIONS' 7 MiB setting, 19
#   before) from malloc for each hash, on whichever of libuv's threads runs it, and glibc keeps
#   each thread's arena once grown (at 19 MiB, 4 threads held 76 MB for good). With one arena the
#   memory is reused: 55 MB less, no slower.
# - --max-semi-space-size=16: V8 grows the young generation under sustained load until the
#   bytes that survive its collections add up to its size, to 2 x 64 MB by default. Capped at
#   2 x 16 MB the server held 159 to 163 MB after the by-id load against 194 to 198 MB at
#   2 x 32 MB (1.6x the floor's, over the 1.5x the product allows), for up to 10% more CPU a
#   request by id and none measurable on a page (three runs against four).
# - --heap-growing-percent=50 (in CMD: Node refuses it in NODE_OPTIONS): after a full
#   collection V8 lets the old generation grow to a multiple of what survived before the next
#   one, and for this server's 25 MB it chose about 2.5x: the old generation reached 62 to 67 MB
#   under by-id load. At 1.5x it stays at 36 to 38 MB, for one more full collection every few
#   seconds (about 25 MB to mark).
# Keep these flags when you set NODE_OPTIONS or the command yourself; the bench reads both here.
ENV NODE_ENV=production PORT=3000 METRICS_PORT=9464 \
    MALLOC_ARENA_MAX=1 NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY drizzle ./drizzle
COPY package.json ./
# SQLite's default file lives here; on PostgreSQL it stays empty.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# 3000: the API; 9464: Prometheus's /metrics, for the operator's network only (never publish it).
EXPOSE 3000 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself, not npm, is the main process: SIGTERM reaches the server, which drains.
CMD ["node", "--heap-growing-percent=50", "dist/server.js"]

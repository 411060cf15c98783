#!/usr/bin/env bash
# Builds zkrisk's image from the repository's Dockerfile, unchanged, on a machine that reaches Debian's package
# mirrors and the npm registry but no container registry (Docker Hub's `node:20-bookworm-slim` cannot be pulled),
# then runs the image: `zkrisk --version`, `zkrisk --help`, and the image's own HEALTHCHECK command against
# `zkrisk serve` started in the container. Not part of `npm test` (minutes, root, several GB of disk).
#
# What it proves: the Dockerfile's steps (apt-get, `npm ci`, `npm pack` and its `npm run build`, the global
# install of the packed package with better-sqlite3 compiled from source, the purge) succeed on Debian bookworm
# with Node 20, and the result starts as the unprivileged `node` user, writes its volume and answers its health
# check. What it does not prove: the real `node:20-bookworm-slim` is not used. In its place is a stand-in of the
# same name, tagged locally: `debootstrap --variant=minbase bookworm` (what debian:bookworm-slim is made of),
# this machine's Node 20 binary and headers and the npm Node 20 bundles (from the npm registry) under
# /usr/local as in the official image, a `node` user (uid 1000), and a
# global npmrc carrying this machine's npm settings (its CA bundle; node-gyp's headers from the installed Node,
# as node-gyp cannot download them here). So a better-sqlite3 prebuilt binary that the real image would fetch
# is compiled instead.
#
#   sudo tools/build-image-offline.sh            # as root; installs buildah and debootstrap with apt if missing
#
# Environment: ZKRISK_IMAGE (default zkrisk:local, the name compose.yaml uses), ZKRISK_IMAGE_WORK (default
# /var/tmp/zkrisk-image: the debootstrap tree, kept for the next run), STORAGE_DRIVER (default vfs),
# BUILDAH_ISOLATION (default chroot: RUN steps need no cgroups or user namespaces), ZKRISK_STANDIN_NPM (default
# 10.8.2, the npm of Node 20's images). `--fresh` rebuilds the stand-in and every layer; by default a stand-in
# made by this script is kept, and so are the build's cached layers (`buildah bud --layers`).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fresh=
case "${1:-}" in
  "") ;;
  --fresh) fresh=1 ;;
  *) printf 'usage: %s [--fresh]\n' "$0" >&2 && exit 2 ;;
esac
image=${ZKRISK_IMAGE:-zkrisk:local}
work=${ZKRISK_IMAGE_WORK:-/var/tmp/zkrisk-image}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}

step() { printf '\n== %s\n' "$*"; }
fail() {
  printf 'build-image-offline: %s\n' "$*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "run as root (debootstrap and buildah's vfs storage need it)"

# --- the base image the Dockerfile names --------------------------------------------------------------------
bases=$(awk 'toupper($1) == "FROM" { print $2 }' "$root/Dockerfile" | grep -v '^build$' | sort -u)
[ "$(printf '%s\n' "$bases" | wc -l)" = 1 ] || fail "expected one base image in the Dockerfile, found: $bases"
case "$bases" in
  node:*-bookworm-slim) ;;
  *) fail "the stand-in is a Debian bookworm Node image; the Dockerfile's base is $bases" ;;
esac
base=docker.io/library/$bases
node_major=${bases#node:}
node_major=${node_major%%-*}

command -v node >/dev/null || fail "no node on PATH: the stand-in copies this machine's Node $node_major"
host_node=$(readlink -f "$(command -v node)")
prefix=$(dirname "$(dirname "$host_node")")
[ "$(node -p 'process.versions.node.split(".")[0]')" = "$node_major" ] ||
  fail "$host_node is Node $(node --version); the Dockerfile's base $bases has Node $node_major"
[ -e "$prefix/include/node/node.h" ] || fail "$prefix/include/node is missing: the stand-in needs this Node's headers"
# The npm that Node 20's releases bundle (CHANGELOG_V20: "deps: upgrade npm to 10.8.2"), not this machine's own:
# npm 11 skips install scripts it was not told to allow, so better-sqlite3 would go unbuilt and unnoticed.
standin_npm=${ZKRISK_STANDIN_NPM:-10.8.2}

step "tools (Debian packages)"
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
buildah --version
debootstrap --version

# --- the stand-in: Debian bookworm minbase + this machine's Node, named as the Dockerfile's FROM ---------------
mkdir -p "$work"
if [ ! -e "$work/rootfs/.complete" ]; then
  step "debootstrap --variant=minbase bookworm -> $work/rootfs"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" ||
    fail "debootstrap failed: see $work/debootstrap.log"
  # debian:bookworm-slim's sources (with updates and security) and its empty package lists.
  rm -f "$work/rootfs/etc/apt/sources.list"
  cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin
  touch "$work/rootfs/.complete"
fi

label=org.zkrisk.stand-in
if [ -z "$fresh" ] && [ -n "$(buildah inspect --type image --format "{{index .Docker.Config.Labels \"$label\"}}" \
  "$base" 2>/dev/null)" ]; then
  step "stand-in $base: kept from an earlier run (--fresh to remake it)"
else
  step "stand-in $base (Node $(node --version), npm $standin_npm)"
  standin=$work/standin
  rm -rf "$standin"
  mkdir -p "$standin/usr/local/bin" "$standin/usr/local/lib/node_modules" "$standin/usr/local/include" \
    "$standin/usr/local/etc"
  cp "$host_node" "$standin/usr/local/bin/node"
  cp -a "$prefix/include/node" "$standin/usr/local/include/"
  npm pack --silent --pack-destination "$work" "npm@$standin_npm" >/dev/null
  mkdir "$standin/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$standin_npm.tgz" --strip-components=1 -C "$standin/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$standin/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$standin/usr/local/bin/npx"
  # This machine's npm settings that a build needs here: the CA bundle its TLS is checked against, and node-gyp's
  # headers from the installed Node (the official image downloads them; here only the npm registry answers).
  cp /etc/ssl/certs/ca-certificates.crt "$standin/usr/local/etc/ca-bundle.crt"
  printf 'cafile=/usr/local/etc/ca-bundle.crt\nnodedir=/usr/local\nupdate-notifier=false\n' \
    >"$standin/usr/local/etc/npmrc"

  ctr=$(buildah from --quiet scratch)
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  buildah copy --quiet "$ctr" "$work/rootfs" / >/dev/null
  buildah copy --quiet "$ctr" "$standin" / >/dev/null
  buildah run "$ctr" -- sh -ec 'rm /.complete
    groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    echo "node $(node --version), npm $(npm --version), $(id node)"; . /etc/os-release; echo "$PRETTY_NAME"'
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$(node -p process.versions.node)" --cmd node \
    --label "$label=debootstrap minbase bookworm and this machine's Node: not Docker Hub's image" "$ctr"
  buildah rmi --force "$base" >/dev/null 2>&1 || true
  buildah commit --quiet --rm "$ctr" "$base" >/dev/null
  trap - EXIT
fi

# --- the image, from the Dockerfile as it is --------------------------------------------------------------------
step "buildah bud -t $image ($root/Dockerfile)"
started=$(date +%s)
buildah bud --pull=never --format docker --layers ${fresh:+--no-cache} -t "$image" -f "$root/Dockerfile" "$root"
built=$(($(date +%s) - started))
buildah images --filter reference="$image"

# --- run it ----------------------------------------------------------------------------------------------------
# The image's config, read as `docker run` would: user, entrypoint, health check.
config() {
  buildah inspect --type image "$image" |
    node -e 'const c = JSON.parse(require("fs").readFileSync(0, "utf8")).Docker.config;
      const v = process.argv[1].split(".").reduce((o, k) => o?.[k], c);
      process.stdout.write(Array.isArray(v) ? v.join("\0") + "\0" : String(v ?? ""))' "$1"
}
user=$(config User)
mapfile -d '' entrypoint < <(config Entrypoint)
mapfile -d '' health < <(config Healthcheck.Test)
printf 'user: %s\nentrypoint: %s\nhealthcheck: %s\n' "$user" "${entrypoint[*]}" "${health[*]}"
[ "$user" = node ] || fail "the image runs as '$user', not node"
[ "${health[0]:-}" = CMD ] || fail "the image has no exec-form HEALTHCHECK (buildah keeps it with --format docker)"
health=("${health[@]:1}")

ctr=$(buildah from --quiet --pull=never "$image")
serve_pid=
cleanup() {
  [ -z "$serve_pid" ] || { run touch /tmp/check/stop && wait "$serve_pid"; } || true
  buildah rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT
run() { buildah run --user "$user" "$ctr" -- "$@"; }

step "zkrisk --version, zkrisk --help (as $user)"
run "${entrypoint[@]}" --version
run "${entrypoint[@]}" --help | head -n 8

step "zkrisk serve and the image's HEALTHCHECK command (as $user)"
# A config that validates (placeholder model, artifacts and publisher set files) and a chain that accepts
# connections but never answers: the API listens (/healthz 200, /readyz 503 "starting") while the service waits
# on the chain, as on a slow real one. The job store is SQLite on the /data volume, written as the node user.
# chroot isolation shares this machine's network: ports 8080 (the health check's) and 18545 must be free.
run sh -ec '
  mkdir -p /tmp/check/artifacts && cd /tmp/check
  touch model.json publishers.json artifacts/artifacts.json
  cat > service.json <<EOF
{ "markets": [ { "id": "BTC-USDT", "model": "model.json", "artifacts": "artifacts",
    "publishers": { "set": "publishers.json", "urls": ["http://127.0.0.1:18090"] } } ],
  "chain": { "rpc": "http://127.0.0.1:18545", "oracle": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "key": { "env": "ZKRISK_PRIVATE_KEY" } },
  "listen": { "host": "127.0.0.1", "port": 8080 },
  "auth": { "tokens": [{ "env": "ZKRISK_API_TOKEN" }] },
  "database": "/data/zkrisk.db" }
EOF
  node -e "require(\"net\").createServer(() => {}).listen(18545, \"127.0.0.1\")" & chain=$!
  trap "kill \$chain" EXIT
  export ZKRISK_PRIVATE_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  export ZKRISK_API_TOKEN=placeholder-token-0123456789
  '"${entrypoint[*]}"' serve --config service.json --log-level warn & service=$!
  until [ -e stop ]; do sleep 0.2; done
  kill $service && wait $service' &
serve_pid=$!
healthy=
for i in $(seq 1 60); do
  if run "${health[@]}"; then
    healthy=$i
    break
  fi
  kill -0 "$serve_pid" 2>/dev/null || fail "zkrisk serve exited"
  sleep 1
done
[ -n "$healthy" ] || fail "the health check did not pass in 60 s"
echo "HEALTHCHECK: exit 0 (try $healthy)"
run node -e 'fetch("http://127.0.0.1:8080/readyz").then(async (r) => console.log("/readyz:", r.status, await r.text()))'
run ls -l /data
run touch /tmp/check/stop
wait "$serve_pid" || true
serve_pid=
if run "${health[@]}"; then fail "the health check passes with the service stopped"; fi
echo "HEALTHCHECK: exit 1 with the service stopped"

printf '\nbuilt %s in %s s\n' "$image" "$built"

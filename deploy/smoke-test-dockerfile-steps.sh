#!/usr/bin/env bash
# Runs the Dockerfile's steps outside a container, for machines that cannot build images (no
# registry to pull the eclipse-temurin base images from): the build stage's RUN, the COPYs into a
# staging /opt/vnrt, then the ENTRYPOINT + CMD on a free port, the HEALTHCHECK command until it
# passes, and SIGTERM, checking that the daemon drains and stops and that health then fails.
# The commands are read from the Dockerfile itself, so the test follows it when it changes.
#
#   deploy/smoke-test-dockerfile-steps.sh            # build as the Dockerfile does (needs Maven Central)
#   deploy/smoke-test-dockerfile-steps.sh -o         # extra Maven flags, e.g. offline
# Needs JAVA_HOME (JDK 25) and python3. Exits non-zero, saying which step failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dockerfile="$root/Dockerfile"
java_home=${JAVA_HOME:?set JAVA_HOME to a JDK 25}
work=$(mktemp -d)
daemon_pid=""
cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "smoke test FAILED: $*" >&2
  if [[ -f "$work/daemon.log" ]]; then
    echo "--- daemon log ---" >&2
    tail -n 40 "$work/daemon.log" >&2
  fi
  exit 1
}

# The Dockerfile's instructions, continuation lines joined; JSON-array forms decoded.
instruction() {
  python3 - "$dockerfile" "$1" <<'PY'
import json, re, shlex, sys
text = re.sub(r"\\\n\s*", " ", open(sys.argv[1]).read())
want = sys.argv[2]
found = None
every = []
for line in text.splitlines():
    line = line.strip()
    if line.split(" ", 1)[0] == want:
        found = line.split(" ", 1)[1].strip()
        every.append(found)
if found is None:
    sys.exit(f"no {want} in the Dockerfile")
if want == "HEALTHCHECK":
    found = found[found.index("CMD") + 3:].strip()
if want == "RUN":
    print(found)
elif want == "ENV":
    # every ENV line (one KEY=value each), one per output line
    for each in every:
        key, _, value = each.partition("=")
        print(key + "=" + json.loads(value) if value.startswith('"') else each)
else:
    print("\n".join(json.loads(found)))
PY
}

# stage 1: RUN in /src (the build stage's only RUN)
build=$(grep -m1 '^RUN ./mvnw' "$dockerfile" | sed 's/^RUN //')
[[ -n "$build" ]] || fail "the Dockerfile has no 'RUN ./mvnw' build step"
echo "== build: $build $*"
(cd "$root" && JAVA_HOME="$java_home" $build "$@") || fail "the build step failed"

# stage 2: the COPY --from=build lines into a staging root
stage="$work/root"
mkdir -p "$stage/opt/vnrt"
while read -r _ _ src dst; do
  src=${src#/src/}
  cp -r "$root/$src" "$stage$dst" || fail "COPY $src $dst: missing build output"
done < <(grep '^COPY --from=build' "$dockerfile")
[[ -f "$stage/opt/vnrt/vnrt-runtime-daemon.jar" ]] || fail "the image would have no /opt/vnrt/vnrt-runtime-daemon.jar"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rewrite() {
  # java from JAVA_HOME, /opt/vnrt from the staging root, 50051 as the free port
  sed -e "s#^java\$#$java_home/bin/java#" -e "s#/opt/vnrt#$stage/opt/vnrt#g" -e "s#:50051#:$port#g"
}
mapfile -t entrypoint < <(instruction ENTRYPOINT | rewrite)
mapfile -t cmd < <(instruction CMD | rewrite)
mapfile -t health < <(instruction HEALTHCHECK | rewrite)
mapfile -t env_lines < <(instruction ENV)

echo "== start: ${entrypoint[*]} ${cmd[*]}"
(cd "$work" && env "${env_lines[@]}" "${entrypoint[@]}" "${cmd[@]}" >"$work/daemon.log" 2>&1) &
daemon_pid=$!

echo "== healthcheck: ${health[*]}"
for attempt in $(seq 1 60); do
  if out=$("${health[@]}" 2>&1); then
    echo "healthy after $attempt attempt(s): $out"
    break
  fi
  kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon exited before it was healthy"
  [[ $attempt -lt 60 ]] || fail "not healthy after 60 attempts: $out"
  sleep 1
done
[[ "$out" == *SERVING* ]] || fail "health printed '$out', expected SERVING"

echo "== SIGTERM"
# the daemon is the JVM started by the subshell: signal the java process itself
java_pid=$(pgrep -P "$daemon_pid" -f 'io.vnrt.runtime.cli.Main' || echo "$daemon_pid")
kill -TERM "$java_pid"
for _ in $(seq 1 60); do
  kill -0 "$java_pid" 2>/dev/null || break
  sleep 1
done
kill -0 "$java_pid" 2>/dev/null && fail "the daemon did not stop within 60 s of SIGTERM"
wait "$daemon_pid" || true
grep -q "draining" "$work/daemon.log" || fail "no 'draining' in the daemon log after SIGTERM"
grep -q "drained" "$work/daemon.log" || fail "no 'drained' in the daemon log after SIGTERM"
if "${health[@]}" >/dev/null 2>&1; then
  fail "health still passes after the daemon stopped"
fi
echo "smoke test passed: built, started on port $port, healthy, drained and stopped on SIGTERM"

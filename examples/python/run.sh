#!/usr/bin/env bash
# Runs the Python example against a running daemon:
#   examples/python/run.sh [--target HOST:PORT] [--skip-kserve]
# Generates the message classes from proto/ into a temporary directory (never committed), then runs
# quickstart.py with the system python3. Needs Debian's python3-grpcio, python3-protobuf and
# protobuf-compiler (apt-get install -y python3-grpcio python3-protobuf protobuf-compiler).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
protos="$here/../../proto/src/main/proto"
py=/usr/bin/python3
for tool in "$py" protoc; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing; apt-get install -y python3-grpcio python3-protobuf protobuf-compiler" >&2; exit 2; }
done
"$py" -c 'import grpc, google.protobuf' 2>/dev/null \
  || { echo "run.sh: python3-grpcio / python3-protobuf are missing; apt-get install -y python3-grpcio python3-protobuf" >&2; exit 2; }
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
# protoc's warnings (unused imports in the contract) are noise here: shown only if it fails
if ! protoc_log="$(cd "$protos" && protoc --python_out="$gen" vnrt/v1/*.proto inference/grpc_service.proto inference/model_config.proto \
    onnx/onnx.proto 2>&1)"; then
  echo "$protoc_log" >&2
  exit 1
fi
for d in "$gen"/vnrt "$gen"/vnrt/v1 "$gen"/inference "$gen"/onnx; do touch "$d/__init__.py"; done
PYTHONPATH="$gen" exec "$py" "$here/quickstart.py" "$@"

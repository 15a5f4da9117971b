#!/usr/bin/env python3
"""Structural checks of deploy/kubernetes/*.yaml against the daemon's settings.

Parses every manifest (PyYAML) and checks what a typo would silently break: VNRT_* variables and
config-file keys the daemon knows (read from DaemonSettings.java), gRPC probes on the daemon's TCP
port, /dev/shm as a memory-backed emptyDir, the Unix socket in a volume both sidecar containers
mount, memory limits covering HBM + host memory + the JVM, a headless Service selecting the
DaemonSet, and secrets readable by the non-root user. Exits 1 listing every problem.
"""
import pathlib
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("validate-manifests.py needs PyYAML (apt-get install python3-yaml or pip install pyyaml)")

ROOT = pathlib.Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "runtime-daemon/src/main/java/io/vnrt/runtime/cli/DaemonSettings.java"
KEYS = set(re.findall(r'new Setting\("([a-z-]+)"', SETTINGS.read_text()))
ENVS = {"VNRT_" + k.upper().replace("-", "_") for k in KEYS} | {"VNRT_CONFIG"}
UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
JVM_OVERHEAD = 256 << 20
problems = []


def size(text):
    m = re.fullmatch(r"(\d+)([KMG]iB?)?", str(text))
    if not m:
        problems.append(f"cannot read size {text!r}")
        return 0
    return int(m.group(1)) * UNITS.get(m.group(2), 1)


def check_pod(where, spec, config_maps):
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    security = spec.get("securityContext", {})
    for name, v in volumes.items():
        if "secret" in v and security.get("runAsUser", 0) != 0 and "fsGroup" not in security:
            problems.append(f"{where}: secret volume {name} is root-owned but the pod runs as "
                            f"{security['runAsUser']} without fsGroup")
    shm = [n for n, v in volumes.items() if v.get("emptyDir", {}).get("medium") == "Memory"]
    daemons = [c for c in spec["containers"] if "daemon" in c.get("args", [])]
    if not daemons:
        problems.append(f"{where}: no container runs `vnrt daemon`")
    for c in daemons:
        env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
        settings = {}
        for arg_i, arg in enumerate(c.get("args", [])):
            if arg == "--config":
                path = pathlib.PurePosixPath(c["args"][arg_i + 1])
                mount = next((m for m in c.get("volumeMounts", [])
                              if path.parent == pathlib.PurePosixPath(m["mountPath"])), None)
                cm = volumes.get(mount["name"], {}).get("configMap", {}).get("name") if mount else None
                if cm not in config_maps or path.name not in config_maps[cm]:
                    problems.append(f"{where}: --config {path} is not a mounted ConfigMap key")
                    continue
                for n, line in enumerate(config_maps[cm][path.name].splitlines(), 1):
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    key, _, value = line.partition("=")
                    if key.strip() not in KEYS:
                        problems.append(f"{where}: config key {key.strip()!r} (line {n}) is not a daemon setting")
                    settings[key.strip()] = value.strip()
        for name, value in env.items():
            if name.startswith("VNRT_"):
                if name not in ENVS:
                    problems.append(f"{where}: {name} is not a daemon setting (known: {sorted(ENVS)})")
                settings[name[5:].lower().replace("_", "-")] = value
        listen = settings.get("listen", "127.0.0.1:50051")
        host, _, port = listen.rpartition(":")
        ports = {p["containerPort"] for p in c.get("ports", [])}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            grpc = c.get(probe, {}).get("grpc")
            if grpc is None:
                problems.append(f"{where}: {c['name']} has no gRPC {probe}")
            elif str(grpc["port"]) != port or grpc["port"] not in ports or host in ("127.0.0.1", "localhost"):
                problems.append(f"{where}: {probe} on port {grpc['port']} but the daemon listens on {listen}")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        if mounts.get("/dev/shm") not in shm:
            problems.append(f"{where}: /dev/shm is not a memory-backed emptyDir in {c['name']}")
        hbm = size(settings.get("hbm", "0")) * int(settings.get("devices", "1"))
        host_memory = size(settings.get("host-memory", "4GiB"))
        xmx = re.search(r"-Xmx(\d+[kmg])", " ".join(env.values()))
        heap = size(xmx.group(1)[:-1] + {"k": "Ki", "m": "Mi", "g": "Gi"}[xmx.group(1)[-1]]) if xmx else 0
        if not xmx:
            problems.append(f"{where}: set -Xmx in JAVA_TOOL_OPTIONS so the memory limit can be checked")
        limit = size(c.get("resources", {}).get("limits", {}).get("memory", "0"))
        need = hbm + host_memory + heap + JVM_OVERHEAD
        if limit < need:
            problems.append(f"{where}: memory limit {limit >> 20} MiB < HBM {hbm >> 20} + host {host_memory >> 20}"
                            f" + heap {heap >> 20} + {JVM_OVERHEAD >> 20} MiB")
        if settings.get("hbm-backing", "anonymous").startswith("/dev/shm"):
            shm_limit = size(volumes[mounts["/dev/shm"]]["emptyDir"].get("sizeLimit", "0"))
            if shm_limit < hbm:
                problems.append(f"{where}: /dev/shm sizeLimit {shm_limit >> 20} MiB < HBM {hbm >> 20} MiB")
        if "uds" in settings:
            sock_dir = str(pathlib.PurePosixPath(settings["uds"]).parent)
            vol = mounts.get(sock_dir)
            sharing = [o["name"] for o in spec["containers"]
                       if any(m["name"] == vol and m["mountPath"] == sock_dir for m in o.get("volumeMounts", []))]
            if vol is None or len(sharing) < 2:
                problems.append(f"{where}: the socket directory {sock_dir} is not a volume shared with the app")
            others = [o for o in spec["containers"] if o is not c]
            if any(mounts.get("/dev/shm") != {m["mountPath"]: m["name"] for m in o.get("volumeMounts", [])}
                   .get("/dev/shm") for o in others):
                problems.append(f"{where}: the app does not share the daemon's /dev/shm")


def main():
    docs = []
    for path in sorted((ROOT / "deploy/kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is None:
                continue
            for field in ("apiVersion", "kind", "metadata"):
                if field not in doc:
                    problems.append(f"{path.name}: a document has no {field}")
            docs.append((path.name, doc))
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for _, d in docs if d.get("kind") == "ConfigMap"}
    daemonsets = {}
    for name, d in docs:
        where = f"{name} {d['kind']}/{d['metadata']['name']}"
        if d["kind"] == "Pod":
            check_pod(where, d["spec"], config_maps)
        elif d["kind"] == "DaemonSet":
            spec = d["spec"]
            if spec["selector"]["matchLabels"].items() - spec["template"]["metadata"]["labels"].items():
                problems.append(f"{where}: selector does not match the template's labels")
            check_pod(where, spec["template"]["spec"], config_maps)
            daemonsets[d["metadata"]["name"]] = d
    services = [(n, d) for n, d in docs if d["kind"] == "Service"]
    for name, svc in services:
        where = f"{name} Service/{svc['metadata']['name']}"
        if svc["spec"].get("clusterIP") != "None":
            problems.append(f"{where}: not headless (clusterIP: None), so DNS would not list every daemon")
        selected = [ds for ds in daemonsets.values()
                    if not svc["spec"]["selector"].items() - ds["spec"]["template"]["metadata"]["labels"].items()]
        if not selected:
            problems.append(f"{where}: selects no DaemonSet")
    if daemonsets and not services:
        problems.append("a DaemonSet without a headless Service")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{len(docs)} manifests OK: {', '.join(sorted({d['kind'] for _, d in docs}))}")


main()

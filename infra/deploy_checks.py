#!/usr/bin/env python3
"""Consistency checks of the deployment files that no schema sees; run by infra/validate-deploy.

Schemas say a file is well-formed. These checks say the files agree with each other and with the
code: binaries exist in the workspace, env var names are ones the services read, ports and
database names match, the services reach Postgres/Redis/Kafka through the toxiproxy proxies that
exist, Kafka advertises the proxy, copies of files in ConfigMaps did not drift, every Kubernetes
reference resolves, and the scripts the containers run do what they should (run here against
stubs and a local HTTP server).

Usage: deploy_checks.py REPO_ROOT   (needs PyYAML). Prints failures and counts per section (every
check with VERBOSE=1); exits 1 on any failure.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import tomllib
from pathlib import Path

import yaml

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()

# The seven services: port and database (ARCHITECTURE.md sections 1 and 4).
SERVICES = {
    "gateway": (3000, None),
    "user-service": (3001, "ticketflow_users"),
    "event-service": (3002, "ticketflow_events"),
    "booking-service": (3003, "ticketflow_bookings"),
    "inventory-service": (3004, "ticketflow_inventory"),
    "payment-service": (3005, "ticketflow_payments"),
    "notification-service": (3006, "ticketflow_notifications"),
}
# Read by a library rather than spelled out in our code.
ENV_READ_ELSEWHERE = {"RUST_LOG"}
# Kubernetes-only helpers that exist to be expanded into another variable ($(POSTGRES_PASSWORD)).
K8S_ENV_HELPERS = {"POSTGRES_PASSWORD"}
# The keys of the Secret `stampede-secrets` the operator creates before applying the manifests.
OPERATOR_SECRET_KEYS = ("JWT_SECRET", "INTERNAL_SECRET", "POSTGRES_PASSWORD", "ADMIN_PASSWORD")
# The loadgen command line the deployment files use (the lead keeps loadgen's CLI to it).
LOADGEN_FLAGS = ["--host", "--rate", "--duration", "--seed", "--users-slice", "--out"]
PREPARE_FLAGS = ["--host", "--seats", "--users", "--out"]
PROXY_NAMES = {"postgres", "redis", "kafka"}

failures: list[str] = []
passed = 0


VERBOSE = os.environ.get("VERBOSE") == "1"
section_counts = [0, 0]


def section(title: str) -> None:
    end_section()
    print(title)


def end_section() -> None:
    if section_counts[0] or section_counts[1]:
        print(f"  {section_counts[0]} ok, {section_counts[1]} failed")
    section_counts[:] = [0, 0]


def check(name: str, ok: bool, detail: str = "") -> None:
    """Records one check; prints failures always and passes only with VERBOSE=1."""
    global passed
    if ok:
        passed += 1
        section_counts[0] += 1
        if VERBOSE:
            print(f"  ok    {name}")
    else:
        section_counts[1] += 1
        failures.append(f"{name}: {detail}")
        print(f"  FAIL  {name}: {detail}")


def interpolate(value):
    """Compose interpolation with every variable unset: ${X:-d} -> d, ${X} and ${X:?msg} -> ''."""
    if isinstance(value, str):
        value = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)
        value = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}", "", value)
        value = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", "", value)
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    return value


def env_dict(env) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def host_port(url: str) -> str:
    """host:port of a URL or of a bare host:port."""
    m = re.match(r"^(?:[a-z]+://)?(?:[^@/]*@)?([^/?]+)", url)
    return m.group(1) if m else url


# ------------------------------------------------------------------ inputs

def workspace_binaries() -> set[str]:
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    bins: set[str] = set()
    for member in manifest.get("workspace", {}).get("members", []):
        path = ROOT / member / "Cargo.toml"
        if not path.exists():
            continue
        pkg = tomllib.loads(path.read_text())
        explicit = [b["name"] for b in pkg.get("bin", []) if "name" in b]
        bins.update(explicit)
        if (ROOT / member / "src" / "main.rs").exists() and pkg.get("package", {}).get("autobins", True):
            bins.add(pkg["package"]["name"])
    return bins


def rust_string_literals() -> str:
    texts = []
    for sub in ("services", "chaos", "loadgen"):
        for path in (ROOT / sub).rglob("*.rs"):
            if "target" not in path.parts:
                texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def load_k8s() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted((ROOT / "infra" / "k8s").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((str(path.relative_to(ROOT)), doc))
    return docs


def pod_spec(obj: dict) -> dict | None:
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("spec")
    if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"):
        return obj.get("spec", {}).get("template", {}).get("spec")
    return None


def pod_labels(obj: dict) -> dict:
    if obj.get("kind") == "Pod":
        return obj.get("metadata", {}).get("labels", {}) or {}
    return obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}


# ------------------------------------------------------------------ checks

def check_compose(compose: dict, binaries: set[str], literals: str, proxies: dict) -> None:
    section("docker-compose.yml")
    services = compose.get("services", {})
    for name, (port, db) in SERVICES.items():
        svc = services.get(name)
        check(f"compose: service {name} defined", svc is not None, "missing")
        if svc is None:
            continue
        raw_env = env_dict(svc.get("environment"))
        svc = interpolate(svc)
        env = env_dict(svc.get("environment"))
        check(f"compose: {name} PORT={port}", env.get("PORT") == str(port), f"PORT={env.get('PORT')!r}")
        check(f"compose: {name} HOST=0.0.0.0", env.get("HOST") == "0.0.0.0", f"HOST={env.get('HOST')!r}")
        test = svc.get("healthcheck", {}).get("test", [])
        check(f"compose: {name} health check is `healthcheck {port}`",
              test == ["CMD", "healthcheck", str(port)], f"test={test!r}")
        bin_arg = (svc.get("build") or {}).get("args", {}).get("BIN")
        check(f"compose: {name} builds BIN={name}", bin_arg == name, f"BIN={bin_arg!r}")
        unknown = sorted(k for k in env if k not in ENV_READ_ELSEWHERE and f'"{k}"' not in literals)
        check(f"compose: {name} sets only variables the code reads", not unknown, f"unknown: {unknown}")
        for key in ("JWT_SECRET", "INTERNAL_SECRET", "ADMIN_PASSWORD"):
            if key in raw_env:
                check(f"compose: {name} requires {key} from the environment (no default)",
                      str(raw_env[key]).startswith("${" + key + ":?"), repr(raw_env[key]))
        if db:
            url = env.get("DATABASE_URL", "")
            check(f"compose: {name} DATABASE_URL names {db}", url.rsplit("/", 1)[-1] == db, url)
            check(f"compose: {name} reaches Postgres through toxiproxy",
                  host_port(url) == f"toxiproxy:{proxies['postgres']}", url)
            check(f"compose: {name} reaches Kafka through toxiproxy",
                  env.get("KAFKA_BROKERS") == f"toxiproxy:{proxies['kafka']}", env.get("KAFKA_BROKERS", ""))
        if "REDIS_URL" in env:
            check(f"compose: {name} reaches Redis through toxiproxy",
                  host_port(env["REDIS_URL"]) == f"toxiproxy:{proxies['redis']}", env["REDIS_URL"])
    gw = interpolate(services.get("gateway", {}))
    gw_env = env_dict(gw.get("environment"))
    for name, (port, _) in SERVICES.items():
        if name == "gateway":
            continue
        var = name.split("-")[0].upper() + "_SERVICE_URL"
        check(f"compose: gateway {var}", gw_env.get(var) == f"http://{name}:{port}", gw_env.get(var, "unset"))
        cond = (gw.get("depends_on") or {}).get(name, {})
        check(f"compose: gateway waits for {name} healthy",
              isinstance(cond, dict) and cond.get("condition") == "service_healthy", repr(cond))
    for name, svc in services.items():
        bin_arg = ((svc.get("build") or {}).get("args") or {}).get("BIN")
        if bin_arg is not None:
            check(f"compose: {name} BIN={bin_arg} is a workspace binary", bin_arg in binaries,
                  f"binaries: {sorted(binaries)}")
        deps = svc.get("depends_on") or {}
        for dep in deps:
            check(f"compose: {name} depends on defined service {dep}", dep in services, "undefined")
    # Kafka: the listener the services use advertises the proxy, and the proxy points at it.
    kafka_env = env_dict(interpolate(services.get("kafka", {})).get("environment"))
    check_kafka_listeners("compose", kafka_env, proxies)
    # Topic init and proxy config mount the files the checks below compare.
    mounts = " ".join(str(v) for v in services.get("kafka-topics", {}).get("volumes", []))
    check("compose: kafka-topics mounts infra/kafka-topics.txt and create-topics.sh",
          "./infra/kafka-topics.txt:" in mounts and "./infra/docker/create-topics.sh:" in mounts, mounts)
    tmounts = " ".join(str(v) for v in services.get("toxiproxy", {}).get("volumes", []))
    check("compose: toxiproxy loads infra/docker/toxiproxy.json",
          "./infra/docker/toxiproxy.json:" in tmounts, tmounts)
    for host in {p["upstream"].split(":")[0] for p in proxies["_raw"]}:
        check(f"compose: proxy upstream host {host} is a service", host in services, "undefined")
    # loadgen: the agreed command line.
    cmd = interpolate(services.get("loadgen", {}).get("command", []))
    flags = [c for c in cmd if isinstance(c, str) and c.startswith("--")]
    check("compose: loadgen runs `loadgen run` with the agreed flags",
          cmd[:1] == ["run"] and flags == LOADGEN_FLAGS, f"{cmd}")
    for name in ("loadgen", "seed", "chaos"):
        check(f"compose: {name} is under a profile", bool(services.get(name, {}).get("profiles")), "no profile")


def check_kafka_listeners(where: str, env: dict, proxies: dict) -> None:
    listeners = dict(
        (item.split("://")[0], item.split("://")[1]) for item in env.get("KAFKA_LISTENERS", "").split(",") if "://" in item
    )
    advertised = dict(
        (item.split("://")[0], item.split("://")[1])
        for item in env.get("KAFKA_ADVERTISED_LISTENERS", "").split(",")
        if "://" in item
    )
    kafka_proxy = next(p for p in proxies["_raw"] if p["name"] == "kafka")
    upstream_port = kafka_proxy["upstream"].split(":")[1]
    proxied = [n for n, a in advertised.items() if a == f"toxiproxy:{proxies['kafka']}"]
    check(f"{where}: a Kafka listener advertises toxiproxy:{proxies['kafka']}", len(proxied) == 1, str(advertised))
    if proxied:
        bound = listeners.get(proxied[0], "")
        check(f"{where}: the kafka proxy's upstream port is that listener's port",
              bound.rsplit(":", 1)[-1] == upstream_port, f"listener {bound!r}, upstream {kafka_proxy['upstream']}")


def check_k8s(docs: list[tuple[str, dict]], binaries: set[str], literals: str, proxies: dict) -> None:
    section("infra/k8s")
    objects: dict[tuple[str, str], dict] = {}
    for path, obj in docs:
        key = (obj.get("kind", ""), obj.get("metadata", {}).get("name", ""))
        check(f"k8s: {key[0]}/{key[1]} ({path}) defined once", key not in objects, "duplicate")
        objects[key] = obj
    namespaces = {n for (k, n) in objects if k == "Namespace"}
    check("k8s: namespace stampede defined", "stampede" in namespaces, str(namespaces))
    for (kind, name), obj in objects.items():
        if kind != "Namespace":
            ns = obj.get("metadata", {}).get("namespace")
            check(f"k8s: {kind}/{name} in namespace stampede", ns == "stampede", repr(ns))

    configmaps = {n: o.get("data", {}) for (k, n), o in objects.items() if k == "ConfigMap"}
    secrets = {n: {**(o.get("stringData") or {}), **(o.get("data") or {})} for (k, n), o in objects.items() if k == "Secret"}
    # The secrets the operator creates (infra/DEPLOY.md): never in the manifests, so nothing
    # published can be applied by accident, and a pod without them does not start.
    check("k8s: the manifests carry no Secret stampede-secrets (the operator creates it)",
          "stampede-secrets" not in secrets, "a Secret with values is in the manifests")
    secrets.setdefault("stampede-secrets", dict.fromkeys(OPERATOR_SECRET_KEYS, ""))
    pvcs = {n for (k, n), _ in objects.items() if k == "PersistentVolumeClaim"}

    workloads = [(k, n, o) for (k, n), o in objects.items() if pod_spec(o) is not None]
    for kind, name, obj in workloads:
        spec = pod_spec(obj)
        where = f"k8s: {kind}/{name}"
        check(f"{where} disables service links", spec.get("enableServiceLinks") is False, "enableServiceLinks not false")
        claims = {v.get("persistentVolumeClaim", {}).get("claimName") for v in spec.get("volumes", [])} - {None}
        templates = {t["metadata"]["name"] for t in obj.get("spec", {}).get("volumeClaimTemplates", [])}
        vol_names = {v["name"] for v in spec.get("volumes", [])} | templates
        for claim in claims:
            check(f"{where} claim {claim} exists", claim in pvcs, "no such PersistentVolumeClaim")
        for vol in spec.get("volumes", []):
            cm = vol.get("configMap", {}).get("name")
            if cm:
                check(f"{where} volume configMap {cm} exists", cm in configmaps, "no such ConfigMap")
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for m in c.get("volumeMounts", []):
                check(f"{where} mount {m['name']} has a volume", m["name"] in vol_names, "no such volume")
            for ef in c.get("envFrom", []):
                if "configMapRef" in ef:
                    ref = ef["configMapRef"]["name"]
                    check(f"{where} envFrom ConfigMap {ref} exists", ref in configmaps, "missing")
                if "secretRef" in ef:
                    ref = ef["secretRef"]["name"]
                    check(f"{where} envFrom Secret {ref} exists", ref in secrets, "missing")
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                if "secretKeyRef" in vf:
                    ref = vf["secretKeyRef"]
                    check(f"{where} env {e['name']} <- Secret {ref['name']}.{ref['key']}",
                          ref["key"] in secrets.get(ref["name"], {}), "missing secret or key")
                if "configMapKeyRef" in vf:
                    ref = vf["configMapKeyRef"]
                    check(f"{where} env {e['name']} <- ConfigMap {ref['name']}.{ref['key']}",
                          ref["key"] in configmaps.get(ref["name"], {}), "missing ConfigMap or key")
            image = c.get("image", "")
            if image.startswith("stampede/"):
                binary = image.split("/", 1)[1].split(":")[0]
                check(f"{where} image {image} is a workspace binary", binary in binaries, f"binaries: {sorted(binaries)}")

    # Services select pods and name ports those pods have.
    for (kind, name), svc in objects.items():
        if kind != "Service":
            continue
        selector = svc.get("spec", {}).get("selector", {})
        matches = [o for k, n, o in workloads if selector and all(pod_labels(o).get(a) == b for a, b in selector.items())]
        check(f"k8s: Service/{name} selects a workload", bool(matches), f"selector {selector}")
        port_names = {p.get("name") for o in matches for c in pod_spec(o).get("containers", []) for p in c.get("ports", [])}
        for p in svc.get("spec", {}).get("ports", []):
            tp = p.get("targetPort")
            if isinstance(tp, str):
                check(f"k8s: Service/{name} targetPort {tp} exists", tp in port_names, f"pod ports {port_names}")

    # The seven services.
    common = configmaps.get("stampede-config", {})
    for name, (port, db) in SERVICES.items():
        dep = objects.get(("Deployment", name))
        check(f"k8s: Deployment/{name} defined", dep is not None, "missing")
        if dep is None:
            continue
        c = pod_spec(dep)["containers"][0]
        env = {e["name"]: e.get("value", "<from secret>") for e in c.get("env", [])}
        merged = {**common, **env} if any("configMapRef" in ef for ef in c.get("envFrom", [])) else env
        check(f"k8s: {name} image stampede/{name}", c.get("image", "").startswith(f"stampede/{name}:"), c.get("image"))
        check(f"k8s: {name} PORT={port}", env.get("PORT") == str(port), repr(env.get("PORT")))
        check(f"k8s: {name} HOST=0.0.0.0", merged.get("HOST") == "0.0.0.0", repr(merged.get("HOST")))
        ports = [p.get("containerPort") for p in c.get("ports", [])]
        check(f"k8s: {name} containerPort {port}", ports == [port], str(ports))
        svc = objects.get(("Service", name), {})
        sports = [p.get("port") for p in svc.get("spec", {}).get("ports", [])]
        check(f"k8s: Service/{name} port {port}", sports == [port], str(sports))
        unknown = sorted(
            k for k in merged if k not in ENV_READ_ELSEWHERE | K8S_ENV_HELPERS and f'"{k}"' not in literals
        )
        check(f"k8s: {name} sets only variables the code reads", not unknown, f"unknown: {unknown}")
        if db:
            url = merged.get("DATABASE_URL", "")
            check(f"k8s: {name} DATABASE_URL names {db}", url.rsplit("/", 1)[-1] == db, url)
            check(f"k8s: {name} reaches Postgres through toxiproxy",
                  host_port(url) == f"toxiproxy:{proxies['postgres']}", url)
            names = [e["name"] for e in c.get("env", [])]
            check(f"k8s: {name} defines POSTGRES_PASSWORD before DATABASE_URL expands it",
                  "POSTGRES_PASSWORD" in names and names.index("POSTGRES_PASSWORD") < names.index("DATABASE_URL"),
                  str(names))
            check(f"k8s: {name} reaches Kafka through toxiproxy",
                  merged.get("KAFKA_BROKERS") == f"toxiproxy:{proxies['kafka']}", repr(merged.get("KAFKA_BROKERS")))
        if "REDIS_URL" in merged:
            check(f"k8s: {name} reaches Redis through toxiproxy",
                  host_port(merged["REDIS_URL"]) == f"toxiproxy:{proxies['redis']}", merged["REDIS_URL"])
    gw = objects.get(("Deployment", "gateway"))
    if gw:
        env = {e["name"]: e.get("value") for e in pod_spec(gw)["containers"][0].get("env", [])}
        for name, (port, _) in SERVICES.items():
            if name != "gateway":
                var = name.split("-")[0].upper() + "_SERVICE_URL"
                check(f"k8s: gateway {var}", env.get(var) == f"http://{name}:{port}", repr(env.get(var)))

    # Kafka, toxiproxy, topics.
    kafka = objects.get(("StatefulSet", "kafka"))
    if kafka:
        env = {e["name"]: e.get("value", "") for e in pod_spec(kafka)["containers"][0].get("env", [])}
        check_kafka_listeners("k8s", env, proxies)
    tox_cm = configmaps.get("toxiproxy-config", {}).get("toxiproxy.json")
    check("k8s: ConfigMap toxiproxy-config equals infra/docker/toxiproxy.json",
          tox_cm is not None and json.loads(tox_cm) == proxies["_raw"], "drifted")
    tox_svc = objects.get(("Service", "toxiproxy"), {})
    tox_ports = {p.get("port") for p in tox_svc.get("spec", {}).get("ports", [])}
    for pname in PROXY_NAMES:
        check(f"k8s: Service/toxiproxy exposes the {pname} proxy port {proxies[pname]}",
              int(proxies[pname]) in tox_ports, str(sorted(tox_ports)))
    services = {n for (k, n) in objects if k == "Service"}
    for host in {p["upstream"].split(":")[0] for p in proxies["_raw"]}:
        check(f"k8s: proxy upstream host {host} is a Service", host in services, "undefined")
    topics_cm = configmaps.get("kafka-topics", {})
    check("k8s: ConfigMap kafka-topics kafka-topics.txt equals infra/kafka-topics.txt",
          topics_cm.get("kafka-topics.txt") == (ROOT / "infra/kafka-topics.txt").read_text(), "drifted")
    check("k8s: ConfigMap kafka-topics create-topics.sh equals infra/docker/create-topics.sh",
          topics_cm.get("create-topics.sh") == (ROOT / "infra/docker/create-topics.sh").read_text(), "drifted")
    init_cm = configmaps.get("postgres-init", {})
    check("k8s: ConfigMap postgres-init creates what infra/docker/postgres-init.sql creates",
          sql_creates("\n".join(init_cm.values())) == sql_creates((ROOT / "infra/docker/postgres-init.sql").read_text())
          == {db for _, db in SERVICES.values() if db}, "drifted")

    job = objects.get(("Job", "loadgen"))
    check("k8s: Job/loadgen defined", job is not None, "missing")
    if job:
        check_loadgen_job(job, objects.get(("Job", "loadgen-prepare")), configmaps)


def sql_creates(sql: str) -> set[str]:
    return set(re.findall(r"CREATE DATABASE\s+\"?([a-z_]+)", sql))


def check_loadgen_job(job: dict, prepare: dict | None, configmaps: dict) -> None:
    """The distributed run: prepare once, then one generator per index, all on the runs volume."""
    spec = job["spec"]

    def container_env(obj: dict) -> dict:
        c = pod_spec(obj)["containers"][0]
        env: dict = {}
        for ef in c.get("envFrom", []):
            if "configMapRef" in ef:
                env.update(configmaps.get(ef["configMapRef"]["name"], {}))
        env.update({e["name"]: e.get("value", "<from secret>") for e in c.get("env", [])})
        return {k: str(v) for k, v in env.items()}

    env = container_env(job)
    check("k8s: loadgen Job is Indexed", spec.get("completionMode") == "Indexed", repr(spec.get("completionMode")))
    n = spec.get("completions")
    check("k8s: loadgen GENERATORS == completions == parallelism",
          str(n) == env.get("GENERATORS") == str(spec.get("parallelism")),
          f"completions={n} parallelism={spec.get('parallelism')} GENERATORS={env.get('GENERATORS')}")
    for obj in (job, prepare):
        if obj is None:
            continue
        script = " ".join(pod_spec(obj)["containers"][0].get("args", []))
        # Kubernetes expands $(NAME) of defined variables in command/args before the shell runs.
        refs = [m for m in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", script) if m in container_env(obj)]
        check(f"k8s: {obj['metadata']['name']} script has no accidental $(VAR) expansion", not refs, str(refs))
    check("k8s: Job/loadgen-prepare defined", prepare is not None, "missing")
    # Run the pods' commands against a stub `loadgen` that records its arguments (and, for
    # prepare, writes the data file the generators need).
    with tempfile.TemporaryDirectory() as tmp:
        stub_dir = Path(tmp, "bin")
        stub_dir.mkdir()
        record = Path(tmp, "calls")
        stub = stub_dir / "loadgen"
        stub.write_text(
            "#!/usr/bin/env bash\n"
            f'printf "%s\\n" "$*" >> {shlex.quote(str(record))}\n'
            'if [ "$1" = prepare ]; then while [ $# -gt 0 ]; do [ "$1" = --out ] && echo "{}" > "$2"; shift; done; fi\n'
        )
        stub.chmod(0o755)
        runs = Path(tmp, "runs")

        def run_pod(obj: dict, index: int | None) -> subprocess.CompletedProcess:
            pc = pod_spec(obj)["containers"][0]
            run_env = {**os.environ, **container_env(obj), "RUNS_DIR": str(runs),
                       "PATH": f"{stub_dir}:{os.environ['PATH']}"}
            if index is not None:
                run_env["JOB_COMPLETION_INDEX"] = str(index)
            return subprocess.run(pc["command"] + pc["args"], env=run_env, capture_output=True, text=True)

        data_path = f"{runs}/{env.get('RUN_ID')}/data.json"
        if prepare is not None:
            result = run_pod(prepare, None)
            check("k8s: loadgen-prepare command runs", result.returncode == 0, result.stderr.strip())
            first = record.read_text().split() if record.exists() else []
            pflags = dict(zip(first[1::2], first[2::2]))
            check("k8s: loadgen-prepare runs `loadgen prepare --host --seats --users --out`",
                  first[:1] == ["prepare"] and list(pflags) == PREPARE_FLAGS, " ".join(first))
            check("k8s: loadgen-prepare writes RUNS_DIR/RUN_ID/data.json", pflags.get("--out") == data_path,
                  str(pflags.get("--out")))
            record.unlink(missing_ok=True)
        for i in range(int(n or 0)):
            result = run_pod(job, i)
            check(f"k8s: loadgen pod {i} command runs", result.returncode == 0, result.stderr.strip())
        calls = [line.split() for line in record.read_text().splitlines()] if record.exists() else []
        check("k8s: loadgen one call per index", len(calls) == int(n or 0), f"{len(calls)} calls")
        parsed = []
        for args in calls:
            flags = dict(zip(args[1::2], args[2::2]))
            parsed.append(flags)
            check("k8s: loadgen call uses `run` and the agreed flags (+ --data)",
                  args[0] == "run" and list(flags) == LOADGEN_FLAGS + ["--data"], " ".join(args))
        if parsed:
            total = sum(int(f["--rate"].removesuffix("/s")) for f in parsed)
            check(f"k8s: loadgen shares add up to TOTAL_RATE {env.get('TOTAL_RATE')}",
                  str(total) == env.get("TOTAL_RATE"), f"sum {total}")
            check("k8s: loadgen seeds are distinct", len({f["--seed"] for f in parsed}) == len(parsed), str(parsed))
            check("k8s: loadgen user slices are 0/N..N-1/N",
                  sorted(f["--users-slice"] for f in parsed) == sorted(f"{i}/{n}" for i in range(int(n))), str(parsed))
            outs = [f["--out"] for f in parsed]
            check("k8s: loadgen outputs are RUNS_DIR/RUN_ID/gen-I",
                  sorted(outs) == sorted(f"{runs}/{env.get('RUN_ID')}/gen-{i}" for i in range(int(n))), str(outs))
            check("k8s: every generator reads the prepared data",
                  all(f.get("--data") == data_path for f in parsed), str([f.get("--data") for f in parsed]))


def check_proxies() -> dict:
    section("infra/docker/toxiproxy.json")
    raw = json.loads((ROOT / "infra/docker/toxiproxy.json").read_text())
    names = {p["name"] for p in raw}
    check("toxiproxy.json: proxies postgres, redis, kafka", names == PROXY_NAMES, str(names))
    out = {p["name"]: p["listen"].rsplit(":", 1)[-1] for p in raw}
    check("toxiproxy.json: every proxy listens on all interfaces",
          all(p["listen"].startswith("0.0.0.0:") for p in raw), str([p["listen"] for p in raw]))
    out["_raw"] = raw
    return out


def check_build_context(binaries: set[str]) -> None:
    """What `docker build .` sends, by docker-py's implementation of the .dockerignore rules."""
    section(".dockerignore (build context, docker-py's matcher)")
    from docker.utils.build import exclude_paths

    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    sent = exclude_paths(str(ROOT), patterns, dockerfile="Dockerfile")
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    needed = ["Cargo.toml", "Cargo.lock", "infra/docker/healthcheck", "infra/kafka-topics.txt"]
    for member in manifest.get("workspace", {}).get("members", []):
        needed.append(f"{member}/Cargo.toml")
        needed += [str(p.relative_to(ROOT)) for p in (ROOT / member).rglob("*")
                   if p.is_file() and "target" not in p.parts]
    missing = sorted({p for p in needed if p not in sent})
    check(f"context holds every workspace file and the health probe ({len(needed)} files)", not missing,
          f"excluded: {missing[:10]}")
    leaked = sorted(p for p in sent if p.startswith(("infra/k8s/", ".git/", "target/", "runs/"))
                    or p == "docker-compose.yml")
    check("context leaves out .git, target, runs, infra/k8s, docker-compose.yml", not leaked, str(leaked[:10]))


def check_scripts() -> None:
    section("container scripts (run here against a local HTTP server and stubs)")
    # healthcheck: 200 -> 0, 503 -> 1, closed port -> 1.
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/health" else 503)
            self.send_header("Content-Length", "2")
            self.end_headers()
            try:
                self.wfile.write(b"{}")
            except OSError:
                pass  # the probe hangs up after the status line

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    probe = str(ROOT / "infra/docker/healthcheck")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    def run(*args):
        return subprocess.run([probe, *args], capture_output=True, text=True, timeout=20).returncode

    check("healthcheck: 200 on /health -> exit 0", run(str(port)) == 0, "nonzero")
    check("healthcheck: 503 -> exit 1", run(str(port), "/unhealthy") == 1, "not 1")
    check("healthcheck: nothing listening -> exit 1", run(str(closed)) != 0, "exit 0")
    server.shutdown()

    # create-topics.sh: every listed topic and its .DLT, 3 partitions.
    expected = [
        line.strip() for line in (ROOT / "infra/kafka-topics.txt").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp, "topics")
        log = Path(tmp, "log")
        stub = Path(tmp, "kafka-topics.sh")
        stub.write_text(
            "#!/usr/bin/env bash\n"
            f'state={shlex.quote(str(state))}; log={shlex.quote(str(log))}\n'
            'echo "$*" >> "$log"\n'
            'case " $* " in\n'
            '  *" --list "*) cat "$state" 2>/dev/null; exit 0;;\n'
            '  *" --create "*) t=$(sed -E "s/.*--topic ([^ ]+).*/\\1/" <<<"$*");'
            ' flock "$state.lock" bash -c "echo $t >> $state";;\n'
            "esac\n"
        )
        stub.chmod(0o755)
        result = subprocess.run(
            ["bash", str(ROOT / "infra/docker/create-topics.sh")],
            env={**os.environ, "KAFKA_TOPICS_BIN": str(stub), "TOPICS_FILE": str(ROOT / "infra/kafka-topics.txt"),
                 "BOOTSTRAP": "kafka:9092", "WAIT_SECONDS": "5"},
            capture_output=True, text=True, timeout=60,
        )
        check("create-topics.sh: exits 0", result.returncode == 0, result.stdout + result.stderr)
        created = set(state.read_text().split()) if state.exists() else set()
        want = set(expected) | {t + ".DLT" for t in expected}
        check(f"create-topics.sh: creates the {len(want)} topics (+ .DLT)", created == want,
              f"missing {sorted(want - created)}, extra {sorted(created - want)}")
        creates = [line for line in log.read_text().splitlines() if "--create" in line] if log.exists() else []
        check("create-topics.sh: 3 partitions, replication 1, --if-not-exists",
              bool(creates) and all("--partitions 3" in c and "--replication-factor 1" in c and "--if-not-exists" in c
                                    for c in creates), creates[:1])


def main() -> int:
    binaries = workspace_binaries()
    literals = rust_string_literals()
    proxies = check_proxies()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    check_compose(compose, binaries, literals, proxies)
    check_k8s(load_k8s(), binaries, literals, proxies)
    check_build_context(binaries)
    check_scripts()
    end_section()
    print(f"deploy checks: {passed} ok, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Offline checks of the deployment files (Docker cannot run containers on
the machines this project is built on, and there is no cluster):

- deploy/Dockerfile, once per service (build argument SERVICE), and
  nginx/Dockerfile: Debian 12 bases, multi-stage, COPY sources exist; the build
  stage is replayed in a scratch copy of exactly what it COPYs (same Makefile,
  same Debian 12 -dev packages); its runtime packages cover every shared
  library the binary links (and the libuv plugin of libwebsockets); the
  entrypoint runs $SERVICE;
- the nginx image's entrypoint renders nginx.conf.in into a config `nginx -t`
  accepts;
- deploy/compose.yaml with Debian's `docker-compose config`;
- deploy/k8s with `kubectl kustomize` (Debian 12's kubectl 1.20, unpacked by
  scripts/deps.sh into var/tools/ so that every machine runs the same one),
  structural checks (probes, resources, selectors, references), and the API's
  JSON schemas (npm kubernetes-models, installed by scripts/deps.sh).

Not done here: building or running the images, `kubectl apply` (even with
--dry-run=client it needs an API server), `docker stack deploy`."""
import functools
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
SERVICES = ["rider-svc", "driver-svc", "rating-svc", "comm-svc", "matcher"]
STATELESS = ["rider-svc", "driver-svc", "rating-svc", "comm-svc"]
# the C services' one Dockerfile, built with --build-arg SERVICE=<name>
SERVICE_DOCKERFILE = "deploy/Dockerfile"


def dockerfile_of(svc):
    return os.path.join(ROOT, "nginx/Dockerfile" if svc == "nginx" else SERVICE_DOCKERFILE)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def dockerfile(path, build_args=None):
    """(stages, instructions): stages as [(base, name)], instructions as
    [(stage index, KEYWORD, argument)] with continuation lines joined.
    $NAME / ${NAME} of build_args are substituted as Docker does: only in a
    stage that declared `ARG NAME` (an ARG before the first FROM serves only
    the FROM lines); elsewhere they stay as written."""
    build_args = build_args or {}
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)
    stages, instr, declared, global_args = [], [], set(), None

    def subst(arg, names):
        return re.sub(r"\$\{?(\w+)\}?", lambda m: build_args[m.group(1)]
                      if m.group(1) in names and m.group(1) in build_args else m.group(0), arg)

    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kw, _, arg = line.partition(" ")
        kw = kw.upper()
        if kw == "FROM":
            if global_args is None:
                global_args = declared
            parts = subst(arg, global_args).split()
            stages.append((parts[0], parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None))
            declared = set()
        if kw == "ARG":
            declared.add(arg.split("=")[0].strip())
        elif kw not in ("FROM", "RUN", "ENV"):
            # RUN gets the declared ARGs as environment variables (replayed
            # so below); ENV is left as written
            arg = subst(arg, declared)
        instr.append((len(stages) - 1, kw, arg.strip()))
    return stages, instr


def apt_packages(arg):
    m = re.search(r"apt-get install ([^&]*)", arg)
    return [w for w in m.group(1).split() if not w.startswith("-")] if m else []


# ---------------------------------------------------------------- Dockerfiles

@pytest.mark.parametrize("svc", SERVICES + ["nginx"])
def test_dockerfile_shape(svc):
    stages, instr = dockerfile(dockerfile_of(svc), {"SERVICE": svc})
    assert stages, "no FROM"
    for base, _ in stages:
        assert re.match(r"debian:(12|bookworm)(-slim)?$", base), f"{base}: not a Debian 12 base"
    if svc != "nginx":
        assert len(stages) == 2 and stages[0][1] == "build", "multi-stage: build, then runtime"
        last = [a for s, k, a in instr if s == 1]
        assert any(a.startswith("--from=build") for s, k, a in instr if s == 1 and k == "COPY")
        # no compiler or -dev package in the runtime stage
        pkgs = [p for s, k, a in instr if s == 1 and k == "RUN" for p in apt_packages(a)]
        assert not [p for p in pkgs if p.endswith("-dev") or p in ("build-essential", "gcc", "clang")], pkgs
        assert last
    for s, k, a in instr:
        if k == "COPY" and not a.startswith("--from"):
            for src in a.split()[:-1]:
                assert os.path.exists(os.path.join(ROOT, src)), f"COPY {src}: not in the repository"
        if k == "ENTRYPOINT":
            json.loads(a)  # exec form
    assert any(k == "HEALTHCHECK" for _, k, _ in instr)


@functools.lru_cache(maxsize=None)
def _closure(pkgs):
    return frozenset(_required_closure(list(pkgs)))


def required_closure(pkgs):
    return _closure(tuple(sorted(pkgs)))


def _required_closure(pkgs):
    """The packages that apt installs for pkgs, plus those every Debian image has."""
    out = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
               "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *pkgs])
    assert out.returncode == 0, out.stderr
    have = set()
    for line in out.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        name = line.split(":", 1)[1].strip() if ":" in line and line.split(":")[0].endswith("Depends") else line
        have.add(name.strip("<>").split(":")[0])
    # essential/required packages are in debian:12-slim
    q = run(["dpkg-query", "-W", "-f", "${Package} ${Priority} ${Essential}\n"])
    for line in q.stdout.splitlines():
        p = line.split()
        if len(p) >= 2 and (p[1] == "required" or (len(p) > 2 and p[2] == "yes")):
            have.add(p[0])
    return have


def lib_packages(paths):
    """{path: Debian package owning it or None}, in one dpkg -S (usrmerge:
    a library may be registered under /lib or /usr/lib)."""
    cands = {}
    for p in paths:
        r = os.path.realpath(p)
        cands[p] = [p, r, p.replace("/usr/lib/", "/lib/"), r.replace("/usr/lib/", "/lib/")]
    out = run(["dpkg", "-S", *sorted({c for cs in cands.values() for c in cs})]).stdout
    owner = {}
    for line in out.splitlines():
        pkg, _, f = line.partition(": ")
        owner[f.strip()] = pkg.split(":")[0].split(",")[0].strip()
    return {p: next((owner[c] for c in cs if c in owner), None) for p, cs in cands.items()}


@pytest.mark.parametrize("svc", SERVICES)
def test_dockerfile_build_stage_builds_and_runtime_has_its_libraries(svc, tmp_path):
    stages, instr = dockerfile(dockerfile_of(svc), {"SERVICE": svc})
    # replay the build stage: only what it COPYs, the RUN make line
    src = tmp_path / "src"
    src.mkdir()
    make_line = None
    for s, k, a in instr:
        if s != 0:
            continue
        if k == "COPY":
            parts = a.split()
            for p in parts[:-1]:
                dst = src / (parts[-1] if parts[-1] not in ("./", ".") else p)
                if os.path.isdir(os.path.join(ROOT, p)):
                    shutil.copytree(os.path.join(ROOT, p), dst, ignore=shutil.ignore_patterns("Dockerfile"))
                else:
                    shutil.copy(os.path.join(ROOT, p), src / os.path.basename(p))
        if k == "RUN" and a.startswith("make "):
            make_line = a
    assert make_line, "no RUN make in the build stage"
    # a RUN sees the stage's ARGs in its environment
    args = {"SERVICE": svc} if (0, "ARG", "SERVICE") in instr else {}
    out = run(["bash", "-c", make_line], cwd=src, env=dict(os.environ, MAKEFLAGS="-j2", **args))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    binary = src / "build" / "bin" / svc
    assert binary.exists()
    # the runtime stage's packages cover the binary's shared libraries
    runtime = [p for s, k, a in instr if s == 1 and k == "RUN" for p in apt_packages(a)]
    assert "libwebsockets-evlib-uv" in runtime, "libwebsockets loads its libuv plugin at run time"
    have = required_closure(runtime)
    ldd = run(["ldd", str(binary)]).stdout
    libs = [m.group(1) for m in re.finditer(r"=> (/\S+)", ldd)]
    assert libs
    missing = [(p, pkg) for p, pkg in lib_packages(libs).items() if pkg is None or pkg not in have]
    assert not missing, f"runtime stage lacks: {missing}"


def test_service_entrypoint_runs_the_service_with_its_arguments(tmp_path):
    """deploy/docker-entrypoint.sh execs /usr/local/bin/$SERVICE (here a
    stand-in in SERVICE_BIN_DIR) with the image's and the container's
    arguments, and hands a PG_PASSWORD_FILE to libpq as PGPASSWORD."""
    script = os.path.join(ROOT, "deploy", "docker-entrypoint.sh")
    assert os.access(script, os.X_OK)
    fake = tmp_path / "rating-svc"
    fake.write_text('#!/bin/sh\necho "$0|$*|${PGPASSWORD:-none}"\n')
    fake.chmod(0o755)
    secret = tmp_path / "pw"
    secret.write_text("s3cret")
    env = dict(os.environ, SERVICE="rating-svc", SERVICE_BIN_DIR=str(tmp_path), PG_PASSWORD_FILE=str(secret))
    env.pop("PGPASSWORD", None)
    out = run(["sh", script, "--port", "8080", "--batch-max", "1"], env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{fake}|--port 8080 --batch-max 1|s3cret"
    del env["PG_PASSWORD_FILE"]
    assert run(["sh", script], env=env).stdout.strip() == f"{fake}||none"
    del env["SERVICE"]
    out = run(["sh", script], env=env)
    assert out.returncode != 0 and "SERVICE" in out.stderr
    # the image runs it as its entrypoint, with SERVICE from the build argument
    _, instr = dockerfile(os.path.join(ROOT, SERVICE_DOCKERFILE), {"SERVICE": "matcher"})
    assert ("/usr/local/bin/docker-entrypoint.sh" in json.loads([a for _, k, a in instr if k == "ENTRYPOINT"][-1])[0])
    assert any(k == "ENV" and "SERVICE=${SERVICE}" in a for s, k, a in instr if s == 1)
    assert any(k == "ARG" and a == "SERVICE" for s, k, a in instr if s == 1)


def test_nginx_entrypoint_renders_a_config_nginx_accepts(tmp_path):
    env = dict(os.environ, NGINX_RENDER_ONLY="1", NGINX_TEMPLATE=os.path.join(ROOT, "nginx", "nginx.conf.in"),
               NGINX_VAR=str(tmp_path), DASHBOARD_DIR=os.path.join(ROOT, "dashboard"),
               RIDER_UPSTREAM="127.0.0.1:1 127.0.0.1:2", DRIVER_UPSTREAM="127.0.0.1:3",
               RATING_UPSTREAM="127.0.0.1:4", COMM_UPSTREAM="127.0.0.1:5")
    out = run(["sh", os.path.join(ROOT, "nginx", "docker-entrypoint.sh")], env=env)
    assert out.returncode == 0, out.stderr
    conf = out.stdout.strip()
    text = open(conf).read()
    assert "@" not in re.sub(r"#.*", "", text), "unfilled placeholder"
    assert "server 127.0.0.1:1 max_fails=0; server 127.0.0.1:2 max_fails=0;" in text
    t = run(["nginx", "-t", "-q", "-p", os.path.dirname(conf), "-c", conf])
    assert t.returncode == 0, t.stderr


# ---------------------------------------------------------------- compose

def test_compose_config_is_valid():
    dc = shutil.which("docker-compose")
    assert dc, "docker-compose (Debian package) not installed: scripts/deps.sh installs it"
    out = run([dc, "-f", os.path.join(ROOT, "deploy", "compose.yaml"), "config"], cwd=os.path.join(ROOT, "deploy"))
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    svcs = cfg["services"]
    for s in SERVICES + ["nginx", "redis", "postgres"]:
        assert s in svcs, s
    for s in SERVICES:
        assert svcs[s]["build"]["dockerfile"] == SERVICE_DOCKERFILE
        assert svcs[s]["build"]["args"] == {"SERVICE": s}
    assert svcs["nginx"]["build"]["dockerfile"] == "nginx/Dockerfile"
    for s in SERVICES + ["nginx"]:
        assert svcs[s]["image"] == f"ridematch/{s}:latest"
    for s in STATELESS:
        assert svcs[s]["deploy"]["replicas"] >= 2
    assert svcs["matcher"]["deploy"]["replicas"] == 2
    assert "pg_password" in cfg["secrets"]


# ---------------------------------------------------------------- Kubernetes

KUBECTL = os.path.join(ROOT, "var", "tools", "kubernetes-client", "usr", "bin", "kubectl")


@pytest.fixture(scope="module")
def k8s():
    assert os.access(KUBECTL, os.X_OK), f"{KUBECTL} missing: scripts/deps.sh (make deps) unpacks it"
    out = run([KUBECTL, "kustomize", os.path.join(ROOT, "deploy", "k8s")])
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def find(docs, kind, name):
    m = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert m, f"no {kind}/{name}"
    return m[0]


def test_k8s_objects_and_namespace(k8s):
    kinds = {(d["kind"], d["metadata"]["name"]) for d in k8s}
    for s in STATELESS:
        assert ("Deployment", s) in kinds and ("Service", s) in kinds and ("HorizontalPodAutoscaler", s) in kinds
    for s in ("redis", "postgres"):
        assert ("StatefulSet", s) in kinds and ("Service", s) in kinds
    assert ("Deployment", "nginx") in kinds and ("ConfigMap", "nginx-config") in kinds
    assert ("ConfigMap", "ridematch-config") in kinds and ("Secret", "ridematch-secrets") in kinds
    assert all(d["metadata"].get("namespace") == "ridematch" for d in k8s if d["kind"] != "Namespace")


def test_k8s_deployments_probes_resources(k8s):
    for s in STATELESS + ["matcher", "nginx"]:
        d = find(k8s, "Deployment", s)
        c = d["spec"]["template"]["spec"]["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            assert c[probe]["httpGet"]["path"] == "/healthz", (s, probe)
        assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
        assert d["spec"]["selector"]["matchLabels"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
    assert find(k8s, "Deployment", "matcher")["spec"]["replicas"] == 2


def test_k8s_references_resolve(k8s):
    names = {(d["kind"], d["metadata"]["name"]) for d in k8s}
    pods = [d for d in k8s if d["kind"] in ("Deployment", "StatefulSet")]
    for d in pods:
        spec = d["spec"]["template"]["spec"]
        for c in spec["containers"]:
            for ef in c.get("envFrom", []):
                if "configMapRef" in ef:
                    assert ("ConfigMap", ef["configMapRef"]["name"]) in names
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    sec = find(k8s, "Secret", ref["name"])
                    assert ref["key"] in {**sec.get("data", {}), **sec.get("stringData", {})}
            port_names = {p.get("name") for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str):
                    assert port in port_names
        for v in spec.get("volumes", []):
            if "configMap" in v:
                assert ("ConfigMap", v["configMap"]["name"]) in names
    # every Service selects some pods
    for svc in (d for d in k8s if d["kind"] == "Service"):
        sel = svc["spec"]["selector"].items()
        assert any(sel <= p["spec"]["template"]["metadata"]["labels"].items() for p in pods), svc["metadata"]["name"]
    for h in (d for d in k8s if d["kind"] == "HorizontalPodAutoscaler"):
        assert ("Deployment", h["spec"]["scaleTargetRef"]["name"]) in names
    # the services find Redis and Postgres by the Services' names
    cfg = find(k8s, "ConfigMap", "ridematch-config")["data"]
    assert cfg["REDIS_ADDR"].split(":")[0] in {n for k, n in names if k == "Service"}
    assert "host=postgres" in cfg["PG_CONNINFO"] and ("Service", "postgres") in names


def test_k8s_migrations_match_the_repository(k8s):
    repo = sorted(f for f in os.listdir(os.path.join(ROOT, "migrations")) if f.endswith(".sql"))
    cm = find(k8s, "ConfigMap", "ridematch-migrations")["data"]
    assert sorted(cm) == repo, "deploy/k8s/kustomization.yaml must list every migration"
    for f in repo:
        assert cm[f] == open(os.path.join(ROOT, "migrations", f)).read(), f"deploy/k8s/migrations/{f} differs"


def test_k8s_schemas(k8s):
    node = shutil.which("node")
    assert node, "node missing: scripts/deps.sh (make deps) installs it"
    assert os.path.isdir(os.path.join(HERE, "node_modules", "kubernetes-models")), \
        "tests/deploy/node_modules missing: scripts/deps.sh (make deps) runs npm ci there"
    out = run([node, os.path.join(HERE, "k8s_schema.mjs")], input=json.dumps(k8s), cwd=HERE)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("ok ") == len(k8s)

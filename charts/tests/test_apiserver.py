#!/usr/bin/env python3
"""The chart against a real Kubernetes API server (tools/kube-api: kube-apiserver with an embedded etcd, built by
scripts/install-kube-api). There is no kubelet or controller-manager, so nothing runs; what is checked is what
the API server decides:

  - `helm install` of each values set is accepted object by object (schemas, CEL rules of the CRDs, RBAC
    escalation checks on the operator's roles);
  - `helm upgrade` with changed values replaces the migration Job and updates the settings;
  - `helm uninstall` leaves nothing of the release behind but the CRDs it is told to keep;
  - the operator's ServiceAccount may do exactly what operator/rbac.yaml grants (SubjectAccessReview), in
    the namespace it watches, and nothing else.

    python3 charts/tests/test_apiserver.py [-v]        (KUBE_API=path, else scripts/install-kube-api builds it)

Needs helm and kubectl on PATH (../shared/tools/install-k8s-tools), openssl, and `go` for the upstream
Gateway API and Prometheus Operator CRDs (or THIRD_PARTY_CRDS=DIR).
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE_CHART = os.path.join(REPO, "charts", "bazaar")
CHART = SOURCE_CHART  # replaced in setUpClass by a copy the test server's version satisfies
GATEWAY_API = "sigs.k8s.io/gateway-api@v1.4.0"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"


def run(cmd, check=True, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}{result.stdout[-2000:]}")
    return result


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upstream_crds():
    if os.environ.get("THIRD_PARTY_CRDS"):
        d = os.environ["THIRD_PARTY_CRDS"]
        return [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".yaml")]
    with tempfile.TemporaryDirectory() as tmp:
        def module_dir(module):
            out = run(["go", "mod", "download", "-json", module], cwd=tmp,
                      env={**os.environ, "GOFLAGS": "-mod=mod", "GO111MODULE": "on"}).stdout
            return json.loads(out)["Dir"]
        gw, po = module_dir(GATEWAY_API), module_dir(PROMETHEUS_OPERATOR)
    return [os.path.join(gw, "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"),
            os.path.join(po, "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
            os.path.join(po, "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml")]


class ApiServer:
    """kube-api serve on a free port, with an admin token and RBAC authorization."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="bazaar-kube-api.")
        self.port = free_port()
        token = secrets.token_hex(16)
        with open(os.path.join(self.dir, "tokens.csv"), "w") as f:
            f.write(f'{token},admin,admin,"system:masters"\n')
        key = os.path.join(self.dir, "sa.key")
        run(["openssl", "genrsa", "-out", key, "2048"])
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        with open(self.kubeconfig, "w") as f:
            yaml.safe_dump({
                "apiVersion": "v1", "kind": "Config", "current-context": "test",
                "clusters": [{"name": "test", "cluster": {"server": f"https://127.0.0.1:{self.port}",
                                                          "insecure-skip-tls-verify": True}}],
                "users": [{"name": "admin", "user": {"token": token}}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
            }, f)
        self.log = open(os.path.join(self.dir, "kube-api.log"), "w")
        self.process = subprocess.Popen([
            binary, "serve", "--etcd-data-dir", os.path.join(self.dir, "etcd"),
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", f"--secure-port={self.port}",
            "--cert-dir", os.path.join(self.dir, "certs"), "--token-auth-file", os.path.join(self.dir, "tokens.csv"),
            "--authorization-mode", "RBAC", "--service-cluster-ip-range", "10.96.0.0/16",
            "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", key,
            "--service-account-signing-key-file", key,
        ], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"kube-api exited ({self.process.returncode}); log: {self.log.name}")
            if self.kubectl("get", "--raw", "/readyz", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError(f"kube-api not ready within 180 s; log: {self.log.name}")

    def env(self):
        return {**os.environ, "KUBECONFIG": self.kubeconfig, "HELM_CACHE_HOME": os.path.join(self.dir, "helm-cache"),
                "HELM_CONFIG_HOME": os.path.join(self.dir, "helm-config"), "HELM_DATA_HOME": os.path.join(self.dir, "helm-data")}

    def kubectl(self, *args, check=True, input=None):
        return run(["kubectl", *args], check=check, env=self.env(), input=input)

    def helm(self, *args, check=True):
        return run(["helm", *args], check=check, env=self.env())

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        if os.environ.get("KEEP_KUBE_API"):
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def kube_api_binary():
    if os.environ.get("KUBE_API"):
        return os.environ["KUBE_API"]
    return run([os.path.join(REPO, "scripts", "install-kube-api")]).stdout.strip()


class AgainstApiServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        global CHART
        cls.api = ApiServer(kube_api_binary())
        # kube-api built from Go modules without version stamps reports v0.0.0-master, which no kubeVersion
        # constraint admits; test a copy of the chart without the constraint (it is checked offline).
        version = json.loads(cls.api.kubectl("get", "--raw", "/version").stdout)["gitVersion"]
        if version.startswith("v0.0.0"):
            CHART = os.path.join(cls.api.dir, "bazaar")
            shutil.copytree(SOURCE_CHART, CHART)
            with open(os.path.join(CHART, "Chart.yaml")) as f:
                chart = yaml.safe_load(f)
            chart.pop("kubeVersion", None)
            with open(os.path.join(CHART, "Chart.yaml"), "w") as f:
                yaml.safe_dump(chart, f)
        for path in upstream_crds():
            cls.api.kubectl("apply", "--server-side", "-f", path)
        # `monitoring`: where the production values put the Grafana dashboards (Grafana's sidecar namespace).
        for ns in ("bazaar", "shop", "dev", "all-on", "monitoring"):
            cls.api.kubectl("create", "namespace", ns)
        # The production values name a PriorityClass and the everything values a ConfigMap; nothing needs them
        # without a kubelet, but they are made anyway so that the objects refer to something real.
        cls.api.kubectl("create", "priorityclass", "shop-critical", "--value=1000")

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()

    # ---- helpers --------------------------------------------------------------------------------------------------
    def release_objects(self, release, namespaces):
        """Every object labelled with the release, cluster-wide and in `namespaces` (kind/name)."""
        kinds = self.api.kubectl("api-resources", "--verbs=list", "-o", "name").stdout.split()
        kinds = [k for k in kinds if k not in ("events", "events.events.k8s.io", "componentstatuses")]
        out = self.api.kubectl("get", ",".join(kinds), "-A", "-l", f"app.kubernetes.io/instance={release}",
                               "-o", "json").stdout
        return sorted(f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
                      for o in json.loads(out)["items"])

    def namespace_contents(self, namespace):
        kinds = self.api.kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").stdout.split()
        kinds = [k for k in kinds if k not in ("events", "events.events.k8s.io")]
        out = self.api.kubectl("get", ",".join(kinds), "-n", namespace, "-o", "json").stdout
        return sorted(f"{o['kind']}/{o['metadata']['name']}" for o in json.loads(out)["items"])

    def can(self, namespace, verb, resource, group="", name="", subresource="",
            user="system:serviceaccount:bazaar:prod-bazaar-operator"):
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": user, "groups": ["system:serviceaccounts", "system:serviceaccounts:bazaar"],
                           "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                                  "resource": resource, "name": name, "subresource": subresource}}}
        out = self.api.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(review)).stdout
        return json.loads(out)["status"].get("allowed", False)

    # ---- the tests ------------------------------------------------------------------------------------------------
    def test_1_install_upgrade_uninstall_production(self):
        values = os.path.join(CHART, "ci", "production-values.yaml")
        self.api.helm("install", "prod", CHART, "-n", "bazaar", "-f", values)
        manifest = self.api.helm("get", "manifest", "prod", "-n", "bazaar").stdout
        found = json.loads(self.api.kubectl("get", "-f", "-", "-o", "json", input=manifest).stdout)["items"]
        self.assertEqual(len(found), len([d for d in yaml.safe_load_all(manifest) if d]))
        jobs = json.loads(self.api.kubectl("get", "jobs", "-n", "bazaar", "-o", "json").stdout)["items"]
        self.assertEqual(len(jobs), 1)
        first_job = jobs[0]["metadata"]["name"]

        # The operator's ServiceAccount: exactly operator/rbac.yaml, in the watched namespace `shop`.
        for resource in ("products", "stores", "fulfillments", "promotions"):
            for verb in ("list", "watch", "patch"):
                self.assertTrue(self.can("shop", verb, resource, "bazaar.dev"), f"{verb} {resource}")
            self.assertTrue(self.can("shop", "patch", resource, "bazaar.dev", subresource="status"))
            for verb in ("create", "update", "delete", "get"):
                self.assertFalse(self.can("shop", verb, resource, "bazaar.dev"), f"{verb} {resource} should be denied")
            self.assertFalse(self.can("default", "list", resource, "bazaar.dev"), "outside the watched namespace")
        self.assertTrue(self.can("shop", "create", "events", "events.k8s.io"))
        self.assertTrue(self.can("shop", "patch", "events", "events.k8s.io"))
        self.assertTrue(self.can("bazaar", "create", "leases", "coordination.k8s.io"))
        for verb in ("get", "update"):
            self.assertTrue(self.can("bazaar", verb, "leases", "coordination.k8s.io", name="prod-bazaar-operator"))
            self.assertFalse(self.can("bazaar", verb, "leases", "coordination.k8s.io", name="someone-elses-lease"))
        self.assertFalse(self.can("bazaar", "delete", "leases", "coordination.k8s.io", name="prod-bazaar-operator"))
        self.assertFalse(self.can("shop", "create", "leases", "coordination.k8s.io"))
        for namespace, resource in (("bazaar", "secrets"), ("bazaar", "configmaps"), ("shop", "secrets"),
                                    ("bazaar", "pods"), ("shop", "events")):
            self.assertFalse(self.can(namespace, "get", resource), f"get {resource} in {namespace}")
            self.assertFalse(self.can(namespace, "list", resource), f"list {resource} in {namespace}")
        self.assertFalse(self.can("", "list", "customresourcedefinitions", "apiextensions.k8s.io"))
        # The components' ServiceAccount may do nothing at all.
        self.assertFalse(self.can("bazaar", "get", "configmaps", user="system:serviceaccount:bazaar:prod-bazaar"))

        # Upgrade with changed values: the settings change and a new migration Job replaces the old one.
        self.api.helm("upgrade", "prod", CHART, "-n", "bazaar", "-f", values, "--set", "config.logLevel=debug",
                      "--set", "image.digest=sha256:" + "1" * 64)
        config = json.loads(self.api.kubectl("get", "configmap", "prod-bazaar-config", "-n", "bazaar", "-o", "json").stdout)
        self.assertEqual(config["data"]["RUST_LOG"], "debug")
        jobs = [j["metadata"]["name"] for j in
                json.loads(self.api.kubectl("get", "jobs", "-n", "bazaar", "-o", "json").stdout)["items"]]
        self.assertEqual(len(jobs), 1)
        self.assertNotEqual(jobs[0], first_job)

        # Uninstall: nothing left but the kept CRDs.
        self.api.helm("uninstall", "prod", "-n", "bazaar", "--wait")
        left = self.release_objects("prod", ["bazaar", "shop"])
        self.assertEqual(left, sorted(f"CustomResourceDefinition//{n}.bazaar.dev"
                                      for n in ("fulfillments", "products", "promotions", "stores")))
        self.assertEqual(self.namespace_contents("bazaar"), [])
        self.assertEqual(self.namespace_contents("shop"), [])

    def test_2_dev_values_and_crds_not_kept(self):
        # After test 1 the CRDs remain, annotated as the release "prod"'s: a release of another name does not
        # take them over silently (it fails), so this one manages no CRDs.
        refused = self.api.helm("install", "intruder", CHART, "-n", "dev", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("ownership", refused.stderr)
        self.api.helm("uninstall", "intruder", "-n", "dev", "--wait", check=False)
        self.assertEqual(self.release_objects("intruder", ["dev"]), [])
        self.api.helm("install", "dev", CHART, "-n", "dev", "-f", os.path.join(CHART, "values-dev.yaml"),
                      "--set", "crds.enabled=false")
        self.api.helm("uninstall", "dev", "-n", "dev", "--wait")
        self.assertEqual(self.release_objects("dev", ["dev"]), [])
        self.assertEqual(self.namespace_contents("dev"), [])

    def test_3_everything_values_and_crd_removal(self):
        # Reinstalling the release that made the kept CRDs adopts them; with crds.keep=false they go with it.
        self.api.helm("install", "prod", CHART, "-n", "bazaar", "--set", "crds.keep=false",
                      "--set", "operator.watchNamespace=shop")
        examples = os.path.join(REPO, "crds", "examples")
        self.api.kubectl("apply", "-f", examples)  # the CRDs' schemas and CEL rules accept the example shop
        self.api.helm("uninstall", "prod", "-n", "bazaar", "--wait")
        crds = self.api.kubectl("get", "crd", "-o", "name").stdout.split()
        self.assertFalse([c for c in crds if c.endswith(".bazaar.dev")], crds)

        self.api.helm("install", "all", CHART, "-n", "all-on", "-f", os.path.join(CHART, "ci", "everything-values.yaml"),
                      "--set", "crds.enabled=false")
        self.api.helm("upgrade", "all", CHART, "-n", "all-on", "-f", os.path.join(CHART, "ci", "everything-values.yaml"),
                      "--set", "crds.enabled=false", "--set", "components.payment.enabled=false")
        self.assertEqual(self.api.kubectl("get", "deployment", "shop-payment", "-n", "all-on", check=False).returncode, 1)
        self.api.helm("uninstall", "all", "-n", "all-on", "--wait")
        self.assertEqual(self.release_objects("all", ["all-on", "shop"]), [])
        self.assertEqual(self.namespace_contents("all-on"), [])


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Tests of charts/bazaar over what it renders (run by scripts/check-chart; needs `helm` on PATH and PyYAML).

    python3 charts/tests/test_chart.py [-v] [TestClass[.test]]

They check what a schema or a linter cannot: the operator's RBAC equals operator/rbac.yaml, the CRDs equal
crds/, every pod meets the restricted Pod Security Standard with the probes it needs, every setting of the
binary is reachable from values (and every variable the chart sets is one the binary reads), the wiring
(JWKS, catalog URL, development infrastructure), the routes, the migration Job's naming and the schema's
refusal of misspelt keys.
"""

import copy
import functools
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHART = os.path.join(REPO, "charts", "bazaar")
COMPONENTS = ["catalog", "identity", "order", "inventory", "payment", "notification", "review"]
VALUES_SETS = {
    "defaults": [],
    "dev": [os.path.join(CHART, "values-dev.yaml")],
    "production": [os.path.join(CHART, "ci", "production-values.yaml")],
    "everything": [os.path.join(CHART, "ci", "everything-values.yaml")],
}


def helm_template(*args, release="r", namespace="bazaar", check=True):
    cmd = ["helm", "template", release, CHART, "--namespace", namespace, *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stderr}")
    return result


@functools.lru_cache(maxsize=None)
def render(*args, release="r", namespace="bazaar"):
    """The rendered objects, as a list of dicts."""
    out = helm_template(*args, release=release, namespace=namespace).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render_set(name, *extra):
    args = []
    for path in VALUES_SETS[name]:
        args += ["-f", path]
    return render(*args, *extra)


def of_kind(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind]
    if name is not None:
        found = [o for o in found if o["metadata"]["name"] == name]
    return found


def one(objects, kind, name):
    found = of_kind(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_templates(objects):
    """(object, pod spec) of every workload."""
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield o, o["spec"]["template"]["spec"]


def rbac_source():
    with open(os.path.join(REPO, "operator", "rbac.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    cluster_role = next(d for d in docs if d["kind"] == "ClusterRole")
    role = next(d for d in docs if d["kind"] == "Role")
    return cluster_role, role


class CopiesAreCurrent(unittest.TestCase):
    """The chart's copies of crds/ and operator/rbac.yaml are byte for byte the originals."""

    def test_crd_files(self):
        originals = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, "crds", "*.yaml")))
        copies = sorted(os.path.basename(p) for p in glob.glob(os.path.join(CHART, "files", "crds", "*.yaml")))
        self.assertEqual(originals, copies, "charts/bazaar/files/crds/ must hold exactly crds/*.yaml")
        for name in originals:
            with open(os.path.join(REPO, "crds", name)) as a, open(os.path.join(CHART, "files", "crds", name)) as b:
                self.assertEqual(a.read(), b.read(), f"files/crds/{name} differs from crds/{name}: BAZAAR_UPDATE_CHART=1 scripts/check-chart updates it")

    def test_rbac_file(self):
        with open(os.path.join(REPO, "operator", "rbac.yaml")) as a, open(os.path.join(CHART, "files", "operator-rbac.yaml")) as b:
            self.assertEqual(a.read(), b.read(), "files/operator-rbac.yaml differs from operator/rbac.yaml: BAZAAR_UPDATE_CHART=1 scripts/check-chart updates it")


class Crds(unittest.TestCase):
    def test_rendered_crds_equal_the_generated_ones(self):
        rendered = {o["metadata"]["name"]: o for o in of_kind(render(), "CustomResourceDefinition")}
        for path in glob.glob(os.path.join(REPO, "crds", "*.yaml")):
            with open(path) as f:
                source = yaml.safe_load(f)
            name = source["metadata"]["name"]
            self.assertIn(name, rendered)
            self.assertEqual(rendered[name]["spec"], source["spec"],
                             f"{name}: the chart renders another CRD than crds/ holds (BAZAAR_UPDATE_CHART=1 scripts/check-chart)")
            self.assertEqual(rendered[name]["metadata"]["annotations"], {"helm.sh/resource-policy": "keep",
                                                                          "argocd.argoproj.io/sync-options": "Delete=false"})
            self.assertEqual(rendered[name]["metadata"]["labels"]["app.kubernetes.io/instance"], "r")
        self.assertEqual(len(rendered), len(glob.glob(os.path.join(REPO, "crds", "*.yaml"))))

    def test_switches(self):
        self.assertEqual(of_kind(render("--set", "crds.enabled=false"), "CustomResourceDefinition"), [])
        for crd in of_kind(render("--set", "crds.keep=false"), "CustomResourceDefinition"):
            self.assertNotIn("annotations", crd["metadata"])


class OperatorRbac(unittest.TestCase):
    def test_rules_equal_operator_rbac_yaml(self):
        cluster_role, role = rbac_source()
        objects = render()
        self.assertEqual(one(objects, "ClusterRole", "r-bazaar-operator")["rules"], cluster_role["rules"])
        lease_rules = copy.deepcopy(role["rules"])
        for rule in lease_rules:
            if "resourceNames" in rule:
                rule["resourceNames"] = ["r-bazaar-operator"]
        rendered_role = one(objects, "Role", "r-bazaar-operator-leader-election")
        self.assertEqual(rendered_role["rules"], lease_rules)
        self.assertEqual(rendered_role["metadata"]["namespace"], "bazaar")
        config = one(objects, "ConfigMap", "r-bazaar-config")["data"]
        self.assertEqual(config["BAZAAR_OPERATOR_LEASE_NAME"], "r-bazaar-operator")

    def test_bindings_name_the_operator_service_account(self):
        objects = render()
        subject = {"kind": "ServiceAccount", "name": "r-bazaar-operator", "namespace": "bazaar"}
        binding = one(objects, "ClusterRoleBinding", "r-bazaar-operator")
        self.assertEqual(binding["subjects"], [subject])
        self.assertEqual(binding["roleRef"]["name"], "r-bazaar-operator")
        self.assertEqual(one(objects, "RoleBinding", "r-bazaar-operator-leader-election")["subjects"], [subject])
        one(objects, "ServiceAccount", "r-bazaar-operator")
        pod = one(objects, "Deployment", "r-bazaar-operator")["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], "r-bazaar-operator")
        self.assertTrue(pod["automountServiceAccountToken"])
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        self.assertEqual(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")
        self.assertEqual(env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace")
        self.assertEqual(pod["containers"][0]["args"], ["operator"])

    def test_one_watched_namespace_gets_a_role_binding_only(self):
        objects = render("--set", "operator.watchNamespace=shop")
        self.assertEqual(of_kind(objects, "ClusterRoleBinding"), [])
        binding = one(objects, "RoleBinding", "r-bazaar-operator")
        self.assertEqual(binding["metadata"]["namespace"], "shop")
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r-bazaar-operator"})
        self.assertEqual(one(objects, "ConfigMap", "r-bazaar-config")["data"]["BAZAAR_OPERATOR_WATCH_NAMESPACE"], "shop")

    def test_no_rbac_without_the_operator(self):
        objects = render("--set", "operator.enabled=false")
        for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
            self.assertEqual(of_kind(objects, kind), [], kind)
        self.assertEqual(of_kind(objects, "Deployment", "r-bazaar-operator"), [])


class PodSecurity(unittest.TestCase):
    """Restricted Pod Security Standard, probes and tokens, in every values set."""

    def check_container(self, where, container, read_only=True):
        sc = container.get("securityContext", {})
        self.assertIs(sc.get("allowPrivilegeEscalation"), False, where)
        self.assertEqual(sc.get("capabilities", {}).get("drop"), ["ALL"], where)
        if read_only:
            self.assertIs(sc.get("readOnlyRootFilesystem"), True, where)

    def test_every_pod(self):
        for name in VALUES_SETS:
            for workload, pod in pod_templates(render_set(name)):
                where = f"{name}: {workload['kind']} {workload['metadata']['name']}"
                psc = pod.get("securityContext", {})
                self.assertIs(psc.get("runAsNonRoot"), True, where)
                self.assertIsInstance(psc.get("runAsUser"), int, where)
                self.assertNotEqual(psc.get("runAsUser"), 0, where)
                self.assertEqual(psc.get("seccompProfile"), {"type": "RuntimeDefault"}, where)
                component = workload["metadata"]["labels"].get("app.kubernetes.io/component")
                bazaar = component in COMPONENTS + ["operator", "migrate"]
                self.assertIs(pod.get("automountServiceAccountToken"), component == "operator", where)
                for container in pod.get("initContainers", []) + pod["containers"]:
                    kafka = component == "kafka"
                    self.check_container(f"{where} container {container['name']}", container, read_only=not kafka)
                    if bazaar:
                        self.assertEqual(container["securityContext"]["runAsUser"], 65532, where)
                        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                        self.assertEqual(mounts.get("/tmp"), "tmp", where)
                if bazaar:
                    volumes = {v["name"]: v for v in pod["volumes"]}
                    self.assertIn("emptyDir", volumes["tmp"], where)

    def test_probes(self):
        for name in VALUES_SETS:
            objects = render_set(name)
            deployments = [d for d in of_kind(objects, "Deployment")
                           if d["metadata"]["labels"]["app.kubernetes.io/component"] in COMPONENTS + ["operator"]]
            self.assertEqual(len(deployments), len(COMPONENTS) + 1, name)
            for d in deployments:
                c = d["spec"]["template"]["spec"]["containers"][0]
                where = f"{name}: {d['metadata']['name']}"
                self.assertEqual(c["startupProbe"]["httpGet"]["path"], "/healthz", where)
                self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz", where)
                self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz", where)
                self.assertIn("memory", c["resources"]["limits"], where)
                self.assertIn("requests", c["resources"], where)


class Components(unittest.TestCase):
    def test_one_deployment_and_service_per_component(self):
        objects = render()
        for component in COMPONENTS:
            d = one(objects, "Deployment", f"r-bazaar-{component}")
            pod = d["spec"]["template"]["spec"]
            self.assertEqual(pod["containers"][0]["args"], ["serve", component])
            self.assertEqual(pod["initContainers"][0]["args"], ["migrate", component])
            self.assertEqual(pod["containers"][0]["image"], "ghcr.io/bazaar-dev/bazaar:0.1.0")
            s = one(objects, "Service", f"r-bazaar-{component}")
            self.assertEqual(s["spec"]["selector"], d["spec"]["selector"]["matchLabels"])
        operator = one(objects, "Deployment", "r-bazaar-operator")["spec"]["template"]["spec"]
        self.assertEqual(operator["initContainers"][0]["args"], ["migrate", "catalog"])

    def test_disabling_a_component_and_overriding_default_with_false(self):
        objects = render("--set", "components.payment.enabled=false",
                         "--set", "components.order.migrateOnStart=false",
                         "--set", "default.replicas=3", "--set", "components.catalog.replicas=0")
        self.assertEqual(of_kind(objects, "Deployment", "r-bazaar-payment"), [])
        self.assertEqual(of_kind(objects, "Service", "r-bazaar-payment"), [])
        order = one(objects, "Deployment", "r-bazaar-order")
        self.assertNotIn("initContainers", order["spec"]["template"]["spec"])
        self.assertEqual(order["spec"]["replicas"], 3)
        self.assertEqual(one(objects, "Deployment", "r-bazaar-catalog")["spec"]["replicas"], 0)

    def test_opt_ins_are_off_by_default(self):
        objects = render()
        for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Ingress", "HTTPRoute",
                     "ServiceMonitor", "PrometheusRule", "StatefulSet", "Secret"):
            self.assertEqual(of_kind(objects, kind), [], kind)

    def test_autoscaled_deployments_leave_replicas_to_the_hpa(self):
        objects = render_set("production")
        hpa = one(objects, "HorizontalPodAutoscaler", "r-bazaar-catalog")
        self.assertEqual((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]), (3, 12))
        self.assertNotIn("replicas", one(objects, "Deployment", "r-bazaar-catalog")["spec"])
        self.assertEqual(one(objects, "Deployment", "r-bazaar-identity")["spec"]["replicas"], 2)
        self.assertEqual(of_kind(objects, "PodDisruptionBudget", "r-bazaar-notification"), [])
        self.assertEqual(one(objects, "PodDisruptionBudget", "r-bazaar-order")["spec"]["maxUnavailable"], 1)

    def test_topology_spread_gets_the_components_selector(self):
        pod = one(render_set("production"), "Deployment", "r-bazaar-order")["spec"]["template"]["spec"]
        constraint = pod["topologySpreadConstraints"][0]
        self.assertEqual(constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/component"], "order")
        self.assertEqual(constraint["topologyKey"], "topology.kubernetes.io/zone")


def source_env_names():
    """Environment variables the binary reads for `serve`, `operator` and `migrate` (from the clap args)."""
    paths = [os.path.join(REPO, "src", "cli.rs"), os.path.join(REPO, "src", "operator_cmd.rs")]
    for pattern in ("crates/platform/src/**/*.rs", "services/*/src/**/*.rs"):
        paths += glob.glob(os.path.join(REPO, pattern), recursive=True)
    names = set()
    for path in paths:
        with open(path) as f:
            names |= set(re.findall(r'\benv\s*=\s*"([A-Z][A-Z0-9_]*)"', f.read()))
    # Other commands' settings: `bazaar dev`, `bazaar crdgen`, `bazaar create-admin`.
    return {n for n in names if not n.startswith(("BAZAAR_DEV_", "BAZAAR_CRDGEN_", "BAZAAR_ADMIN_"))}


# Variables the chart does not take from `config`, and why.
SET_OTHERWISE = {
    "BAZAAR_COMPONENTS": "the container's arguments (serve <component>)",
    "BAZAAR_MIGRATE_COMPONENT": "the migrate container's arguments",
    "BAZAAR_MIGRATE_ON_START": "replaced by the migrate init container (migrateOnStart)",
    "BAZAAR_HTTP_ADDR": "the image's 0.0.0.0:8080, the containerPort",
    "BAZAAR_JWKS_FILE": "the chart uses BAZAAR_JWKS_URL",
    "BAZAAR_STOREFRONT_DIR": "the image's /usr/share/bazaar/storefront",
    "POD_NAME": "downward API", "POD_NAMESPACE": "downward API",
}


class Settings(unittest.TestCase):
    def rendered_env(self, objects):
        """Variables the chart gives Bazaar's own containers."""
        names = set(one(objects, "ConfigMap", "shop-config")["data"])
        names |= set(one(objects, "Secret", "shop-secret").get("stringData", {}))
        for workload, pod in pod_templates(objects):
            if workload["metadata"]["labels"]["app.kubernetes.io/component"] not in COMPONENTS + ["operator", "migrate"]:
                continue
            for c in pod.get("initContainers", []) + pod["containers"]:
                names |= {e["name"] for e in c.get("env", [])}
        return names

    def test_every_setting_of_the_binary_is_reachable_from_values(self):
        wanted = source_env_names()
        self.assertGreater(len(wanted), 40, "found too few settings in the sources: has the layout changed?")
        objects = render_set("everything", "--set", "config.notification.transport=smtp",
                             "--set", "config.notification.smtp.host=smtp.example.com",
                             "--set", "config.notification.smtp.port=2525", "--set", "config.notification.smtp.tls=tls",
                             "--set", "config.notification.smtp.username=u",
                             "--set", "config.auth.jwksUrl=http://keys.example.com/jwks.json",
                             "--set", "config.order.catalogUrl=http://catalog.example.com",
                             "--set", "secret.databaseUrl=postgres://x@db/x")
        missing = sorted(wanted - self.rendered_env(objects) - set(SET_OTHERWISE))
        self.assertEqual(missing, [], "settings of the binary the chart cannot set from `config` "
                         "(add them to values.yaml, values.schema.json and templates/configmap.yaml)")

    def test_every_variable_the_chart_sets_is_read_by_the_binary(self):
        known = source_env_names() | {"BAZAAR_DEV_POSTGRES_PASSWORD", "NODE_NAME", "BAZAAR_ADMIN_PASSWORD"}
        # Read by the OpenTelemetry SDK (crates/platform/src/telemetry.rs), not by clap.
        known |= {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME"}
        unknown = sorted(self.rendered_env(render_set("everything")) - known)
        self.assertEqual(unknown, [], "variables no part of the binary reads (a typo in templates/configmap.yaml?)")

    def test_values_become_the_expected_text(self):
        data = one(render_set("everything"), "ConfigMap", "shop-config")["data"]
        self.assertEqual(data["BAZAAR_TAX_RATES"], "US-CA=7.25,US-NY=8.875")
        self.assertEqual(data["PAYMENT_SIMULATED_FAILURE_RATE"], "0.05")
        self.assertEqual(data["PAYMENT_SIMULATED_LATENCY_MS"], "250")
        self.assertEqual(data["BAZAAR_HTTP_BODY_LIMIT"], "2097152")
        self.assertEqual(data["IDENTITY_REFRESH_TOKEN_TTL_SECS"], "86400")
        self.assertEqual(data["IDENTITY_TRUSTED_PROXIES"], "10.0.0.0/8,192.168.0.0/16")
        self.assertEqual(data["BAZAAR_DB_SCHEMA_PREFIX"], "staging_")
        self.assertEqual(data["NOTIFICATION_OPS_EMAIL"], "ops@shop.example.com")
        defaults = one(render(), "ConfigMap", "r-bazaar-config")["data"]
        self.assertEqual(set(defaults), {"BAZAAR_LOG_FORMAT", "BAZAAR_OPERATOR_LEASE_NAME"},
                         "null values must leave the binary's defaults alone")
        production = one(render_set("production"), "ConfigMap", "r-bazaar-config")["data"]
        self.assertEqual(production["BAZAAR_TAX_RATES"], "DE=19,US-CA=7.25")

    def test_jwks_catalog_and_order_are_wired_to_this_releases_services(self):
        objects = render()
        for component in COMPONENTS:
            env = {e["name"]: e.get("value") for e in
                   one(objects, "Deployment", f"r-bazaar-{component}")["spec"]["template"]["spec"]["containers"][0].get("env", [])}
            if component == "identity":
                self.assertNotIn("BAZAAR_JWKS_URL", env, "identity verifies with its own keys")
            else:
                self.assertEqual(env["BAZAAR_JWKS_URL"], "http://r-bazaar-identity.bazaar.svc:80/.well-known/jwks.json")
            if component == "order":
                self.assertEqual(env["BAZAAR_CATALOG_URL"], "http://r-bazaar-catalog.bazaar.svc:80")
            if component == "review":
                self.assertEqual(env["REVIEW_ORDER_URL"], "http://r-bazaar-order.bazaar.svc:80",
                                 "wishlist moves use order's cart API")

    def test_secrets(self):
        objects = render("--set", "secret.databaseUrl=postgres://u:p@db:5432/shop", "--set", "secret.smtpPassword=pw",
                         "--set", "secret.componentDatabaseUrls.order=postgres://o@odb/o")
        secret = one(objects, "Secret", "r-bazaar-secret")
        self.assertEqual(secret["stringData"], {"DATABASE_URL": "postgres://u:p@db:5432/shop",
                                                "NOTIFICATION_SMTP_PASSWORD": "pw",
                                                "ORDER_DATABASE_URL": "postgres://o@odb/o"})
        pod = one(objects, "Deployment", "r-bazaar-order")["spec"]["template"]
        self.assertIn({"secretRef": {"name": "r-bazaar-secret"}}, pod["spec"]["containers"][0]["envFrom"])
        self.assertIn("checksum/secret", pod["metadata"]["annotations"])
        existing = render("--set", "secret.existingSecret=mine", "--set", "secret.databaseUrl=postgres://ignored/x")
        self.assertEqual(of_kind(existing, "Secret"), [])
        env_from = one(existing, "Deployment", "r-bazaar-order")["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        self.assertIn({"secretRef": {"name": "mine"}}, env_from)


class DevelopmentInfrastructure(unittest.TestCase):
    def test_dev_values_wire_postgres_kafka_and_mailpit(self):
        objects = render_set("dev", "--set", "devInfra.postgresql.password=fixed123")
        for kind, name in (("StatefulSet", "r-bazaar-postgresql"), ("StatefulSet", "r-bazaar-kafka"),
                           ("Deployment", "r-bazaar-mailpit")):
            one(objects, kind, name)
        self.assertEqual(one(objects, "Secret", "r-bazaar-postgresql")["stringData"]["password"], "fixed123")
        data = one(objects, "ConfigMap", "r-bazaar-config")["data"]
        self.assertEqual(data["KAFKA_BROKERS"], "r-bazaar-kafka:9092")
        self.assertEqual((data["NOTIFICATION_TRANSPORT"], data["NOTIFICATION_SMTP_HOST"], data["NOTIFICATION_SMTP_PORT"],
                          data["NOTIFICATION_SMTP_TLS"]), ("smtp", "r-bazaar-mailpit", "1025", "none"))
        for component in COMPONENTS:
            pod = one(objects, "Deployment", f"r-bazaar-{component}")["spec"]["template"]["spec"]
            for container in pod["initContainers"] + pod["containers"]:
                env = container["env"]
                names = [e["name"] for e in env]
                self.assertLess(names.index("BAZAAR_DEV_POSTGRES_PASSWORD"), names.index("DATABASE_URL"))
                url = next(e["value"] for e in env if e["name"] == "DATABASE_URL")
                self.assertEqual(url, "postgres://bazaar:$(BAZAAR_DEV_POSTGRES_PASSWORD)@r-bazaar-postgresql:5432/bazaar")
        self.assertIn("/api/catalog", [p["path"] for r in one(objects, "Ingress", "r-bazaar")["spec"]["rules"]
                                        for p in r["http"]["paths"]])

    def test_kafka_advertises_its_service(self):
        kafka = one(render_set("dev"), "StatefulSet", "r-bazaar-kafka")["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in kafka["containers"][0]["env"]}
        self.assertEqual(env["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://r-bazaar-kafka.bazaar.svc:9092")
        self.assertIs(kafka["enableServiceLinks"], False)

    def test_a_given_database_url_wins(self):
        objects = render_set("dev", "--set", "secret.databaseUrl=postgres://x@elsewhere/x")
        env = one(objects, "Deployment", "r-bazaar-order")["spec"]["template"]["spec"]["containers"][0]["env"]
        self.assertNotIn("DATABASE_URL", [e["name"] for e in env])


class Routes(unittest.TestCase):
    EXPECTED = {
        "/api/catalog": "catalog", "/api/identity": "identity", "/api/auth": "identity", "/api/users": "identity",
        "/.well-known": "identity", "/api/order": "order", "/api/cart": "order", "/api/checkout": "order",
        "/api/orders": "order", "/api/inventory": "inventory", "/api/payment": "payment", "/api/payments": "payment",
        "/api/notification": "notification", "/api/notifications": "notification", "/api/review": "review",
        "/api/reviews": "review", "/api/wishlist": "review", "/api/wishlists": "review", "/": "catalog",
    }

    def test_ingress_and_httproute(self):
        objects = render_set("everything")
        ingress = one(objects, "Ingress", "shop")
        self.assertEqual(ingress["spec"]["ingressClassName"], "cloud-provider-kind")
        self.assertEqual([r["host"] for r in ingress["spec"]["rules"]], ["shop.example.com", "www.shop.example.com"])
        for rule in ingress["spec"]["rules"]:
            paths = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
            self.assertEqual(paths, {k: f"shop-{v}" for k, v in self.EXPECTED.items()})
            self.assertEqual({p["pathType"] for p in rule["http"]["paths"]}, {"Prefix"})
        route = one(objects, "HTTPRoute", "shop")
        paths = {m["path"]["value"]: r["backendRefs"][0]["name"] for r in route["spec"]["rules"] for m in r["matches"]}
        self.assertEqual(paths, {k: f"shop-{v}" for k, v in self.EXPECTED.items()})
        self.assertEqual(len(route["spec"]["rules"]), len(set(self.EXPECTED.values())), "one rule per Service")
        self.assertLessEqual(len(route["spec"]["rules"]), 16, "the Gateway API's limit")
        self.assertEqual({r["backendRefs"][0]["port"] for r in route["spec"]["rules"]}, {80})

    def test_no_storefront_route_when_none(self):
        ingress = one(render("--set", "ingress.enabled=true", "--set", "storefront.component="), "Ingress", "r-bazaar")
        self.assertNotIn("/", [p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]])
        self.assertNotIn("host", ingress["spec"]["rules"][0])


class MigrationJob(unittest.TestCase):
    def job(self, *args):
        jobs = of_kind(render(*args), "Job")
        self.assertEqual(len(jobs), 1)
        return jobs[0]

    def test_named_by_content(self):
        first = self.job()["metadata"]["name"]
        self.assertRegex(first, r"^r-bazaar-migrate-[0-9a-f]{8}$")
        self.assertEqual(self.job("--set", "ingress.enabled=true")["metadata"]["name"], first)
        self.assertNotEqual(self.job("--set", "image.tag=0.2.0")["metadata"]["name"], first)
        self.assertNotEqual(self.job("--set", "config.database.schemaPrefix=x_")["metadata"]["name"], first)
        job = self.job()
        self.assertEqual(job["spec"]["template"]["spec"]["containers"][0]["args"], ["migrate"])
        self.assertEqual(job["spec"]["template"]["spec"]["restartPolicy"], "Never")
        self.assertNotIn("helm.sh/hook", job["metadata"].get("annotations", {}))


class Schema(unittest.TestCase):
    def refused(self, *sets):
        args = []
        for s in sets:
            args += ["--set", s]
        return helm_template(*args, check=False)

    def test_misspelt_keys_are_refused(self):
        for setting, key in (("componets.catalog.enabled=false", "componets"),
                             ("components.catalog.replica=2", "replica"),
                             ("components.shop.enabled=true", "shop"),
                             ("config.kafka.broker=kafka:9092", "broker"),
                             ("default.securityContex.runAsUser=0", "securityContex"),
                             ("ingress.classname=traefik", "classname"),
                             ("operator.watchNamespaces=shop", "watchNamespaces"),
                             ("devInfra.postgres.enabled=true", "postgres")):
            result = self.refused(setting)
            self.assertNotEqual(result.returncode, 0, f"--set {setting} was accepted")
            self.assertIn(key, result.stderr, f"the error for --set {setting} does not name {key}")

    def test_bad_values_are_refused(self):
        for setting in ("config.logFormat=xml", "config.kafka.brokers=nohostport", "secret.databaseUrl=mysql://x",
                        "config.payment.simulatedFailureRate=2", "storefront.component=shop",
                        "image.digest=latest", "config.order.taxRates.usa=5"):
            self.assertNotEqual(self.refused(setting).returncode, 0, f"--set {setting} was accepted")

    def test_global_and_a_parent_condition_are_allowed(self):
        result = self.refused("global.imageRegistry=example.com", "enabled=true")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_works_as_a_subchart(self):
        with tempfile.TemporaryDirectory() as tmp:
            parent = os.path.join(tmp, "shop")
            os.makedirs(os.path.join(parent, "charts"))
            with open(os.path.join(parent, "Chart.yaml"), "w") as f:
                yaml.safe_dump({"apiVersion": "v2", "name": "shop", "version": "1.0.0", "dependencies": [
                    {"name": "bazaar", "version": "0.1.0", "condition": "bazaar.enabled"}]}, f)
            with open(os.path.join(parent, "values.yaml"), "w") as f:
                yaml.safe_dump({"global": {"team": "commerce"},
                                "bazaar": {"enabled": True, "config": {"kafka": {"brokers": "kafka:9092"}}}}, f)
            shutil.copytree(CHART, os.path.join(parent, "charts", "bazaar"), ignore=shutil.ignore_patterns("ci"))
            result = subprocess.run(["helm", "template", "shop", parent], capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            objects = [d for d in yaml.safe_load_all(result.stdout) if d]
            self.assertEqual(one(objects, "ConfigMap", "shop-bazaar-config")["data"]["KAFKA_BROKERS"], "kafka:9092")
            bad = subprocess.run(["helm", "template", "shop", parent, "--set", "bazaar.replicas=2"],
                                 capture_output=True, text=True)
            self.assertNotEqual(bad.returncode, 0, "a misspelt key through the parent was accepted")


class Monitoring(unittest.TestCase):
    def test_monitoring_objects(self):
        objects = render_set("production")
        monitor = one(objects, "ServiceMonitor", "r-bazaar")
        self.assertEqual(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack")
        selector = monitor["spec"]["selector"]["matchLabels"]
        scraped = [s["metadata"]["name"] for s in of_kind(objects, "Service")
                   if all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())]
        self.assertEqual(sorted(scraped), sorted([f"r-bazaar-{c}" for c in COMPONENTS] + ["r-bazaar-operator"]))
        rule = one(objects, "PrometheusRule", "r-bazaar")
        self.assertEqual(rule["metadata"]["labels"]["release"], "kube-prometheus-stack")
        self.assertGreater(len(rule["spec"]["groups"]), 0)
        extra = one(render_set("everything"), "PrometheusRule", "shop")
        self.assertIn("shop.extra", [g["name"] for g in extra["spec"]["groups"]])

    def test_slo_objectives_come_from_values(self):
        def objectives(*args):
            rule = one(render_set("everything", *args), "PrometheusRule", "shop")
            return {r["labels"]["slo"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]
                    if r.get("record") == "bazaar:slo_objective:ratio"}
        self.assertEqual(objectives()["checkout-availability"], "vector(0.995)")
        changed = objectives("--set-json", "monitoring.slo.checkoutAvailability=0.98")
        self.assertEqual(changed["checkout-availability"], "vector(0.98)")
        self.assertEqual(changed["catalog-read-availability"], "vector(0.999)", "the others keep their default")


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Writes charts/bazaar/values.schema.json (the schema of the chart's values) to standard output.

Edit this file, not the JSON: `python3 charts/tools/gen_values_schema.py > charts/bazaar/values.schema.json`.
scripts/check-chart fails when the committed schema differs from this output. Every object of ours refuses
unknown keys (additionalProperties: false); Kubernetes objects passed through (resources, affinity, probes,
...) are left to the API server's own validation.
"""
import json
def obj(props, required=None, extra=False, desc=None):
    o = {"type": "object", "additionalProperties": extra, "properties": props}
    if required: o["required"] = required
    if desc: o["description"] = desc
    return o
def any_obj(desc=None):
    o = {"type": "object"}
    if desc: o["description"] = desc
    return o
def s(desc=None, **kw):
    o = {"type": "string", **kw}
    if desc: o["description"] = desc
    return o
def ns(desc=None, **kw):  # nullable string
    o = {"type": ["string", "null"], **kw}
    if desc: o["description"] = desc
    return o
def ni(minimum=None, maximum=None, desc=None):
    o = {"type": ["integer", "null"]}
    if minimum is not None: o["minimum"] = minimum
    if maximum is not None: o["maximum"] = maximum
    if desc: o["description"] = desc
    return o
def i(minimum=None, maximum=None):
    o = {"type": "integer"}
    if minimum is not None: o["minimum"] = minimum
    if maximum is not None: o["maximum"] = maximum
    return o
b = {"type": "boolean"}
def arr(items=None):
    o = {"type": "array"}
    if items: o["items"] = items
    return o
ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
env_map = {"type": "object", "propertyNames": {"pattern": ENV_NAME},
           "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
str_map = {"type": "object", "additionalProperties": {"type": "string"}}
quantity = {"type": ["string", "integer"]}
image = obj({"repository": s(minLength=1), "tag": {"type": ["string", "number"]}, "pullPolicy": s(enum=["Always", "IfNotPresent", "Never"])}, ["repository", "tag"])
COMPONENTS = ["catalog", "identity", "order", "inventory", "payment", "notification", "review"]

workload = {
    "enabled": b,
    "replicas": i(0),
    "revisionHistoryLimit": i(0),
    "strategy": any_obj("Deployment strategy"),
    "migrateOnStart": b,
    "podAnnotations": str_map,
    "podLabels": str_map,
    "nodeSelector": str_map,
    "tolerations": arr(any_obj()),
    "affinity": any_obj(),
    "topologySpreadConstraints": arr(any_obj()),
    "priorityClassName": s(),
    "terminationGracePeriodSeconds": i(0),
    "podSecurityContext": any_obj("PodSecurityContext"),
    "securityContext": any_obj("SecurityContext"),
    "tmpSizeLimit": quantity,
    "resources": {"type": ["object", "null"]},
    "probes": obj({k: {"type": ["object", "null"]} for k in ["startup", "readiness", "liveness"]}),
    "lifecycle": {"type": ["object", "null"]},
    "service": obj({"type": s(enum=["ClusterIP", "NodePort", "LoadBalancer"]), "port": i(1, 65535), "annotations": str_map}),
    "env": env_map,
    "extraEnv": arr(any_obj()),
    "extraVolumes": arr(any_obj()),
    "extraVolumeMounts": arr(any_obj()),
    "pdb": obj({"enabled": b, "minAvailable": {"type": ["integer", "string", "null"]}, "maxUnavailable": {"type": ["integer", "string", "null"]}}),
    "autoscaling": obj({"enabled": b, "minReplicas": i(1), "maxReplicas": i(1),
                        "targetCPUUtilizationPercentage": ni(1, 1000), "targetMemoryUtilizationPercentage": ni(1, 1000),
                        "behavior": any_obj()}),
    "paths": arr(s(pattern="^/")),
}
def workload_obj(extra_props=None, desc=None):
    props = dict(workload)
    props.update(extra_props or {})
    return obj(props, desc=desc)

schema = {
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Values of the bazaar chart",
  "definitions": {"workload": workload_obj()},
  "type": "object",
  "additionalProperties": False,
  "properties": {
    "global": any_obj("Set by a parent chart; unused here."),
    "enabled": {"type": "boolean", "description": "A parent chart's condition (bazaar.enabled); unused here."},
    "nameOverride": s(), "fullnameOverride": s(),
    "commonLabels": str_map,
    "image": obj({"repository": s(minLength=1), "tag": {"type": ["string", "number"]}, "digest": s(pattern="^(|sha256:[a-f0-9]{64})$"),
                  "pullPolicy": s(enum=["Always", "IfNotPresent", "Never"])}, ["repository"]),
    "imagePullSecrets": arr(obj({"name": s(minLength=1)}, ["name"])),
    "serviceAccount": obj({"create": b, "name": s(), "annotations": str_map}),
    "config": obj({
        "logFormat": s(enum=["json", "pretty"]),
        "logLevel": ns(),
        "http": obj({"bodyLimitBytes": ni(1, 64 * 1024 * 1024), "shutdownGraceSeconds": ni(1, 600),
                     "corsOrigins": arr(s(pattern="^https?://[^/,]+$")), "corsMaxAgeSeconds": ni(0, 86400)}),
        "database": obj({"schemaPrefix": ns(pattern="^[a-z0-9_]*$"), "maxConnections": ni(1, 500), "acquireTimeoutMs": ni(10, 60000)}),
        "kafka": obj({"brokers": s(pattern="^$|^[^,:]+:[0-9]+(,[^,:]+:[0-9]+)*$"), "topicPrefix": ns(), "partitions": ni(1, 1000),
                      "maxAttempts": ni(1, 100), "retryBackoffMs": ni(1, 60000), "outboxPollMs": ni(5, 60000)}),
        "auth": obj({"issuer": ns(), "audience": ns(), "leewaySeconds": ni(0), "jwksUrl": s(pattern="^$|^https?://")}),
        "identity": obj({"accessTokenTtlSeconds": ni(10, 86400), "refreshTokenTtlSeconds": ni(60, 365 * 86400),
                         "rateLimitWindowSeconds": ni(1, 86400), "loginLimitPerClient": ni(1), "loginLimitPerAccount": ni(1),
                         "registerLimitPerClient": ni(1), "registerLimitPerAccount": ni(1),
                         "trustedProxies": arr(s()), "argon2MemoryKib": ni(8, 1048576), "argon2Iterations": ni(1, 100), "hashConcurrency": ni(0, 1024), "hashQueue": ni(0, 100000), "hashMaxWaitMs": ni(1, 60000)}),
        "order": obj({"catalogUrl": s(pattern="^$|^https?://"), "paymentAttempts": ni(1, 10),
                      "taxRates": {"type": "object", "propertyNames": {"pattern": "^[A-Z]{2}(-[A-Z0-9]{1,3})?$"},
                                   "additionalProperties": {"type": ["string", "number"], "pattern": "^[0-9]+(\\.[0-9]+)?$"},
                                   "description": "percent by destination, e.g. {US-CA: \"7.25\"}"},
                      "defaultCurrency": ns(pattern="^[A-Z]{3}$"),
                      "checkoutMaxPending": ni(0, 1000000), "checkoutBacklogRefreshMs": ni(10, 60000)}),
        "inventory": obj({"reservationTtlSeconds": ni(1, 7 * 24 * 3600), "expiryIntervalMs": ni(10, 3600000)}),
        "payment": obj({"simulatedLatencyMs": ni(0, 60000), "simulatedFailureRate": {"type": ["number", "string", "null"], "minimum": 0, "maximum": 1},
                        "providerTimeoutMs": ni(1, 300000), "maxTries": ni(1, 1000), "retryBackoffMs": ni(1, 600000)}),
        "notification": obj({"transport": {"type": ["string", "null"], "enum": ["log", "smtp", None]}, "from": ns(), "opsEmails": arr(s()),
                             "smtp": obj({"host": ns(), "port": ni(1, 65535), "tls": {"type": ["string", "null"], "enum": ["none", "starttls", "tls", None]},
                                          "username": ns(), "timeoutSeconds": ni(1, 300)}),
                             "maxAttempts": ni(1, 100), "retryBackoffMs": ni(1, 600000)}),
        "review": obj({"moderation": {"type": ["string", "null"], "enum": ["publish", "hold", None]},
                       "rateLimit": ni(1, 1000000), "rateWindowSeconds": ni(1, 30 * 24 * 3600),
                       "orderUrl": s(pattern="^(https?://.+)?$")}),
        "tracing": obj({"otlpEndpoint": s(pattern="^(https?://.+)?$", description="http(s)://host:port, or empty for no export"),
                        "sampler": {"type": ["string", "null"], "enum": ["always_on", "always_off", "traceidratio", "parentbased_always_on",
                                                                       "parentbased_always_off", "parentbased_traceidratio", None]},
                        "samplerArg": {"type": ["string", "number", "null"]}}),
        "extraEnv": env_map,
    }),
    "secret": obj({"existingSecret": s(), "databaseUrl": s(pattern="^$|^postgres(ql)?://"),
                   "componentDatabaseUrls": obj({c: s(pattern="^$|^postgres(ql)?://") for c in COMPONENTS}),
                   "smtpPassword": s(), "extra": env_map}),
    "default": {"$ref": "#/definitions/workload", "description": "Applies to every component, the operator and the migration Job."},
    "components": obj({c: {"$ref": "#/definitions/workload"} for c in COMPONENTS}),
    "operator": workload_obj({"watchNamespace": s(), "leaseName": s(), "leaseSeconds": ni(3, 300),
                              "serviceAccount": obj({"create": b, "name": s(), "annotations": str_map}),
                              "rbac": obj({"create": b})}),
    "migration": obj({"job": obj({"enabled": b, "backoffLimit": i(0), "activeDeadlineSeconds": ni(1), "ttlSecondsAfterFinished": ni(0),
                                  "podAnnotations": str_map, "resources": {"type": ["object", "null"]}})}),
    "crds": obj({"enabled": b, "keep": b}),
    "loadgen": obj({"enabled": b, "mode": {"type": "string", "enum": ["shoppers", "saga"]}, "url": s(pattern="^$|^https?://"),
                    "users": i(1), "rampUp": s(), "hold": s(), "rampDown": s(), "thinkTime": s(), "mix": s(),
                    "concurrency": i(1), "duration": s(), "adminEmail": s(),
                    "adminPasswordSecret": obj({"name": s(), "key": s()}), "reportClaim": s(), "extraArgs": arr(s()),
                    "backoffLimit": i(0), "activeDeadlineSeconds": ni(1), "ttlSecondsAfterFinished": ni(0),
                    "podAnnotations": str_map, "resources": {"type": ["object", "null"]}}),
    "storefront": obj({"component": {"type": "string", "enum": [""] + COMPONENTS}}),
    "ingress": obj({"enabled": b, "className": s(), "annotations": str_map, "hosts": arr(s()), "tls": arr(any_obj())}),
    "httpRoute": obj({"enabled": b, "parentRefs": arr(any_obj()), "hostnames": arr(s()), "annotations": str_map}),
    "networkPolicy": obj({"enabled": b, "ingressFrom": arr(any_obj())}),
    "monitoring": obj({
        "serviceMonitor": obj({"enabled": b, "labels": str_map, "interval": s(), "scrapeTimeout": s(), "relabelings": arr(any_obj()), "metricRelabelings": arr(any_obj())}),
        "prometheusRule": obj({"enabled": b, "labels": str_map, "extraGroups": arr(any_obj())}),
        "dashboards": obj({"enabled": b, "labels": str_map, "annotations": str_map, "namespace": s()}),
        "slo": obj({k: {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
                    for k in ("checkoutAvailability", "checkoutLatency", "catalogReadAvailability", "catalogReadLatency")}),
    }),
    "devInfra": obj({
        "postgresql": obj({"enabled": b, "image": image, "password": s(pattern="^[A-Za-z0-9._~-]*$", description="URL-safe characters only (it is put in DATABASE_URL as is)"),
                           "persistence": obj({"enabled": b, "size": quantity, "storageClass": s()}), "resources": {"type": ["object", "null"]}}),
        "kafka": obj({"enabled": b, "image": image, "heapOpts": s(), "resources": {"type": ["object", "null"]}}),
        "mailpit": obj({"enabled": b, "image": image, "resources": {"type": ["object", "null"]}}),
    }),
  },
}
print(json.dumps(schema, indent=2))

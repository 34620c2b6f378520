{{/* ---- names ---------------------------------------------------------------------------------------- */}}

{{- define "bazaar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name; every object is named from it. Kept short enough for "-notification-xxxxx". */}}
{{- define "bazaar.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "bazaar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ---- labels --------------------------------------------------------------------------------------- */}}

{{/* Labels of every object. */}}
{{- define "bazaar.labels" -}}
helm.sh/chart: {{ include "bazaar.chart" . }}
{{ include "bazaar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: bazaar
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "bazaar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bazaar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component's objects. Argument: (dict "root" $ "component" "order"). */}}
{{- define "bazaar.componentLabels" -}}
{{ include "bazaar.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "bazaar.componentSelectorLabels" -}}
{{ include "bazaar.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* ---- values helpers -------------------------------------------------------------------------------- */}}

{{/*
Merges the map `src` into the map `dst`, recursively, in place. Unlike sprig's merge functions, a false, 0, ""
or null in `src` does override `dst` (so `enabled: false` in a component beats `true` in `default`).
Argument: (list dst src).
*/}}
{{- define "bazaar.mergeInto" -}}
{{- $dst := index . 0 -}}
{{- $src := index . 1 -}}
{{- range $key, $value := $src -}}
{{- if and (kindIs "map" $value) (kindIs "map" (get $dst $key)) -}}
{{- include "bazaar.mergeInto" (list (get $dst $key) $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
One component's effective settings: the `default` block with `components.<name>` (or `operator`) merged over
it, as YAML. Argument: (dict "root" $ "values" <the component's own block>).
*/}}
{{- define "bazaar.effective" -}}
{{- $merged := deepCopy .root.Values.default -}}
{{- include "bazaar.mergeInto" (list $merged (deepCopy (.values | default dict))) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* A value as an environment variable's text: whole numbers without an exponent, everything else as is. */}}
{{- define "bazaar.envText" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* True ("true") when a value is set: not null and not an empty string, list or map. */}}
{{- define "bazaar.isSet" -}}
{{- if kindIs "invalid" . -}}
{{- else if and (kindIs "string" .) (eq . "") -}}
{{- else if and (kindIs "slice" .) (eq (len .) 0) -}}
{{- else if and (kindIs "map" .) (eq (len .) 0) -}}
{{- else -}}true{{- end -}}
{{- end -}}

{{/* ---- image ---------------------------------------------------------------------------------------- */}}

{{- define "bazaar.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* ---- where things are ------------------------------------------------------------------------------ */}}

{{- define "bazaar.componentService" -}}
{{- printf "%s-%s" (include "bazaar.fullname" .root) .component -}}
{{- end -}}

{{/* A component's Service port. Argument: (dict "root" $ "component" name). */}}
{{- define "bazaar.servicePort" -}}
{{- $c := include "bazaar.effective" (dict "root" .root "values" (get .root.Values.components .component)) | fromYaml -}}
{{- include "bazaar.envText" $c.service.port -}}
{{- end -}}

{{- define "bazaar.configMapName" -}}
{{- printf "%s-config" (include "bazaar.fullname" .) -}}
{{- end -}}

{{/* The Secret the components read their secret settings from: one given, one the chart makes, or none. */}}
{{- define "bazaar.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else if eq (include "bazaar.chartSecretNeeded" .) "true" -}}
{{- printf "%s-secret" (include "bazaar.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "bazaar.chartSecretNeeded" -}}
{{- $s := .Values.secret -}}
{{- if and (not $s.existingSecret) (or $s.databaseUrl $s.smtpPassword (include "bazaar.isSet" $s.componentDatabaseUrls) (include "bazaar.isSet" $s.extra)) -}}true{{- end -}}
{{- end -}}

{{- define "bazaar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bazaar.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "bazaar.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (printf "%s-operator" (include "bazaar.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "bazaar.leaseName" -}}
{{- default (printf "%s-operator" (include "bazaar.fullname" .)) .Values.operator.leaseName -}}
{{- end -}}

{{/* Kafka bootstrap servers: configured, or the development broker when it is on. */}}
{{- define "bazaar.kafkaBrokers" -}}
{{- if .Values.config.kafka.brokers -}}
{{- .Values.config.kafka.brokers -}}
{{- else if .Values.devInfra.kafka.enabled -}}
{{- printf "%s-kafka:9092" (include "bazaar.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* True when DATABASE_URL is built from the development PostgreSQL's password (no URL given elsewhere). */}}
{{- define "bazaar.devDatabaseUrl" -}}
{{- if and .Values.devInfra.postgresql.enabled (not .Values.secret.existingSecret) (not .Values.secret.databaseUrl) -}}true{{- end -}}
{{- end -}}

{{/* ---- pod parts -------------------------------------------------------------------------------------- */}}

{{/*
Environment of a Bazaar container: the shared ConfigMap and Secret, then what differs per component, then the
component's own `env` and `extraEnv`. Argument: (dict "root" $ "component" name "c" effectiveSettings).
*/}}
{{- define "bazaar.envFrom" -}}
- configMapRef:
    name: {{ include "bazaar.configMapName" .root }}
{{- with include "bazaar.secretName" .root }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{- define "bazaar.env" -}}
{{- $root := .root -}}
{{- $fullname := include "bazaar.fullname" $root -}}
{{- if eq (include "bazaar.devDatabaseUrl" $root) "true" }}
- name: BAZAAR_DEV_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $fullname }}-postgresql
      key: password
- name: DATABASE_URL
  value: "postgres://bazaar:$(BAZAAR_DEV_POSTGRES_PASSWORD)@{{ $fullname }}-postgresql:5432/bazaar"
{{- end }}
{{- if and (ne .component "identity") (ne .component "migrate") (ne .component "operator") }}
{{- if $root.Values.config.auth.jwksUrl }}
- name: BAZAAR_JWKS_URL
  value: {{ $root.Values.config.auth.jwksUrl | quote }}
{{- else if $root.Values.components.identity.enabled }}
- name: BAZAAR_JWKS_URL
  value: "http://{{ $fullname }}-identity.{{ $root.Release.Namespace }}.svc:{{ include "bazaar.servicePort" (dict "root" $root "component" "identity") }}/.well-known/jwks.json"
{{- end }}
{{- end }}
{{- if $root.Values.config.tracing.otlpEndpoint }}
- name: OTEL_SERVICE_NAME
  value: "bazaar-{{ .component }}"
{{- end }}
{{- if eq .component "order" }}
{{- if $root.Values.config.order.catalogUrl }}
- name: BAZAAR_CATALOG_URL
  value: {{ $root.Values.config.order.catalogUrl | quote }}
{{- else if $root.Values.components.catalog.enabled }}
- name: BAZAAR_CATALOG_URL
  value: "http://{{ $fullname }}-catalog.{{ $root.Release.Namespace }}.svc:{{ include "bazaar.servicePort" (dict "root" $root "component" "catalog") }}"
{{- end }}
{{- end }}
{{- if eq .component "review" }}
{{- if $root.Values.config.review.orderUrl }}
- name: REVIEW_ORDER_URL
  value: {{ $root.Values.config.review.orderUrl | quote }}
{{- else if $root.Values.components.order.enabled }}
- name: REVIEW_ORDER_URL
  value: "http://{{ $fullname }}-order.{{ $root.Release.Namespace }}.svc:{{ include "bazaar.servicePort" (dict "root" $root "component" "order") }}"
{{- end }}
{{- end }}
{{- range $name, $value := .c.env }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ $name }}
  value: {{ include "bazaar.envText" $value | quote }}
{{- end }}
{{- end }}
{{- with .c.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level fields every Bazaar pod shares. Argument: (dict "root" $ "c" effectiveSettings). */}}
{{- define "bazaar.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "bazaar.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .c.tmpSizeLimit }}
{{- with .c.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "bazaar.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- with .c.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Checksums of the configuration the pods read, so that a change rolls them. Argument: $.
*/}}
{{- define "bazaar.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum | trunc 16 }}
{{- if eq (include "bazaar.chartSecretNeeded" .) "true" }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum | trunc 16 }}
{{- end }}
{{- end -}}

{{/* The init container that applies a schema's migrations before the component starts. */}}
{{- define "bazaar.migrateInitContainer" -}}
- name: migrate
  image: {{ include "bazaar.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: [migrate{{ with .schema }}, {{ . }}{{ end }}]
  envFrom:
    {{- include "bazaar.envFrom" . | nindent 4 }}
  {{- with include "bazaar.env" (dict "root" .root "component" "migrate" "c" .c) }}
  env:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with .c.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .c.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* topologySpreadConstraints; one without a labelSelector gets the pod's own selector labels. */}}
{{- define "bazaar.topologySpread" -}}
{{- if .c.topologySpreadConstraints }}
{{- $selector := include "bazaar.componentSelectorLabels" . | fromYaml }}
topologySpreadConstraints:
{{- range .c.topologySpreadConstraints }}
{{- $constraint := deepCopy . }}
{{- if not $constraint.labelSelector }}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" $selector) }}
{{- end }}
  - {{ toYaml $constraint | nindent 4 | trim }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The HTTP routes of the release: [{path, service}] as YAML, from components.<name>.paths of
the enabled components, then `/` to storefront.component.
*/}}
{{- define "bazaar.routes" -}}
{{- $root := . -}}
{{- $routes := list -}}
{{- range $name, $values := .Values.components -}}
{{- $c := include "bazaar.effective" (dict "root" $root "values" $values) | fromYaml -}}
{{- if $c.enabled -}}
{{- range $c.paths -}}
{{- $routes = append $routes (dict "path" . "service" (printf "%s-%s" (include "bazaar.fullname" $root) $name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with .Values.storefront.component -}}
{{- if not (get $root.Values.components .).enabled -}}
{{- fail (printf "storefront.component %q is not an enabled component" .) -}}
{{- end -}}
{{- $routes = append $routes (dict "path" "/" "service" (printf "%s-%s" (include "bazaar.fullname" $root) .)) -}}
{{- end -}}
{{- toYaml $routes -}}
{{- end -}}

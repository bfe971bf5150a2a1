{{/* The chart's name, shortened to what a label value allows. */}}
{{- define "adpipe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: "<release>-adpipe", or the release name when
it already holds the chart's name. Resource names derive from it. */}}
{{- define "adpipe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "adpipe.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Helm's recommended labels. Call with (dict "root" $ "component" "api"). */}}
{{- define "adpipe.labels" -}}
helm.sh/chart: {{ include "adpipe.chart" .root }}
{{ include "adpipe.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: adpipe
{{- end }}

{{/* What Deployments, Services, PDBs and spread constraints select on. */}}
{{- define "adpipe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "adpipe.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{- define "adpipe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "adpipe.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "adpipe.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The queue length one worker replica is meant for: the value, or the
measured pace (ads/s) times the wait (s). */}}
{{- define "adpipe.queueLengthPerReplica" -}}
{{- $target := .Values.worker.autoscaling.target }}
{{- if gt (int $target.queueLengthPerReplica) 0 }}
{{- int $target.queueLengthPerReplica }}
{{- else }}
{{- mul (int $target.paceAdsPerSecond) (int $target.waitSeconds) }}
{{- end }}
{{- end }}

{{/* ADPIPE_POLICY: the chart's ConfigMap policy, or the path given. */}}
{{- define "adpipe.policyPath" -}}
{{- if .Values.model.policyToml }}/etc/adpipe/policy/policy.toml{{ else }}{{ .Values.model.policy }}{{ end }}
{{- end }}

{{/* Whether the API needs the custom model's volume: only for a policy
that lies in it. */}}
{{- define "adpipe.apiMountsModel" -}}
{{- $custom := .Values.model.custom }}
{{- if and (ne $custom.source "none") (not .Values.model.policyToml) (hasPrefix (printf "%s/" (trimSuffix "/" $custom.mountPath)) .Values.model.policy) }}true{{ end }}
{{- end }}

{{/* The ConfigMap's ADPIPE_* variables (a YAML map), shared by the
Deployments (envFrom) and the migration hook, which runs before the
ConfigMap exists and so takes them inline. */}}
{{- define "adpipe.configEnv" -}}
{{- $c := .Values.config }}
ADPIPE_HTTP_ADDR: {{ printf "0.0.0.0:%d" (int .Values.api.port) | quote }}
ADPIPE_PUBLIC_URL: {{ $c.publicUrl | quote }}
ADPIPE_LOG_JSON: {{ $c.logJson | toString | quote }}
{{- with $c.trustedProxies }}
ADPIPE_TRUSTED_PROXIES: {{ join "," . | quote }}
{{- end }}
RUST_LOG: {{ $c.logFilter | quote }}
ADPIPE_DATABASE_MAX_CONNECTIONS: {{ $c.databaseMaxConnections | int | toString | quote }}
{{- if eq $c.queue.type "rabbitmq" }}
ADPIPE_AMQP_QUEUE: {{ $c.queue.name | quote }}
ADPIPE_AMQP_DELIVERY_LIMIT: {{ $c.queue.deliveryLimit | int | toString | quote }}
{{- end }}
{{- with $c.s3.endpoint }}
ADPIPE_S3_ENDPOINT: {{ . | quote }}
{{- end }}
ADPIPE_S3_BUCKET: {{ $c.s3.bucket | quote }}
ADPIPE_S3_REGION: {{ $c.s3.region | quote }}
ADPIPE_S3_PATH_STYLE: {{ $c.s3.pathStyle | toString | quote }}
{{- with $c.smtp.host }}
ADPIPE_SMTP_HOST: {{ . | quote }}
{{- end }}
ADPIPE_SMTP_PORT: {{ $c.smtp.port | int | toString | quote }}
ADPIPE_SMTP_TLS: {{ $c.smtp.tls | quote }}
ADPIPE_SMTP_FROM: {{ $c.smtp.from | quote }}
{{- with $c.smtp.username }}
ADPIPE_SMTP_USERNAME: {{ . | quote }}
{{- end }}
ADPIPE_WORKER_BATCH_SIZE: {{ $c.worker.batchSize | int | toString | quote }}
{{- if gt (int $c.worker.threads) 0 }}
ADPIPE_WORKER_THREADS: {{ $c.worker.threads | int | toString | quote }}
{{- end }}
{{- if gt (int $c.worker.decodeThreads) 0 }}
ADPIPE_WORKER_DECODE_THREADS: {{ $c.worker.decodeThreads | int | toString | quote }}
{{- end }}
{{- if eq .Values.model.custom.source "none" }}
ADPIPE_MODEL: {{ .Values.model.path | quote }}
{{- else }}
ADPIPE_MODEL: {{ printf "%s/%s" (trimSuffix "/" .Values.model.custom.mountPath) .Values.model.custom.modelFile | quote }}
{{- end }}
ADPIPE_POLICY: {{ include "adpipe.policyPath" . | quote }}
{{- with .Values.model.gates }}
ADPIPE_GATES: {{ join "," . | quote }}
{{- end }}
{{- with .Values.model.device }}
ADPIPE_DEVICE: {{ . | quote }}
{{- end }}
{{- range $name, $value := $c.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* The secrets, each by reference (secretKeyRef) to an existing Secret;
an entry with no key is left out. */}}
{{- define "adpipe.secretEnv" -}}
{{- $s := .Values.secrets }}
{{- $entries := list (list "ADPIPE_DATABASE_URL" $s.databaseUrl) }}
{{- if eq .Values.config.queue.type "rabbitmq" }}
{{- $entries = append $entries (list "ADPIPE_AMQP_URL" $s.amqpUrl) }}
{{- end }}
{{- $entries = append $entries (list "ADPIPE_S3_ACCESS_KEY" $s.s3AccessKey) }}
{{- $entries = append $entries (list "ADPIPE_S3_SECRET_KEY" $s.s3SecretKey) }}
{{- $entries = append $entries (list "ADPIPE_SMTP_PASSWORD" $s.smtpPassword) }}
{{- $entries = append $entries (list "ADPIPE_WEBHOOK_URL" $s.webhookUrl) }}
{{- $entries = append $entries (list "ADPIPE_WEBHOOK_SECRET" $s.webhookSecret) }}
{{- $entries = append $entries (list "ADPIPE_ADMIN_TOKEN" $s.adminToken) }}
{{- range $entries }}
{{- $ref := index . 1 }}
{{- if $ref.key }}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ default $s.existingSecret $ref.secret | quote }}
      key: {{ $ref.key | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Spread a component's pods over nodes and zones. */}}
{{- define "adpipe.topologySpread" -}}
{{- $root := .root }}
{{- if $root.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range $root.Values.topologySpread.topologyKeys }}
  - maxSkew: {{ $root.Values.topologySpread.maxSkew }}
    topologyKey: {{ . | quote }}
    whenUnsatisfiable: {{ $root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "adpipe.selectorLabels" (dict "root" $root "component" $.component) | nindent 8 }}
{{- end }}
{{- end }}
{{- end }}

{{/* The volumes every pod has: /tmp, the one place written. */}}
{{- define "adpipe.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{/* The custom model's volume (model.custom.source volume or configMap). */}}
{{- define "adpipe.modelVolume" -}}
{{- $custom := .Values.model.custom }}
{{- if eq $custom.source "volume" }}
- name: model
  {{- toYaml $custom.volume | nindent 2 }}
{{- else if eq $custom.source "configMap" }}
- name: model
  configMap:
    name: {{ default (printf "%s-model" (include "adpipe.fullname" .)) $custom.configMap.name | quote }}
{{- end }}
{{- end }}

{{- define "adpipe.policyVolume" -}}
{{- if .Values.model.policyToml }}
- name: policy
  configMap:
    name: {{ printf "%s-policy" (include "adpipe.fullname" .) | quote }}
    items:
      - key: policy.toml
        path: policy.toml
{{- end }}
{{- end }}

{{/* What values.schema.json cannot say (it compares no two values). */}}
{{- define "adpipe.checks" -}}
{{- $w := .Values.worker.autoscaling }}
{{- if gt (int $w.minReplicas) (int $w.maxReplicas) }}
{{- fail "worker.autoscaling.minReplicas is above maxReplicas" }}
{{- end }}
{{- $a := .Values.api.autoscaling }}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) }}
{{- fail "api.autoscaling.minReplicas is above maxReplicas" }}
{{- end }}
{{- if le (int .Values.api.terminationGracePeriodSeconds) (int .Values.api.preStopSleepSeconds) }}
{{- fail "api.terminationGracePeriodSeconds must be longer than api.preStopSleepSeconds" }}
{{- end }}
{{- if eq (int .Values.api.port) (int .Values.api.metricsPort) }}
{{- fail "api.metricsPort must differ from api.port (GET /metrics has a port of its own)" }}
{{- end }}
{{- end }}

{{- define "chatstate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "chatstate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "chatstate.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chatstate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "chatstate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "chatstate.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/* Non-secret settings of every process: the ConfigMap's data, and the prepare Job's env (a
     hook runs before the ConfigMap exists). */}}
{{- define "chatstate.config" -}}
{{- $c := dict
  "KAFKA_BOOTSTRAP_SERVERS" (required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers)
  "KAFKA_SECURITY_PROTOCOL" .Values.kafka.securityProtocol
  "CHATSTATE_TOPIC_PREFIX" .Values.topicPrefix
  "CHATSTATE_RUNBOOK_BASE_URL" .Values.runbookBaseUrl
  "CHATSTATE_LOG_FORMAT" "json"
  "CHATSTATE_STATE_DIR" "/tmp/chatstate"
  "CHATSTATE_CACHE_DIR" "/tmp/chatstate-cache"
  "CHATSTATE_WORKER_HTTP_HOST" "0.0.0.0"
  "CHATSTATE_WORKER_HTTP_PORT" (toString .Values.worker.httpPort)
  "CHATSTATE_API_HOST" "0.0.0.0"
  "CHATSTATE_API_PORT" (toString .Values.api.port)
  "CHATSTATE_API_OPS_HOST" "0.0.0.0"
  "CHATSTATE_API_OPS_PORT" (toString .Values.api.opsPort)
  "CHATSTATE_API_WORKERS" (toString .Values.api.processes)
  "CHATSTATE_BRIDGE_HTTP_HOST" "0.0.0.0"
  "CHATSTATE_BRIDGE_HTTP_PORT" (toString .Values.bridge.httpPort)
-}}
{{- with .Values.kafka.saslMechanism }}{{ $_ := set $c "KAFKA_SASL_MECHANISM" . }}{{ end -}}
{{- with .Values.kafka.saslUsername }}{{ $_ := set $c "KAFKA_SASL_USERNAME" . }}{{ end -}}
{{- if .Values.kafka.caSecret }}{{ $_ := set $c "KAFKA_SSL_CAFILE" "/etc/chatstate/kafka-ca/ca.crt" }}{{ end -}}
{{- if .Values.bridge.enabled -}}
{{- $_ := set $c "GENESYS_REGION" .Values.bridge.genesys.region -}}
{{- $_ := set $c "GENESYS_CLIENT_ID" .Values.bridge.genesys.clientId -}}
{{- $_ := set $c "GENESYS_QUEUE_IDS" .Values.bridge.genesys.queueIds -}}
{{- end -}}
{{- range $k, $v := .Values.config }}{{ $_ := set $c $k (toString $v) }}{{ end -}}
{{- toYaml $c -}}
{{- end -}}

{{/* One env entry from an existing Secret: (dict "env" NAME "ref" .Values.secrets.X). */}}
{{- define "chatstate.secretEnv" -}}
{{- if .ref.name }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
{{- end }}
{{- end -}}

{{/* Secrets every process needs: the database and, with SASL, Kafka's password. */}}
{{- define "chatstate.commonSecretEnv" -}}
{{- $_ := required "secrets.database.name is required" .Values.secrets.database.name }}
{{- include "chatstate.secretEnv" (dict "env" "DATABASE_URL" "ref" .Values.secrets.database) }}
{{- include "chatstate.secretEnv" (dict "env" "KAFKA_SASL_PASSWORD" "ref" .Values.secrets.kafkaSaslPassword) }}
{{- end -}}

{{- define "chatstate.volumes" -}}
- name: tmp
  emptyDir: {}
{{- with .Values.kafka.caSecret }}
- name: kafka-ca
  secret: {secretName: {{ . }}}
{{- end }}
{{- with .Values.postgres.caSecret }}
- name: postgres-ca
  secret: {secretName: {{ . }}}
{{- end }}
{{- end -}}

{{- define "chatstate.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.caSecret }}
- name: kafka-ca
  mountPath: /etc/chatstate/kafka-ca
  readOnly: true
{{- end }}
{{- if .Values.postgres.caSecret }}
- name: postgres-ca
  mountPath: /etc/chatstate/postgres-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Liveness, readiness and startup probes on a process's ops port. */}}
{{- define "chatstate.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: 5
  failureThreshold: 24
livenessProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: {{ .port }}}
  periodSeconds: 10
  timeoutSeconds: 9
  failureThreshold: 3
{{- end -}}

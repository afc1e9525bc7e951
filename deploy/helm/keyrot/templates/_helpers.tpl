{{/* The chart's name, truncated to 63 characters (a DNS label). */}}
{{- define "keyrot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: RELEASE-keyrot, or RELEASE when it already says keyrot. */}}
{{- define "keyrot.fullname" -}}
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

{{- define "keyrot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyrot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keyrot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "keyrot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "keyrot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keyrot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The API token is mounted only when keyrot delivers keys to Secrets of this
cluster (or when asked).
*/}}
{{- define "keyrot.automountToken" -}}
{{- or .Values.serviceAccount.automountServiceAccountToken (gt (len .Values.kubernetesDelivery.secrets) 0) }}
{{- end }}

{{- define "keyrot.configMapName" -}}
{{- default (include "keyrot.fullname" .) .Values.existingConfigMap }}
{{- end }}

{{- define "keyrot.tokenSecretName" -}}
{{- default (printf "%s-serve-token" (include "keyrot.fullname" .)) .Values.serve.token.existingSecret }}
{{- end }}

{{- define "keyrot.claimName" -}}
{{- default (include "keyrot.fullname" .) .Values.persistence.existingClaim }}
{{- end }}

{{- define "keyrot.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.serve.port | quote }}
prometheus.io/path: /metrics
prometheus.io/scheme: http
{{- end }}

{{/*
The pod: one keyrot container with the given args, the config from the
ConfigMap, state on the volume, temporary files on an emptyDir, secrets as
environment variables, and the restricted security context.
*/}}
{{- define "keyrot.podSpec" -}}
{{- $ := .root -}}
serviceAccountName: {{ include "keyrot.serviceAccountName" $ }}
automountServiceAccountToken: {{ include "keyrot.automountToken" $ }}
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $.Values.podSecurityContext | nindent 2 }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
containers:
  - name: keyrot
    image: "{{ $.Values.image.repository }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}"
    imagePullPolicy: {{ $.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    env:
      - name: KEYROT_STATE_DIR
        value: /var/lib/keyrot
      - name: TMPDIR
        value: /tmp
      {{- with $.Values.aws.region }}
      - name: AWS_REGION
        value: {{ . | quote }}
      {{- end }}
      {{- if eq $.Values.mode "serve" }}
      - name: KEYROT_SERVE_TOKEN
        valueFrom:
          secretKeyRef:
            name: {{ include "keyrot.tokenSecretName" $ }}
            key: {{ $.Values.serve.token.key }}
      {{- end }}
      {{- range $.Values.secretEnv }}
      - name: {{ required "secretEnv: every entry needs a name" .name }}
        valueFrom:
          secretKeyRef:
            name: {{ required (printf "secretEnv %s: secretName is required" .name) .secretName }}
            key: {{ required (printf "secretEnv %s: key is required" .name) .key }}
            {{- if hasKey . "optional" }}
            optional: {{ .optional }}
            {{- end }}
      {{- end }}
      {{- with $.Values.env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- with $.Values.envFrom }}
    envFrom:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if eq $.Values.mode "serve" }}
    ports:
      - name: http
        containerPort: {{ $.Values.serve.port }}
        protocol: TCP
    livenessProbe:
      httpGet:
        path: /healthz
        port: http
      {{- toYaml $.Values.probes.liveness | nindent 6 }}
    readinessProbe:
      httpGet:
        path: /readyz
        port: http
      {{- toYaml $.Values.probes.readiness | nindent 6 }}
    {{- end }}
    securityContext:
      {{- toYaml $.Values.securityContext | nindent 6 }}
    {{- with $.Values.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    volumeMounts:
      - name: config
        mountPath: /etc/keyrot
        readOnly: true
      - name: state
        mountPath: /var/lib/keyrot
      - name: tmp
        mountPath: /tmp
volumes:
  - name: config
    configMap:
      name: {{ include "keyrot.configMapName" $ }}
      items:
        - key: keyrot.yaml
          path: keyrot.yaml
  - name: state
    {{- if $.Values.persistence.enabled }}
    persistentVolumeClaim:
      claimName: {{ include "keyrot.claimName" $ }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
{{- with $.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Annotations of the pod template: a config checksum, so that a config change rolls the pod. */}}
{{- define "keyrot.podAnnotations" -}}
checksum/config: {{ .Values.config | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- if and .Values.metrics.scrapeAnnotations (eq .Values.mode "serve") }}
{{ include "keyrot.scrapeAnnotations" . }}
{{- end }}
{{- end }}

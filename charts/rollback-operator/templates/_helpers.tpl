{{/* The chart's name, e.g. for app.kubernetes.io/name. */}}
{{- define "rollback-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' base name: the release name, or release-chart when the release name lacks the chart's. */}}
{{- define "rollback-operator.fullname" -}}
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

{{/* Labels every object carries. */}}
{{- define "rollback-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "rollback-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rollback-operator
{{- end }}

{{/* The operator pod's identity: what the Deployment, Service, NetworkPolicy and PodMonitor select. */}}
{{- define "rollback-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rollback-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The image reference: a digest wins over a tag; the tag defaults to the chart's appVersion. */}}
{{- define "rollback-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the CA bundle is mounted, and the file the operator reads. */}}
{{- define "rollback-operator.caBundleDir" -}}/etc/rollback-operator/ca{{- end }}
{{- define "rollback-operator.caBundleFile" -}}{{ include "rollback-operator.caBundleDir" . }}/ca.crt{{- end }}

{{/* The TCP ports of the allowed provider endpoints: 443, and any port an allowed endpoint names. */}}
{{- define "rollback-operator.providerPorts" -}}
{{- $ports := list 443 }}
{{- range .Values.allowedEndpoints }}
{{- $url := urlParse . }}
{{- $hostport := splitList ":" $url.host }}
{{- if eq (len $hostport) 2 }}
{{- $ports = append $ports (atoi (last $hostport)) }}
{{- else if eq $url.scheme "http" }}
{{- $ports = append $ports 80 }}
{{- end }}
{{- end }}
{{- toJson (uniq $ports) }}
{{- end }}

{{/* Refusals the schema also states, repeated here for --skip-schema-validation. */}}
{{- define "rollback-operator.validate" -}}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled }}
{{- fail "metrics.serviceMonitor.enabled and metrics.podMonitor.enabled are both true: choose one, or Prometheus scrapes the operator twice and every rate doubles" }}
{{- end }}
{{- if and .Values.caBundle.configMap.name .Values.caBundle.secret.name }}
{{- fail "caBundle.configMap.name and caBundle.secret.name are both set: the CA bundle comes from one of them" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled .Values.networkPolicy.egress.enabled (not .Values.networkPolicy.egress.apiServer.cidrs) }}
{{- fail "networkPolicy.egress.enabled needs networkPolicy.egress.apiServer.cidrs: the API server's addresses (kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes)" }}
{{- end }}
{{- end }}

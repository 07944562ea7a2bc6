{{- /*
Helpers of stagehand's chart. `make chart` copies this file from
hack/chart/files into dist/chart: edit it there.
*/ -}}

{{/*
The first part of every object's name: the release name, followed by
-stagehand unless it already contains stagehand; or fullnameOverride. With the
release name stagehand, objects have the names config/default gives them
(stagehand-controller-manager, stagehand-api, ...).
*/}}
{{- define "stagehand.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
An object's name: the fullname, a dash and the suffix (what follows
config/default's stagehand- prefix), at most 63 characters; the fullname is
cut short first. Takes a dict: suffix, context (the root context).
*/}}
{{- define "stagehand.resourceName" -}}
{{- $fullname := include "stagehand.fullname" .context }}
{{- $max := sub 62 (len .suffix) | int }}
{{- printf "%s-%s" ($fullname | trunc $max | trimSuffix "-") .suffix | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels the chart sets on every object, beside config/default's.
*/}}
{{- define "stagehand.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{ include "stagehand.selectorLabels" . }}
{{- end }}

{{/*
What the chart adds to every label selector of config/default, so that two
releases never select each other's pods.
*/}}
{{- define "stagehand.selectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The manager's image: repository@digest, else repository:tag, the tag
defaulting to the chart's appVersion.
*/}}
{{- define "stagehand.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
How the API serves (api.tls): self-signed, a certificate from the manager's
own CA (config/default's way); secret, the certificate of a
kubernetes.io/tls Secret of the user's, cert-manager's or not
(config/components/api-tls); none, plain HTTP.
*/}}
{{- define "stagehand.apiTLSMode" -}}
{{- if not .Values.api.tls.enabled }}none
{{- else if or .Values.api.tls.secretName .Values.api.tls.certManager.enabled }}secret
{{- else }}self-signed
{{- end }}
{{- end }}

{{/*
The Secret holding the API's certificate and key (kubernetes.io/tls), with
api.tls.secretName or api.tls.certManager.
*/}}
{{- define "stagehand.apiTLSSecretName" -}}
{{- .Values.api.tls.secretName | default (include "stagehand.resourceName" (dict "suffix" (include "stagehand.apiTLSSecretSuffix" .) "context" .)) }}
{{- end }}

{{/*
The API's address inside the cluster.
*/}}
{{- define "stagehand.apiURL" -}}
{{- printf "%s://%s.%s.svc:%v" (ternary "https" "http" .Values.api.tls.enabled) (include "stagehand.apiServiceName" .) .Release.Namespace .Values.api.service.port }}
{{- end }}

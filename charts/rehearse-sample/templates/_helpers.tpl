{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "rehearse-sample.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release name plus chart name. */}}
{{- define "rehearse-sample.fullname" -}}
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

{{- define "rehearse-sample.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rehearse-sample.labels" -}}
helm.sh/chart: {{ include "rehearse-sample.chart" . }}
app.kubernetes.io/name: {{ include "rehearse-sample.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "rehearse-sample.serverTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component (server, postgresql, migrate, backup). */}}
{{- define "rehearse-sample.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rehearse-sample.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The server image tag; "latest" is refused so a rollback is exact. */}}
{{- define "rehearse-sample.serverTag" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag: \"latest\" is not allowed: pin the release's tag (e.g. 1.1) so helm rollback brings back the same server" }}
{{- end }}
{{- $tag }}
{{- end }}

{{- define "rehearse-sample.serverImage" -}}
{{- printf "%s:%s" .Values.image.repository (include "rehearse-sample.serverTag" .) }}
{{- end }}

{{- define "rehearse-sample.postgresqlName" -}}
{{- printf "%s-postgresql" (include "rehearse-sample.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Secret holding the database URL the server and Jobs use, and its key. */}}
{{- define "rehearse-sample.dbSecretName" -}}
{{- if .Values.postgresql.enabled }}
{{- .Values.postgresql.auth.existingSecret | default (printf "%s-db" (include "rehearse-sample.fullname" .)) }}
{{- else }}
{{- .Values.externalDatabase.existingSecret | default (printf "%s-db" (include "rehearse-sample.fullname" .)) }}
{{- end }}
{{- end }}

{{- define "rehearse-sample.dbSecretKey" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret }}
{{- .Values.externalDatabase.existingSecretKey | default "url" }}
{{- else }}
{{- "url" }}
{{- end }}
{{- end }}

{{/* Whether the chart creates the database Secret itself. */}}
{{- define "rehearse-sample.createDbSecret" -}}
{{- if .Values.postgresql.enabled }}
{{- if not .Values.postgresql.auth.existingSecret }}true{{ end }}
{{- else if not .Values.externalDatabase.existingSecret }}true{{ end }}
{{- end }}

{{/* The database URL, when the chart knows it. */}}
{{- define "rehearse-sample.dbURL" -}}
{{- if .Values.postgresql.enabled }}
{{- $a := .Values.postgresql.auth }}
{{- printf "postgres://%s:%s@%s:%v/%s?sslmode=disable" (urlquery $a.username) (urlquery (required "postgresql.auth.password is required" $a.password)) (include "rehearse-sample.postgresqlName" .) .Values.postgresql.port $a.database }}
{{- else }}
{{- required "externalDatabase.url (or externalDatabase.existingSecret) is required when postgresql.enabled=false" .Values.externalDatabase.url }}
{{- end }}
{{- end }}

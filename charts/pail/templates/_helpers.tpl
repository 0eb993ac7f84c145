{{/* Chart name. */}}
{{- define "pail.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-pail, or the release name when it already says pail. */}}
{{- define "pail.fullname" -}}
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

{{- define "pail.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pail.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pail.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "pail.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pail
{{- end }}

{{- define "pail.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pail.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pail.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Leader election is needed as soon as two replicas could reconcile. */}}
{{- define "pail.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{- define "pail.webhookServiceName" -}}
{{- printf "%s-webhook" (include "pail.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pail.webhookSecretName" -}}
{{- printf "%s-webhook-tls" (include "pail.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The operator's rules, from files/role.yaml, which controller-gen writes from
the kubebuilder RBAC markers (make manifests). The chart never copies them, so
a kind added to the operator is granted by the next chart build.
*/}}
{{- define "pail.operatorRules" -}}
{{- $rules := list }}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.Files.Get "files/role.yaml") -1 }}
{{- $obj := fromYaml $doc }}
{{- if eq (get $obj "kind") "ClusterRole" }}
{{- $rules = concat $rules (get $obj "rules") }}
{{- else if eq (get $obj "kind") "Role" }}
{{- fail "files/role.yaml now holds a namespaced Role; teach templates/rbac.yaml to render it rather than dropping its rules" }}
{{- end }}
{{- end }}
{{- if not $rules }}
{{- fail "files/role.yaml holds no ClusterRole rules; run make manifests" }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/*
The pail.dev resources (not subresources) the operator manages, from the same
file.
*/}}
{{- define "pail.managedResources" -}}
{{- $res := list }}
{{- range $rule := fromYamlArray (include "pail.operatorRules" .) }}
{{- if has "pail.dev" $rule.apiGroups }}
{{- range $r := $rule.resources }}
{{- if not (contains "/" $r) }}
{{- $res = append $res $r }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml ($res | uniq | sortAlpha) }}
{{- end }}

{{/*
The resources tenants get through the aggregated user roles: the tenant kinds
rbac.tenantResources names, each checked to be a kind the operator manages
(files/role.yaml) and namespaced (its CRD in crds/). A kind added to the
operator reaches tenants only once it is listed there, and a cluster-scoped
kind (ClusterProviders, guardrails) never does: those are the admin's.
*/}}
{{- define "pail.userResources" -}}
{{- $managed := fromYamlArray (include "pail.managedResources" .) }}
{{- $scopes := dict }}
{{- range $path, $unused := .Files.Glob "crds/*.yaml" }}
{{- $crd := fromYaml ($.Files.Get $path) }}
{{- if eq (dig "spec" "group" "" $crd) "pail.dev" }}
{{- $_ := set $scopes (dig "spec" "names" "plural" "" $crd) (dig "spec" "scope" "" $crd) }}
{{- end }}
{{- end }}
{{- range $r := .Values.rbac.tenantResources }}
{{- if not (has $r $managed) }}
{{- fail (printf "rbac.tenantResources: %s is not a pail.dev resource the operator manages (%s)" $r (join ", " $managed)) }}
{{- end }}
{{- if ne (get $scopes $r) "Namespaced" }}
{{- fail (printf "rbac.tenantResources: %s is not a namespaced kind (crds/ says scope %q); cluster-scoped kinds are for cluster admins only" $r (get $scopes $r)) }}
{{- end }}
{{- end }}
{{- toYaml (.Values.rbac.tenantResources | uniq | sortAlpha) }}
{{- end }}

{{/* Where the metrics.certSecret pair is mounted. */}}
{{- define "pail.metricsCertDir" -}}
/var/run/pail/metrics-certs
{{- end }}

{{- define "pail.metricsServiceName" -}}
{{- printf "%s-metrics" (include "pail.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The webhook's CA, serving certificate and key, base64-encoded. They are made
once per render and memoised on the top-level context, so the Secret, the
caBundle and the pod's checksum annotation all see the same certificate. An
existing Secret is reused (lookup), so an upgrade keeps the certificate the
running pod serves; helm template (no cluster) always generates new ones.
*/}}
{{- define "pail.webhookCerts" -}}
{{- if not (hasKey . "pailWebhookCerts") }}
{{- $svc := include "pail.webhookServiceName" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "pail.webhookSecretName" .) }}
{{- $data := dig "data" dict ($existing | default dict) }}
{{- if and (index $data "ca.crt") (index $data "tls.crt") (index $data "tls.key") }}
{{- $_ := set . "pailWebhookCerts" (dict "ca" (index $data "ca.crt") "crt" (index $data "tls.crt") "key" (index $data "tls.key")) }}
{{- else }}
{{- $days := int .Values.webhook.certValidityDays }}
{{- $ca := genCA (printf "%s-webhook-ca" (include "pail.fullname" .)) $days }}
{{- $names := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc .Release.Namespace) nil $names $days $ca }}
{{- $_ := set . "pailWebhookCerts" (dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc)) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pail.webhookCert" -}}
{{- include "pail.webhookCerts" . }}
{{- .pailWebhookCerts.crt }}
{{- end }}

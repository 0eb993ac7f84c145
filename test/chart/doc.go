// Package chart tests the Helm chart in charts/pail: what helm renders from
// it, what its values schema refuses, that its alerts use metrics the operator
// really exports, that the operator works with exactly the RBAC the chart
// grants, against a real kube-apiserver, and that the walk-through of
// docs/install.md (make demo-chart, each kind, the metrics) works as written.
package chart

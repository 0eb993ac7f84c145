// Package chart tests the Helm chart in charts/pail: what helm renders from
// it, what its values schema refuses, that its alerts use metrics the operator
// really exports, and that the operator works with exactly the RBAC the chart
// grants, against a real kube-apiserver.
package chart

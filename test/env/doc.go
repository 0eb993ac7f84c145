// Package env starts and stops the real servers Pail's integration tests and
// demo run against: MinIO, and etcd + kube-apiserver through
// controller-runtime's envtest, and kube-controller-manager with only the
// controllers a test needs (the namespace controller, for namespace
// deletion). Binaries come from the tools module, which
// builds and caches them. Every server listens on 127.0.0.1 only, and every
// process it starts runs in its own process group that Stop kills.
package env

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pail-dev/pail/test/env"
)

// The release as docs/install.md installs it.
const (
	chartRelease   = "pail"
	chartNamespace = "pail-system"
	// The chart names its Deployment after the release ("pail" when the
	// release name contains "pail").
	chartDeployment = "pail"
)

// tokenTTL is how long each ServiceAccount token lives. pail-demo asks for
// a new one at half of it, as the kubelet refreshes a projected token
// before it expires; client-go re-reads the token file by itself.
const tokenTTL = time.Hour

// checkChartPrereqs fails early, before the slow steps, when the chart or
// helm is missing.
func (d *demo) checkChartPrereqs() error {
	o := &d.o
	if _, err := os.Stat(filepath.Join(o.chart, "Chart.yaml")); err != nil {
		return fmt.Errorf("chart %s: %w", o.chart, err)
	}
	helm, err := exec.LookPath(o.helm)
	if err != nil {
		return fmt.Errorf("helm %q not found: install it with `make helm` (make demo-chart does): %w", o.helm, err)
	}
	o.helm = helm
	if _, err := os.Stat(o.policyDir); err != nil {
		return fmt.Errorf("policy packs: %w", err)
	}
	return nil
}

// installChart installs the chart the way docs/install.md tells a user to.
func (d *demo) installChart(ctx context.Context) error {
	o := &d.o
	args := []string{"install", chartRelease, o.chart, "--namespace", chartNamespace, "--create-namespace"}
	d.stepf("Installing the chart: helm %s", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, o.helm, slices.Concat(args, []string{"--kubeconfig", d.kubecfg})...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+d.kubecfg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("helm install: %w\n%s", err, out.String())
	}
	fmt.Print(indent(out.String()))
	return nil
}

// runDeployment does what a node would do for the chart's operator
// Deployment: it reads the pod template from the apiserver, gets a token
// for its ServiceAccount and runs the container's arguments with the locally
// built binary. Only the image's paths and the listen addresses change.
func (d *demo) runDeployment(ctx context.Context) error {
	o := &d.o
	d.stepf("Acting as the node: running deployment %s/%s as a local process", chartNamespace, chartDeployment)
	cs, err := kubernetes.NewForConfig(d.kube.Config)
	if err != nil {
		return err
	}
	dep, err := cs.AppsV1().Deployments(chartNamespace).Get(ctx, chartDeployment, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read the chart's Deployment %s/%s: %w", chartNamespace, chartDeployment, err)
	}
	d.chartDep = chartNamespace + "/" + dep.Name
	c, err := operatorContainer(dep)
	if err != nil {
		return err
	}
	metricsAddr, err := localAddr(flagValue(c.Args, "metrics-bind-address"))
	if err != nil {
		return err
	}
	probeAddr, err := localAddr(flagValue(c.Args, "health-probe-bind-address"))
	if err != nil {
		return err
	}
	d.metrics = "http://" + metricsAddr + "/metrics"
	args, notes := localArgs(c.Args, localPaths{
		driverDir:   o.driverDir,
		policyDir:   o.policyDir,
		cacheDir:    o.cacheDir,
		metricsAddr: metricsAddr,
		probeAddr:   probeAddr,
	})
	fmt.Printf("  container %q of %s, image %s; its arguments, mapped to this machine:\n", c.Name, d.chartDep, c.Image)
	for _, n := range notes {
		fmt.Printf("    %s\n", n)
	}
	podName := dep.Name + "-local"
	vars, skipped := containerEnv(c.Env, chartNamespace, podName)
	for _, s := range skipped {
		fmt.Printf("    env %s\n", s)
	}

	if err := d.serviceAccountKubeconfig(ctx, cs, dep.Spec.Template.Spec.ServiceAccountName); err != nil {
		return err
	}

	d.opLog = filepath.Join(o.stateDir, "operator.log")
	opOut, err := d.createLog("operator.log")
	if err != nil {
		return err
	}
	cmd := exec.Command(o.operator, append(args, "--kubeconfig", d.opKubecfg)...) //nolint:noctx // the operator outlives ctx, which bounds only the start; cleanup stops it
	// Only what a container would see: its own variables, not the user's
	// shell (whose PAIL_* and KUBECONFIG would change the defaults).
	cmd.Env = append(baseEnv(), vars...)
	cmd.Env = append(cmd.Env, "KUBECONFIG="+d.opKubecfg)
	cmd.Stdout, cmd.Stderr = opOut, opOut
	if err := d.runOperator(cmd); err != nil {
		return err
	}
	fmt.Printf("  node: running deployment %s as a local process (pid %d), logging to %s\n", d.chartDep, d.operator.Pid(), d.opLog)

	readyz := "http://" + probeAddr + "/readyz"
	if err := d.waitReadyz(ctx, readyz, 2*time.Minute); err != nil {
		return err
	}
	if err := markRunning(ctx, cs, d.operator.Pid()); err != nil {
		return err
	}
	fmt.Printf("  %s answers 200; deployment %s marked 1/1 ready (kubectl get deployment -n %s)\n", readyz, d.chartDep, chartNamespace)
	return nil
}

// serviceAccountKubeconfig gets a token for the Deployment's ServiceAccount
// sa, as the kubelet would, keeps it renewed until the demo's cleanup and
// writes the operator's kubeconfig that uses it.
func (d *demo) serviceAccountKubeconfig(ctx context.Context, cs kubernetes.Interface, sa string) error {
	o := &d.o
	if sa == "" {
		sa = "default"
	}
	saDir := filepath.Join(o.stateDir, "serviceaccount")
	if err := os.MkdirAll(saDir, 0o700); err != nil {
		return err
	}
	tokenFile := filepath.Join(saDir, "token")
	if err := writeToken(ctx, cs, sa, tokenFile); err != nil {
		return err
	}
	d.opKubecfg = filepath.Join(saDir, "kubeconfig")
	if err := writeTokenKubeconfig(d.kube.Kubeconfig, tokenFile, d.opKubecfg); err != nil {
		return err
	}
	var err error
	if d.opUser, err = whoAmI(ctx, d.opKubecfg); err != nil {
		return fmt.Errorf("authenticate with the ServiceAccount token: %w", err)
	}
	fmt.Printf("  ServiceAccount token from the TokenRequest API in %s, renewed every %s\n", tokenFile, tokenTTL/2)
	fmt.Printf("  the apiserver authenticates it as %s: the operator has exactly the chart's RBAC\n", d.opUser)
	// The refresh lasts until the demo's cleanup, not until ctx ends.
	refreshCtx, stopRefresh := context.WithCancel(context.WithoutCancel(ctx))
	d.onStop(stopRefresh)
	go refreshToken(refreshCtx, cs, sa, tokenFile)
	return nil
}

// operatorContainer is the container named "operator", else the only one.
func operatorContainer(dep *appsv1.Deployment) (*corev1.Container, error) {
	cs := dep.Spec.Template.Spec.Containers
	for i := range cs {
		if cs[i].Name == "operator" {
			return &cs[i], nil
		}
	}
	if len(cs) == 1 {
		return &cs[0], nil
	}
	return nil, fmt.Errorf("deployment %s/%s has %d containers and none is named operator", dep.Namespace, dep.Name, len(cs))
}

// localPaths are this machine's stand-ins for the image's paths and the
// pod's ports.
type localPaths struct {
	driverDir, policyDir, cacheDir string
	metricsAddr, probeAddr         string
}

// boolFlags are the mapped flags that take no separate value.
var boolFlags = map[string]bool{"metrics-secure": true}

// localArgs maps the container's arguments to this machine and says what
// it changed. Flags it does not know pass through untouched, so what the
// chart's values add (--leader-elect, extraArgs) reaches the operator.
func localArgs(args []string, p localPaths) (out, notes []string) {
	replace := []struct{ flag, value, why string }{
		{"driver-dir", p.driverDir, "the drivers make plugins built"},
		{"policy-dir", p.policyDir, "the repository's policy packs"},
		{"cache-dir", p.cacheDir, "the wasm compilation cache"},
		{"metrics-bind-address", p.metricsAddr, "localhost only"},
		{"metrics-secure", "false", "plain HTTP on localhost, so curl needs no token; the chart's pod serves HTTPS to authorized tokens"},
		{"health-probe-bind-address", p.probeAddr, "localhost only"},
		{"webhook-port", "0", "no webhook server: the apiserver cannot reach a local port through the chart's Service"},
	}
	drop := map[string]string{
		"cache-seed-dir":   "the image's pre-compiled drivers are not on this machine; drivers compile into --cache-dir on first use",
		"webhook-cert-dir": "no webhook server",
		"metrics-cert-dir": "plain HTTP metrics",
		"webhook-host":     "no webhook server",
		"kubeconfig":       "pail-demo passes the ServiceAccount's kubeconfig",
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := splitFlag(a)
		why, dropped := drop[name]
		r := -1
		for j := range replace {
			if replace[j].flag == name {
				r = j
			}
		}
		if r < 0 && !dropped {
			out = append(out, a)
			continue
		}
		// Every flag mapped here but the booleans takes a value, so
		// "--flag value" is one too.
		if !hasValue && !boolFlags[name] && i+1 < len(args) {
			i++
			value = args[i]
		}
		if dropped {
			notes = append(notes, fmt.Sprintf("--%s=%s dropped: %s", name, value, why))
			continue
		}
		seen[name] = true
		out = append(out, "--"+name+"="+replace[r].value)
		notes = append(notes, fmt.Sprintf("--%s=%s -> %s (%s)", name, value, replace[r].value, replace[r].why))
	}
	// The operator's defaults are the image's paths and ports, which would
	// not work here either.
	for _, r := range replace {
		if !seen[r.flag] {
			out = append(out, "--"+r.flag+"="+r.value)
			notes = append(notes, fmt.Sprintf("--%s=%s added (%s)", r.flag, r.value, r.why))
		}
	}
	return out, notes
}

// flagValue is the value of the last --name in args, or "".
func flagValue(args []string, name string) string {
	v := ""
	for i, a := range args {
		n, value, hasValue := splitFlag(a)
		if n != name {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		v = value
	}
	return v
}

// localAddr is 127.0.0.1 with the container's port when that port is free
// here, so the address in the docs usually works as is, else with a free
// one.
func localAddr(containerAddr string) (string, error) {
	_, p, err := net.SplitHostPort(containerAddr)
	if port, perr := strconv.Atoi(p); err == nil && perr == nil && port > 0 && env.PortFree(port) {
		return net.JoinHostPort("127.0.0.1", p), nil
	}
	port, err := env.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// splitFlag splits "--name=value", "-name=value", "--name" and "-name"; name
// is "" when a is not a flag.
func splitFlag(a string) (name, value string, hasValue bool) {
	if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
		return "", "", false
	}
	name = strings.TrimLeft(a, "-")
	name, value, hasValue = strings.Cut(name, "=")
	return name, value, hasValue
}

// containerEnv resolves the container's variables that need no kubelet: a
// literal value, or the pod's name and namespace. It names the ones it
// skips.
func containerEnv(vars []corev1.EnvVar, namespace, podName string) (env, skipped []string) {
	for _, v := range vars {
		switch {
		case v.ValueFrom == nil:
			env = append(env, v.Name+"="+v.Value)
		case v.ValueFrom.FieldRef != nil && v.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, v.Name+"="+namespace)
		case v.ValueFrom.FieldRef != nil && v.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env = append(env, v.Name+"="+podName)
		default:
			skipped = append(skipped, v.Name+" skipped: pail-demo resolves literal values and the pod's name and namespace only")
		}
	}
	return env, skipped
}

// baseEnv is the environment a process needs to run at all.
func baseEnv() []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// writeToken asks the TokenRequest API for a token of the ServiceAccount,
// as the kubelet does for a pod's projected token, and writes it to path.
func writeToken(ctx context.Context, cs kubernetes.Interface, sa, path string) error {
	ttl := int64(tokenTTL / time.Second)
	tr, err := cs.CoreV1().ServiceAccounts(chartNamespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &ttl},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for ServiceAccount %s/%s: %w", chartNamespace, sa, err)
	}
	// Rename, so client-go never reads half a token.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tr.Status.Token), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func refreshToken(ctx context.Context, cs kubernetes.Interface, sa, path string) {
	t := time.NewTicker(tokenTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := writeToken(ctx, cs, sa, path); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "  renewing the ServiceAccount token: %v\n", err)
			}
		}
	}
}

// writeTokenKubeconfig writes a kubeconfig for the admin kubeconfig's
// cluster whose user is the token in tokenFile.
func writeTokenKubeconfig(adminKubeconfig, tokenFile, path string) error {
	admin, err := clientcmd.LoadFromFile(adminKubeconfig)
	if err != nil {
		return fmt.Errorf("read the admin kubeconfig: %w", err)
	}
	cur, ok := admin.Contexts[admin.CurrentContext]
	if !ok || admin.Clusters[cur.Cluster] == nil {
		return fmt.Errorf("admin kubeconfig %s has no current cluster", adminKubeconfig)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["demo"] = admin.Clusters[cur.Cluster]
	cfg.AuthInfos[chartDeployment] = &clientcmdapi.AuthInfo{TokenFile: tokenFile}
	cfg.Contexts[chartDeployment] = &clientcmdapi.Context{Cluster: "demo", AuthInfo: chartDeployment, Namespace: chartNamespace}
	cfg.CurrentContext = chartDeployment
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// whoAmI returns the user name the apiserver gives the kubeconfig's
// credentials.
func whoAmI(ctx context.Context, kubeconfig string) (string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return r.Status.UserInfo.Username, nil
}

// waitReadyz polls the operator's readiness endpoint, as the kubelet's
// readiness probe would.
func (d *demo) waitReadyz(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if exited, werr := d.operator.Exited(); exited {
			return fmt.Errorf("the operator exited (%w); tail of %s:\n%s", werr, d.opLog, tailFile(d.opLog))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %s; tail of %s:\n%s", url, timeout, d.opLog, tailFile(d.opLog))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// markRunning writes the status a Deployment controller would write for one
// ready replica, so `kubectl get deployment` and `kubectl rollout status`
// tell the truth about the local process. The demo runs no
// controller-manager, so nothing overwrites it.
func markRunning(ctx context.Context, cs kubernetes.Interface, pid int) error {
	deps := cs.AppsV1().Deployments(chartNamespace)
	dep, err := deps.Get(ctx, chartDeployment, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	msg := fmt.Sprintf("pail-demo runs the operator as a local process (pid %d)", pid)
	dep.Status = appsv1.DeploymentStatus{
		ObservedGeneration: dep.Generation,
		Replicas:           1,
		UpdatedReplicas:    1,
		ReadyReplicas:      1,
		AvailableReplicas:  1,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "LocalProcess", Message: msg, LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", Message: msg, LastUpdateTime: now, LastTransitionTime: now},
		},
	}
	if _, err := deps.UpdateStatus(ctx, dep, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("mark deployment %s/%s running: %w", chartNamespace, chartDeployment, err)
	}
	return nil
}

// Package tools builds the real servers that Pail's tests and demo run
// (kube-apiserver, kube-controller-manager, etcd, MinIO, versitygw) from the
// Go module proxy, and caches each binary outside the repository, keyed by
// version.
package tools

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Pinned versions. Changing one forces a rebuild because the cache is keyed by it.
const (
	KubernetesVersion = "v1.37.2"
	StagingVersion    = "v0.37.2"
	EtcdVersion       = "v3.7.3"
	MinIOVersion      = "v0.0.0-20260212201848-7aac2a2c5b7c"
	VersityGWVersion  = "v1.8.0"
)

// Server names accepted by Ensure.
const (
	KubeAPIServer = "kube-apiserver"
	// KubeControllerManager is built from the same k8s.io/kubernetes
	// module as KubeAPIServer, so a warm build cache makes it cheap.
	KubeControllerManager = "kube-controller-manager"
	Etcd                  = "etcd"
	MinIO                 = "minio"
	VersityGW             = "versitygw"
)

// All lists every server in the order Ensure builds them when asked for all.
var All = []string{Etcd, MinIO, VersityGW, KubeAPIServer, KubeControllerManager}

// Versions maps each server to its pinned version.
var Versions = map[string]string{
	KubeAPIServer:         KubernetesVersion,
	KubeControllerManager: KubernetesVersion,
	Etcd:                  EtcdVersion,
	MinIO:                 MinIOVersion,
	VersityGW:             VersityGWVersion,
}

// CacheDir is where built binaries live: $PAIL_BIN_DIR, or
// ${XDG_CACHE_HOME:-$HOME/.cache}/pail/bin.
func CacheDir() string {
	if d := os.Getenv("PAIL_BIN_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "pail", "bin")
}

// Path is where the binary for name is cached. It does not build it.
func Path(name string) string {
	return filepath.Join(CacheDir(), name+"-"+Versions[name], name)
}

// Cached reports whether name is already built.
func Cached(name string) bool {
	st, err := os.Stat(Path(name))
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Ensure builds every named server that is missing from the cache and
// returns their paths. Progress goes to out.
func Ensure(out io.Writer, names ...string) (map[string]string, error) {
	paths := map[string]string{}
	for _, n := range names {
		if _, ok := Versions[n]; !ok {
			return nil, fmt.Errorf("unknown server %q (known: %s)", n, strings.Join(All, ", "))
		}
		p := Path(n)
		paths[n] = p
		if Cached(n) {
			fmt.Fprintf(out, "pail-tools: %s %s cached at %s\n", n, Versions[n], p)
			continue
		}
		fmt.Fprintf(out, "pail-tools: building %s %s (cold builds take minutes; kube-apiserver about 11 on 2 cores, kube-controller-manager about 5 more after it)\n", n, Versions[n])
		if err := build(out, n, p); err != nil {
			return nil, fmt.Errorf("build %s: %w", n, err)
		}
		fmt.Fprintf(out, "pail-tools: built %s at %s\n", n, p)
	}
	return paths, nil
}

// EnvtestDir returns a directory holding kube-apiserver, etcd and kubectl, in
// the layout controller-runtime's envtest expects for BinaryAssetsDirectory.
func EnvtestDir(out io.Writer) (string, error) {
	paths, err := Ensure(out, Etcd, KubeAPIServer)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(CacheDir(), "envtest-"+KubernetesVersion+"-"+EtcdVersion)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	links := map[string]string{"kube-apiserver": paths[KubeAPIServer], "etcd": paths[Etcd]}
	if k, err := exec.LookPath("kubectl"); err == nil {
		links["kubectl"] = k
	}
	for name, target := range links {
		l := filepath.Join(dir, name)
		if cur, err := os.Readlink(l); err == nil && cur == target {
			continue
		}
		_ = os.Remove(l)
		if err := os.Symlink(target, l); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func build(out io.Writer, name, dst string) error {
	work, err := os.MkdirTemp("", "pail-tools-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	tmpDst := filepath.Join(work, name)

	switch name {
	case KubeAPIServer, KubeControllerManager:
		if err := buildKubernetes(out, work, name, tmpDst); err != nil {
			return err
		}
	case Etcd:
		mod := fmt.Sprintf("module pailtools/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %[1]s\n\n"+
			"replace go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 %[1]s\n"+
			"replace go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 %[1]s\n"+
			"replace go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 %[1]s\n"+
			"replace go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 %[1]s\n", EtcdVersion)
		if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(mod), 0o600); err != nil {
			return err
		}
		if err := gocmd(out, work, "build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", tmpDst, "go.etcd.io/etcd/server/v3"); err != nil {
			return err
		}
	case MinIO:
		if err := goinstall(out, work, "github.com/minio/minio@"+MinIOVersion); err != nil {
			return err
		}
	case VersityGW:
		if err := goinstall(out, work, "github.com/versity/versitygw/cmd/versitygw@"+VersityGWVersion); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	// Rename last so an interrupted build never leaves a half-written binary
	// that Cached would trust.
	return os.Rename(tmpDst, dst)
}

// buildKubernetes builds k8s.io/kubernetes/cmd/<name> outside its
// repository: a module that requires k8s.io/kubernetes, with its staging
// modules pinned to the published versions.
func buildKubernetes(out io.Writer, work, name, dst string) error {
	replaces, err := kubernetesStaging(out)
	if err != nil {
		return err
	}
	var mod strings.Builder
	fmt.Fprintf(&mod, "module pailtools/%s\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\n", strings.ReplaceAll(name, "-", ""), KubernetesVersion)
	for _, r := range replaces {
		fmt.Fprintf(&mod, "replace %s => %s %s\n", r, r, StagingVersion)
	}
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(mod.String()), 0o600); err != nil {
		return err
	}
	return gocmd(out, work, "build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", dst, "k8s.io/kubernetes/cmd/"+name)
}

func goinstall(out io.Writer, work, pkg string) error {
	cmd := exec.Command("go", "install", "-trimpath", "-ldflags=-s -w", pkg) //nolint:noctx // Ensure takes no context: a build, once per machine, runs to the end
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOBIN="+work, "GOFLAGS=-buildvcs=false")
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}

func gocmd(out io.Writer, dir string, args ...string) error {
	cmd := exec.Command("go", args...) //nolint:noctx // Ensure takes no context: a build, once per machine, runs to the end
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}

// kubernetesStaging reads k8s.io/kubernetes's go.mod and returns every module
// it replaces with a ./staging directory; those paths must be pinned to the
// published staging version for the module to build outside its repository.
func kubernetesStaging(out io.Writer) ([]string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+KubernetesVersion) //nolint:noctx // Ensure takes no context: a build, once per machine, runs to the end
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir()
	cmd.Stderr = out
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("download k8s.io/kubernetes: %w", err)
	}
	var info struct {
		GoMod string `json:"GoMod"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, err
	}
	modBytes, err := os.ReadFile(info.GoMod)
	if err != nil {
		return nil, err
	}
	return parseStaging(modBytes), nil
}

func parseStaging(goMod []byte) []string {
	var mods []string
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "replace ")
		left, right, ok := strings.Cut(line, "=>")
		if !ok || !strings.HasPrefix(strings.TrimSpace(right), "./staging/") {
			continue
		}
		mods = append(mods, strings.Fields(left)[0])
	}
	return mods
}

package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pail-dev/pail/test/env"
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// TestImage repeats the Dockerfile's build steps, assembles its final stage
// in a directory and runs the binary there as the chart's pod would. It
// needs root (chown, chroot); the docker build itself is not run.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the operator, compiles every driver cold (about a minute) and runs it in a chroot")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: the image's files are chowned as docker would, and the binary runs in them with chroot as the image's user")
	}
	root := repoRoot()
	im := readImage(t, root)
	plugins := makefilePlugins(t, root)
	dep, ctr := chartDeployment(t, root)

	// The build stage's filesystem, with the paths the Dockerfile names.
	bs := filepath.Join(t.TempDir(), "build")
	start := time.Now()
	buildOperator(t, root, im, bs)
	t.Logf("go build like %s: %s", im.GoBuild.Instruction, time.Since(start).Round(time.Millisecond))
	// The warm-up runs the binary in a root without libc: a dynamic binary
	// would fail there with a confusing "no such file or directory".
	if !t.Run("the binary is static and stripped", func(t *testing.T) {
		checkStatic(t, im, filepath.Join(bs, im.GoBuildOut))
	}) {
		t.FailNow()
	}
	placeDrivers(t, root, im, bs, plugins)
	placeContext(t, root, im, bs)
	start = time.Now()
	runWarm(t, im, bs)
	t.Logf("%s: %s (a cold compile of every driver: the Dockerfile's cache dir starts empty)", im.Warm.Instruction, time.Since(start).Round(time.Millisecond))

	rootfs := filepath.Join(t.TempDir(), "rootfs")
	require.NoError(t, os.Mkdir(rootfs, 0o755))
	require.NoError(t, os.Chmod(rootfs, 0o755))
	for _, c := range im.Copies {
		copyInto(t, c, bs, rootfs)
	}
	entry, err := os.ReadFile(filepath.Join(rootfs, im.Entrypoint[0]))
	require.NoError(t, err, "%s: the image has no %s", im.EntryLine, im.Entrypoint[0])
	built, err := os.ReadFile(filepath.Join(bs, im.GoBuildOut))
	require.NoError(t, err)
	require.True(t, bytes.Equal(built, entry), "%s: %s is not what %s builds", im.EntryLine, im.Entrypoint[0], im.GoBuild.Instruction)

	t.Run("the chart's paths are in the image", func(t *testing.T) {
		checkChartPaths(t, im, dep, ctr, rootfs, plugins)
	})
	t.Run("the image user reads everything and writes only what the Dockerfile chowns", func(t *testing.T) {
		checkOwnership(t, im, rootfs)
	})
	t.Run("the pod starts from the image's compile cache", func(t *testing.T) {
		checkPodStart(t, im, dep, ctr, rootfs, plugins)
	})
}

func readImage(t *testing.T, root string) *Image {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	im, err := Read(string(b))
	require.NoError(t, err, "test/image no longer understands the Dockerfile; adapt test/image/dockerfile.go so the test still means something")
	return im
}

// makefilePlugins are the drivers `make plugins` builds into bin/drivers:
// the build stage's bin/ starts empty (.dockerignore), so the image has
// these and nothing else a developer's bin/drivers may hold.
func makefilePlugins(t *testing.T, root string) []string {
	t.Helper()
	// Asked of make itself: the Makefile derives the list from go.work.
	cmd := exec.CommandContext(t.Context(), "make", "-s", "--no-print-directory", "print-plugins")
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err, "make print-plugins")
	plugins := strings.Fields(string(out))
	require.NotEmpty(t, plugins, "make print-plugins names the drivers make plugins builds")
	slices.Sort(plugins)
	return plugins
}

// buildEnv is the environment of the build stage's commands: docker's and
// the golang image's basics, then the stage's ENV lines.
func buildEnv(im *Image) []string {
	out := []string{"HOME=/root", "PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, e := range im.BuildEnv {
		out = append(out, e.Name+"="+e.Value)
	}
	return out
}

// buildOperator runs the Dockerfile's go build, word for word and with its
// ENV, in the repository (the build stage's COPY . .); only -o changes, to
// the build stage's directory.
func buildOperator(t *testing.T, root string, im *Image, bs string) {
	t.Helper()
	out := filepath.Join(bs, im.GoBuildOut)
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	words := slices.Clone(im.GoBuild.Words)
	for i, w := range words {
		if w == "-o" && i+1 < len(words) {
			words[i+1] = out
		} else if strings.HasPrefix(w, "-o=") {
			words[i] = "-o=" + out
		}
	}
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Dir = root
	// The host's environment for the toolchain and caches; the stage's ENV
	// wins (exec keeps the last of duplicate keys).
	cmd.Env = os.Environ()
	for _, e := range im.BuildEnv {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", im.GoBuild.Instruction, b)
}

// placeDrivers puts what `make plugins` builds where it builds it. The
// drivers come from env.DriverDirForTest, as for the other tests.
func placeDrivers(t *testing.T, root string, im *Image, bs string, plugins []string) {
	t.Helper()
	src := env.DriverDirForTest(t, root)
	dst := filepath.Join(bs, im.Abs("bin/drivers"))
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, p := range plugins {
		b, err := os.ReadFile(filepath.Join(src, p+".wasm"))
		require.NoError(t, err, "%s: driver %s (run make plugins)", im.MakePlugins.Instruction, p)
		require.NoError(t, os.WriteFile(filepath.Join(dst, p+".wasm"), b, 0o644))
	}
}

// placeContext copies from the repository the final stage's sources under
// WORKDIR that no build step made, leaving out what .dockerignore does.
func placeContext(t *testing.T, root string, im *Image, bs string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	ig, err := ParseIgnore(string(b))
	require.NoError(t, err)
	for _, c := range im.Copies {
		rel, ok := strings.CutPrefix(path.Clean(c.Src), im.Workdir+"/")
		if !ok {
			continue
		}
		if _, err := os.Lstat(filepath.Join(bs, c.Src)); err == nil {
			continue // a build output
		}
		if _, err := os.Lstat(filepath.Join(root, rel)); err != nil {
			continue // copyInto reports the missing source with its line
		}
		require.NoError(t, filepath.WalkDir(filepath.Join(root, rel), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			if ig.Excluded(filepath.ToSlash(r)) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			return copyEntry(p, filepath.Join(bs, im.Workdir, r), d, nil)
		}))
	}
}

// runWarm runs the Dockerfile's --warm-cache command word for word, in the
// build stage's filesystem (chroot) as root, as docker's RUN would.
func runWarm(t *testing.T, im *Image, bs string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w := im.Warm.Words
	cmd := exec.CommandContext(ctx, im.Abs(w[0]), w[1:]...)
	cmd.Args[0] = w[0]
	cmd.Dir = im.Workdir
	cmd.Env = buildEnv(im)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: bs, Pdeathsig: syscall.SIGKILL}
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", im.Warm.Instruction, b)
}

// copyInto does what one COPY --from line does: a directory's contents go
// into DST, a file to DST (or into DST/ when it ends in a slash), missing
// parents are made root's 0755, and every copied entry is root's or
// --chown's with its mode kept.
func copyInto(t *testing.T, c Copy, bs, rootfs string) {
	t.Helper()
	src := filepath.Join(bs, c.Src)
	fi, err := os.Lstat(src)
	require.NoError(t, err, "%s: the build stage would have no %s (not made by go build, make plugins or --warm-cache, and not in the build context)", c.Instruction, c.Src)
	owner := IDs{}
	if c.Chown != nil {
		owner = *c.Chown
	}
	dst := filepath.Join(rootfs, c.Dst)
	if !fi.IsDir() && strings.HasSuffix(c.Dst, "/") {
		dst = filepath.Join(dst, filepath.Base(c.Src))
	}
	_, err = os.Lstat(dst)
	require.ErrorIs(t, err, fs.ErrNotExist, "%s: %s is already in the image from an earlier COPY; test/image does not model overlays", c.Instruction, c.Dst)
	require.NoError(t, mkdirParents(rootfs, filepath.Dir(dst)), c.String())
	if !fi.IsDir() {
		require.NoError(t, copyEntry(src, dst, fs.FileInfoToDirEntry(fi), &owner), c.String())
		return
	}
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if r == "." {
			// BuildKit makes the destination of a directory's contents 0755.
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(dst, 0o755); err != nil {
				return err
			}
			return os.Lchown(dst, int(owner.UID), int(owner.GID))
		}
		return copyEntry(p, filepath.Join(dst, r), d, &owner)
	}), c.String())
}

// mkdirParents makes dir and its missing parents under rootfs root's 0755.
func mkdirParents(rootfs, dir string) error {
	rel, err := filepath.Rel(rootfs, dir)
	if err != nil {
		return err
	}
	p := rootfs
	for part := range strings.SplitSeq(rel, string(filepath.Separator)) {
		if part == "." {
			continue
		}
		p = filepath.Join(p, part)
		if err := os.Mkdir(p, 0o755); errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies one file, directory or symlink with its permission bits
// (umask does not apply, as in docker); owner nil keeps the caller's.
func copyEntry(src, dst string, d fs.DirEntry, owner *IDs) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	switch {
	case d.IsDir():
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		if owner != nil {
			return os.Lchown(dst, int(owner.UID), int(owner.GID))
		}
		return nil
	case d.Type().IsRegular():
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: a %s is not modelled", src, d.Type())
	}
	if err := os.Chmod(dst, fi.Mode().Perm()); err != nil {
		return err
	}
	if owner != nil {
		return os.Lchown(dst, int(owner.UID), int(owner.GID))
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

func checkStatic(t *testing.T, im *Image, bin string) {
	// The distroless static base has no libc and no dynamic loader.
	where := fmt.Sprintf("the build stage (%s)", im.GoBuild.Instruction)
	cgo := ""
	for _, e := range im.BuildEnv {
		if e.Name == "CGO_ENABLED" {
			cgo, where = e.Value, e.String()
		}
	}
	assert.Equal(t, "0", cgo, "%s: the build stage's ENV must set CGO_ENABLED=0: the final stage has no libc", where)

	f, err := elf.Open(bin)
	require.NoError(t, err, "%s: %s is not an ELF binary", im.GoBuild.Instruction, im.GoBuildOut)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "%s: %s asks for a dynamic loader (PT_INTERP); build it with CGO_ENABLED=0", im.GoBuild.Instruction, im.GoBuildOut)
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "%s: %s needs shared libraries (DT_NEEDED)", im.GoBuild.Instruction, im.GoBuildOut)
	// -ldflags "-s -w": no symbol table, no DWARF.
	assert.Nil(t, f.Section(".symtab"), "%s: %s has a symbol table (no -s)", im.GoBuild.Instruction, im.GoBuildOut)
	for _, s := range f.Sections {
		assert.False(t, strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_"),
			"%s: %s has DWARF section %s (no -w)", im.GoBuild.Instruction, im.GoBuildOut, s.Name)
	}

	bi, err := buildinfo.ReadFile(bin)
	require.NoError(t, err)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	assert.Equal(t, "0", settings["CGO_ENABLED"], "%s: built with cgo", im.GoBuild.Instruction)
	assert.Equal(t, "true", settings["-trimpath"], "%s: built without -trimpath (the build stage's GOFLAGS)", im.GoBuild.Instruction)
	assert.Equal(t, "github.com/pail-dev/pail/core/cmd/pail", bi.Path, "%s builds another command", im.GoBuild.Instruction)
}

// imagePaths lists the COPY destinations, for failure messages.
func imagePaths(im *Image) string {
	var out []string
	for _, c := range im.Copies {
		out = append(out, fmt.Sprintf("%s (Dockerfile:%d)", c.Dst, c.Line))
	}
	return strings.Join(out, ", ")
}

func checkChartPaths(t *testing.T, im *Image, dep *appsv1.Deployment, ctr corev1.Container, rootfs string, plugins []string) {
	assert.Empty(t, ctr.Command, "the chart sets command, replacing the image's %s", im.EntryLine)

	dirs := []struct{ flag, env string }{
		{"driver-dir", "PAIL_DRIVER_DIR"},
		{"policy-dir", "PAIL_POLICY_DIR"},
		{"cache-seed-dir", "PAIL_CACHE_SEED_DIR"},
	}
	found := map[string]string{}
	for _, d := range dirs {
		arg, ok := FlagValue(ctr.Args, d.flag)
		if assert.True(t, ok, "the chart's container passes no --%s", d.flag) {
			found[d.flag] = arg
			fi, err := os.Stat(filepath.Join(rootfs, arg))
			if assert.NoError(t, err, "the chart's --%s=%s is not in the image, which has %s", d.flag, arg, imagePaths(im)) {
				assert.True(t, fi.IsDir(), "the chart's --%s=%s is not a directory in the image", d.flag, arg)
			}
		}
		// A pod started without the chart's args (kubectl run) must find the
		// same directories.
		v, ok := im.EnvValue(d.env)
		if assert.True(t, ok, "the final stage sets no ENV %s", d.env) {
			assert.Equal(t, arg, v, "the Dockerfile's ENV %s and the chart's --%s disagree", d.env, d.flag)
			_, err := os.Stat(filepath.Join(rootfs, v))
			assert.NoError(t, err, "the Dockerfile's ENV %s=%s is not in the image, which has %s", d.env, v, imagePaths(im))
		}
	}
	for _, p := range plugins {
		assert.FileExists(t, filepath.Join(rootfs, found["driver-dir"], p+".wasm"), "driver %s is not in the chart's --driver-dir", p)
	}
	packs, _ := os.ReadDir(filepath.Join(rootfs, found["policy-dir"]))
	assert.NotEmpty(t, packs, "the chart's --policy-dir=%s holds no policy packs in the image", found["policy-dir"])
	seed, _ := os.ReadDir(filepath.Join(rootfs, found["cache-seed-dir"]))
	assert.NotEmpty(t, seed, "the chart's --cache-seed-dir=%s is empty in the image", found["cache-seed-dir"])

	cacheDir, ok := FlagValue(ctr.Args, "cache-dir")
	require.True(t, ok, "the chart's container passes no --cache-dir")
	var mount *corev1.VolumeMount
	for i := range ctr.VolumeMounts {
		if path.Clean(ctr.VolumeMounts[i].MountPath) == path.Clean(cacheDir) {
			mount = &ctr.VolumeMounts[i]
		}
	}
	if assert.NotNil(t, mount, "the chart mounts nothing at --cache-dir=%s: under readOnlyRootFilesystem the cache could not be written", cacheDir) {
		var vol *corev1.Volume
		for i := range dep.Spec.Template.Spec.Volumes {
			if dep.Spec.Template.Spec.Volumes[i].Name == mount.Name {
				vol = &dep.Spec.Template.Spec.Volumes[i]
			}
		}
		if assert.NotNil(t, vol, "no volume %s", mount.Name) {
			assert.NotNil(t, vol.EmptyDir, "the --cache-dir volume %s is not an emptyDir: the cache must be private to the pod", mount.Name)
		}
		assert.False(t, mount.ReadOnly, "the --cache-dir mount is read-only")
	}
	// A mount over an image directory would hide what the image ships there.
	for _, c := range im.Copies {
		assert.False(t, within(cacheDir, c.Dst) || within(c.Dst, cacheDir),
			"the chart's --cache-dir=%s and %s overlap: the emptyDir would hide the image's files or the reverse", cacheDir, c.Instruction)
	}

	sc := ctr.SecurityContext
	require.NotNil(t, sc, "the chart's container has no securityContext")
	assert.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "the chart no longer mounts the root filesystem read-only; the pod test assumes it")
	uid, gid := podIDs(dep, ctr, im)
	assert.Equal(t, IDs{UID: uid, GID: gid}, im.User, "the chart's runAsUser:runAsGroup and the Dockerfile's %s disagree", im.UserLine)
}

func within(p, dir string) bool {
	p, dir = path.Clean(p), path.Clean(dir)
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// podIDs are the uid and gid the chart runs the container as, the image's
// USER where it sets none.
func podIDs(dep *appsv1.Deployment, ctr corev1.Container, im *Image) (uint32, uint32) {
	uid, gid := int64(im.User.UID), int64(im.User.GID)
	if ps := dep.Spec.Template.Spec.SecurityContext; ps != nil {
		if ps.RunAsUser != nil {
			uid = *ps.RunAsUser
		}
		if ps.RunAsGroup != nil {
			gid = *ps.RunAsGroup
		}
	}
	if cs := ctr.SecurityContext; cs != nil {
		if cs.RunAsUser != nil {
			uid = *cs.RunAsUser
		}
		if cs.RunAsGroup != nil {
			gid = *cs.RunAsGroup
		}
	}
	return uint32(uid), uint32(gid)
}

// checkOwnership walks the assembled root: every entry must be readable by
// the image's user (a 0600 policy file would break the pod, not the build),
// and writable by it only under a COPY --chown destination.
func checkOwnership(t *testing.T, im *Image, rootfs string) {
	u := im.User
	chowned := func(rel string) *Copy {
		for i, c := range im.Copies {
			if c.Chown != nil && within(rel, c.Dst) {
				return &im.Copies[i]
			}
		}
		return nil
	}
	origin := func(rel string) string {
		for _, c := range im.Copies {
			if within(rel, c.Dst) {
				return c.String()
			}
		}
		return "a parent directory a COPY made"
	}
	require.NoError(t, filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel := "/" + filepath.ToSlash(strings.TrimPrefix(p, rootfs))
		rel = path.Clean(rel)
		perm := fi.Mode().Perm()
		var mine fs.FileMode
		switch {
		case st.Uid == u.UID:
			mine = perm >> 6 & 7
		case st.Gid == u.GID:
			mine = perm >> 3 & 7
		default:
			mine = perm & 7
		}
		need := fs.FileMode(4)
		if d.IsDir() {
			need = 5
		}
		if rel == path.Clean(im.Entrypoint[0]) {
			need = 5
		}
		assert.Equal(t, need, mine&need, "%s (%s, %d:%d) is not readable by the image's user %d:%d; from %s", rel, perm, st.Uid, st.Gid, u.UID, u.GID, origin(rel))
		if c := chowned(rel); c != nil {
			assert.Equal(t, IDs{UID: st.Uid, GID: st.Gid}, *c.Chown, "%s is not owned as %s says", rel, c.Instruction)
			return nil
		}
		assert.Equal(t, IDs{}, IDs{UID: st.Uid, GID: st.Gid}, "%s is not root's; from %s", rel, origin(rel))
		assert.Zero(t, perm&0o002, "%s (%s) is world-writable; from %s", rel, perm, origin(rel))
		return nil
	}))
}

// checkPodStart runs the image's entrypoint in the assembled root as the
// chart's pod would (its args and user, the Dockerfile's ENV, an emptyDir at
// --cache-dir), adding --warm-cache so it loads every driver and exits.
func checkPodStart(t *testing.T, im *Image, dep *appsv1.Deployment, ctr corev1.Container, rootfs string, plugins []string) {
	cacheDir, ok := FlagValue(ctr.Args, "cache-dir")
	require.True(t, ok, "the chart's container passes no --cache-dir")
	seedDir, ok := FlagValue(ctr.Args, "cache-seed-dir")
	if !ok {
		seedDir, ok = im.EnvValue("PAIL_CACHE_SEED_DIR")
	}
	require.True(t, ok, "neither the chart nor the Dockerfile's ENV names a cache seed")

	// The emptyDir as kubelet makes it: world-writable, and with an fsGroup
	// group-owned by it with the setgid bit.
	hostCache := filepath.Join(rootfs, cacheDir)
	require.NoError(t, mkdirParents(rootfs, filepath.Dir(hostCache)))
	require.NoError(t, os.Mkdir(hostCache, 0o777))
	mode, gid := fs.FileMode(0o777), 0
	if ps := dep.Spec.Template.Spec.SecurityContext; ps != nil && ps.FSGroup != nil {
		mode, gid = mode|fs.ModeSetgid, int(*ps.FSGroup)
	}
	require.NoError(t, os.Chmod(hostCache, mode))
	require.NoError(t, os.Chown(hostCache, 0, gid))

	before := snapshot(t, rootfs, hostCache)

	uid, gidRun := podIDs(dep, ctr, im)
	var environ []string
	for _, e := range im.Env {
		environ = append(environ, e.Name+"="+e.Value)
	}
	for _, e := range ctr.Env {
		if e.ValueFrom == nil {
			environ = append(environ, e.Name+"="+e.Value)
		}
	}
	args := append(slices.Clone(im.Entrypoint[1:]), ctr.Args...)
	args = append(args, "--warm-cache")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, im.Entrypoint[0], args...)
	cmd.Dir = "/"
	cmd.Env = environ
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     rootfs,
		Credential: &syscall.Credential{Uid: uid, Gid: gidRun, Groups: []uint32{}},
		Pdeathsig:  syscall.SIGKILL,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s as %d:%d in the image: %s", im.Entrypoint[0], strings.Join(args, " "), uid, gidRun, time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "the image's entrypoint failed as the chart starts it\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())

	logs := jsonLogs(t, stderr.String())
	var seeded map[string]any
	var loaded []string
	for _, l := range logs {
		switch l["@message"] {
		case "seeded the compilation cache":
			seeded = l
		case "driver loaded":
			if name, ok := l["driver"].(string); ok {
				loaded = append(loaded, name)
			}
		}
	}
	seedFiles := fileHashes(t, filepath.Join(rootfs, seedDir))
	require.NotEmpty(t, seedFiles, "the image's cache seed %s is empty", seedDir)
	if assert.NotNil(t, seeded, "the operator did not seed its cache from the image's %s:\n%s", seedDir, stderr.String()) {
		assert.Equal(t, seedDir, seeded["from"])
		assert.Equal(t, cacheDir, seeded["to"])
		assert.InDelta(t, len(seedFiles), seeded["files"], 0, "every compiled module of the image's cache is copied to the emptyDir")
	}
	slices.Sort(loaded)
	assert.Equal(t, plugins, loaded, "every driver of make plugins loads from the image's /drivers")
	assert.Contains(t, stdout.String(), fmt.Sprintf("compiled %s into %s", strings.Join(plugins, ", "), cacheDir))

	// wazero writes a module it had to compile into the cache; a cache that
	// is exactly the seed means every driver loaded from the image's
	// compiled code (a different wazero version, CPU feature set or driver
	// build would have added files).
	assert.Equal(t, seedFiles, fileHashes(t, hostCache),
		"the pod compiled a driver the image's cache (%s, filled by %s) did not hold", seedDir, im.Warm.Instruction)

	// The chart mounts the root filesystem read-only: a write anywhere but
	// the emptyDir would fail in a cluster.
	assert.Equal(t, before, snapshot(t, rootfs, hostCache), "the operator wrote outside --cache-dir=%s", cacheDir)
}

// jsonLogs parses the operator's hclog JSON lines (the chart's --log-json).
func jsonLogs(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "a log line that is not JSON, though the chart passes --log-json=true: %s", line)
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

// fileHashes maps every regular file under dir, by relative path, to its
// SHA-256.
func fileHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[rel] = hex.EncodeToString(h.Sum(nil))
		return nil
	}))
	return out
}

// snapshot records every entry under root except skip: any create, delete,
// write, chmod or chown changes it.
func snapshot(t *testing.T, root, skip string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return fs.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		out[p] = fmt.Sprintf("%s %d:%d size=%d mtime=%d ctime=%d.%d", fi.Mode(), st.Uid, st.Gid, fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Sec, st.Ctim.Nsec)
		return nil
	}))
	return out
}

// helm is the helm binary test/chart uses too.
func helm(t *testing.T, root string) string { return env.HelmForTest(t, root) }

// chartDeployment renders the chart with its default values and returns the
// operator's Deployment and its one container.
func chartDeployment(t *testing.T, root string) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	manifest, err := env.HelmTemplate(t.Context(), helm(t, root), "pail", filepath.Join(root, "charts", "pail"), "--namespace", "pail-system")
	require.NoError(t, err)
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var deps []*appsv1.Deployment
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "rendered YAML parses")
		if m["kind"] != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(m, &d))
		deps = append(deps, &d)
	}
	require.Len(t, deps, 1, "the chart renders one Deployment")
	require.Len(t, deps[0].Spec.Template.Spec.Containers, 1, "the operator's pod has one container")
	return deps[0], deps[0].Spec.Template.Spec.Containers[0]
}

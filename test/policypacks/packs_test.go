package policypacks

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// policiesDir is the repository's policies/ directory, relative to this
// package.
const policiesDir = "../../policies"

// pack is one policy pack as the engine in core loads it: the non-test .rego
// files of one directory of policies/.
type pack struct {
	name  string
	files map[string]string // file name -> source
	tests []string          // *_test.rego file names
}

// loadPacks reads policies/ the way core/policy.Engine.LoadDir does.
func loadPacks(t testing.TB) []pack {
	t.Helper()
	entries, err := os.ReadDir(policiesDir)
	if err != nil {
		t.Fatalf("read %s: %v", policiesDir, err)
	}
	var packs []pack
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		matches, err := filepath.Glob(filepath.Join(policiesDir, ent.Name(), "*.rego"))
		if err != nil {
			t.Fatal(err)
		}
		p := pack{name: ent.Name(), files: map[string]string{}}
		for _, m := range matches {
			if strings.HasSuffix(m, "_test.rego") {
				p.tests = append(p.tests, filepath.Base(m))
				continue
			}
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			p.files[filepath.Base(m)] = string(b)
		}
		if len(p.files) > 0 {
			packs = append(packs, p)
		}
	}
	sort.Slice(packs, func(i, j int) bool { return packs[i].name < packs[j].name })
	if len(packs) == 0 {
		t.Fatalf("no policy packs under %s", policiesDir)
	}
	return packs
}

// Command pail-driver helps driver authors inspect, stamp and check a Pail
// driver module without running it. It depends on the sdk only, so
//
//	go install github.com/pail-dev/pail/sdk/cmd/pail-driver@latest
//
// works without the operator's dependencies.
//
//	pail-driver inspect module.wasm               metadata, imports, exports, size, sha256
//	pail-driver verify module.wasm [--sha256 HEX] check it as the operator's loader would
//	pail-driver embed --meta FILE|- [-o OUT] module.wasm
//	                                              write the pail.driver custom section
//
// Exit status: 0 on success, 1 when verify finds a problem, 2 on a usage or
// I/O error.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

const usage = `usage:
  pail-driver inspect module.wasm
  pail-driver verify module.wasm [--sha256 HEX]
  pail-driver embed --meta FILE|- [-o OUT] module.wasm
`

// Exit codes.
const (
	exitOK       = 0
	exitProblems = 1
	exitUsage    = 2
)

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "inspect":
		return inspect(args[1:], stdout, stderr)
	case "verify":
		return verify(args[1:], stdout, stderr)
	case "embed":
		return embed(args[1:], stdin, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "pail-driver: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// oneFile parses flags and expects exactly one module path. Flags may come
// before or after it (`verify m.wasm --sha256 X` and `verify --sha256 X
// m.wasm`); the flag package alone stops at the first non-flag argument.
func oneFile(fs *flag.FlagSet, args []string, stderr io.Writer) (string, bool) {
	fs.SetOutput(stderr)
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", false
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "pail-driver %s: want exactly one module file, got %d arguments\n%s", fs.Name(), len(files), usage)
		return "", false
	}
	return files[0], true
}

// readModule reads the module file of command cmd; a failure is reported
// on stderr.
func readModule(cmd, path string, stderr io.Writer) ([]byte, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "pail-driver %s: %v\n", cmd, err)
		return nil, false
	}
	return b, true
}

func inspect(args []string, stdout, stderr io.Writer) int {
	path, ok := oneFile(flag.NewFlagSet("inspect", flag.ContinueOnError), args, stderr)
	if !ok {
		return exitUsage
	}
	b, ok := readModule("inspect", path, stderr)
	if !ok {
		return exitUsage
	}
	m, err := wasmmeta.Parse(b)
	if err != nil {
		fmt.Fprintf(stderr, "pail-driver inspect: %s: %v\n", path, err)
		return exitProblems
	}
	sum := sha256.Sum256(b)
	fmt.Fprintf(stdout, "file:    %s\nsize:    %d bytes (%.1f MB)\nsha256:  %s\n", path, len(b), float64(len(b))/1e6, hex.EncodeToString(sum[:]))
	meta, found, err := wasmmeta.Read(b)
	switch {
	case err != nil:
		fmt.Fprintf(stdout, "metadata: unreadable: %v\n", err)
	case !found:
		fmt.Fprintf(stdout, "metadata: none (no %s custom section; add one with `pail-driver embed`)\n", wasmmeta.SectionName)
	default:
		j, _ := json.MarshalIndent(meta, "  ", "  ") //nolint:errchkjson // a decoded Metadata re-encodes without error
		fmt.Fprintf(stdout, "metadata (%s section):\n  %s\n", wasmmeta.SectionName, j)
	}
	fmt.Fprintf(stdout, "imports (%d):\n", len(m.Imports))
	for _, im := range m.Imports {
		fmt.Fprintf(stdout, "  %s.%s %s\n", im.Module, im.Name, describeKind(im.Kind, im.Type))
	}
	fmt.Fprintf(stdout, "exports (%d):\n", len(m.Exports))
	for _, e := range m.Exports {
		fmt.Fprintf(stdout, "  %s %s\n", e.Name, describeKind(e.Kind, e.Type))
	}
	var customs []string
	for _, s := range m.Sections {
		if s.ID == 0 {
			customs = append(customs, fmt.Sprintf("%s (%d bytes)", s.Name, len(s.Payload)))
		}
	}
	fmt.Fprintf(stdout, "custom sections: %s\n", orNone(customs))
	return exitOK
}

func describeKind(k wasmmeta.Kind, ft *wasmmeta.FuncType) string {
	if ft != nil {
		return k.String() + " " + ft.String()
	}
	return k.String()
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Signatures the host requires of a v1 module (sdk/ABI.md).
var (
	requiredExports = []struct{ name, sig string }{
		{"_initialize", "() -> ()"},
		{"alloc", "(i32) -> (i32)"},
		{"free", "(i32) -> ()"},
		{"describe", "(i32, i32) -> (i64)"},
		{"call", "(i32, i32) -> (i64)"},
	}
	hostImports = map[string]string{
		"http_request":       "(i32, i32) -> (i64)",
		"http_response_read": "(i32, i32) -> (i32)",
		"log":                "(i32, i32) -> ()",
	}
	userOps = abi.OperationsOf(abi.CapAccessKeys)
)

const wasiModule = "wasi_snapshot_preview1"

// check is one line of verify's report.
type check struct {
	name     string
	problems []string
}

func verify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	want := fs.String("sha256", "", "expected sha256 of the module, in hex (as in the plugin ConfigMap)")
	path, ok := oneFile(fs, args, stderr)
	if !ok {
		return exitUsage
	}
	b, ok := readModule("verify", path, stderr)
	if !ok {
		return exitUsage
	}
	checks := verifyModule(b, *want)
	failed := 0
	for _, c := range checks {
		if len(c.problems) == 0 {
			fmt.Fprintf(stdout, "ok    %s\n", c.name)
			continue
		}
		failed++
		for _, p := range c.problems {
			fmt.Fprintf(stdout, "FAIL  %s: %s\n", c.name, p)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "pail-driver verify: %s: %d of %d checks failed\n", path, failed, len(checks))
		return exitProblems
	}
	fmt.Fprintf(stdout, "%s: all %d checks passed\n", path, len(checks))
	return exitOK
}

func verifyModule(b []byte, wantSHA string) []check {
	var out []check
	sum := sha256.Sum256(b)
	got := hex.EncodeToString(sum[:])
	if wantSHA != "" {
		c := check{name: "sha256"}
		if !strings.EqualFold(strings.TrimSpace(wantSHA), got) {
			c.problems = append(c.problems, fmt.Sprintf("module is %s, want %s", got, wantSHA))
		}
		out = append(out, c)
	}
	m, err := wasmmeta.Parse(b)
	if err != nil {
		return append(out, check{name: "wasm structure", problems: []string{err.Error()}})
	}
	out = append(out, check{name: "wasm structure"})
	return append(out, metaCheck(b), markerCheck(m), exportsCheck(m), importsCheck(m))
}

// metaCheck checks the metadata section: present, of this ABI major, and
// declaring every user operation when it declares accessKeys.
func metaCheck(b []byte) check {
	meta := check{name: "metadata section " + wasmmeta.SectionName}
	md, found, err := wasmmeta.Read(b)
	switch {
	case err != nil:
		meta.problems = append(meta.problems, err.Error())
	case !found:
		meta.problems = append(meta.problems, "missing; append it with `pail-driver embed --meta FILE module.wasm`")
	default:
		if md.Major() != strconv.Itoa(abi.VersionMajor) {
			meta.problems = append(meta.problems, fmt.Sprintf("declares ABI %q; this tool checks ABI v%d (%s)", md.ABI, abi.VersionMajor, abi.Version))
		}
		if slices.Contains(md.Capabilities, abi.CapAccessKeys) {
			for _, op := range userOps {
				if !slices.Contains(md.Operations, op) {
					meta.problems = append(meta.problems, fmt.Sprintf("declares %s but not the operation %s (a driver that declares accessKeys declares all of them)", abi.CapAccessKeys, op))
				}
			}
		}
	}
	return meta
}

// markerCheck checks the ABI marker export names this major version only.
func markerCheck(m *wasmmeta.Module) check {
	marker := check{name: "marker export " + abi.MarkerExport}
	var others []string
	for _, e := range m.Exports {
		if strings.HasPrefix(e.Name, abi.MarkerPrefix) && e.Name != abi.MarkerExport {
			others = append(others, e.Name)
		}
	}
	if e, ok := m.Export(abi.MarkerExport); !ok {
		if len(others) > 0 {
			marker.problems = append(marker.problems, fmt.Sprintf("module exports %s, another major ABI version", strings.Join(others, ", ")))
		} else {
			marker.problems = append(marker.problems, "missing: the module is not a Pail driver, or was built without sdk/guest")
		}
	} else if e.Kind != wasmmeta.KindFunc {
		marker.problems = append(marker.problems, "is a "+e.Kind.String()+", not a function")
	} else if len(others) > 0 {
		marker.problems = append(marker.problems, "module also exports "+strings.Join(others, ", "))
	}
	return marker
}

// exportsCheck checks the exports the host calls and the linear memory.
func exportsCheck(m *wasmmeta.Module) check {
	exports := check{name: "required exports"}
	for _, r := range requiredExports {
		e, ok := m.Export(r.name)
		switch {
		case !ok:
			exports.problems = append(exports.problems, r.name+" is missing")
		case e.Type == nil:
			exports.problems = append(exports.problems, fmt.Sprintf("%s is a %s, not a function", r.name, e.Kind))
		case e.Type.String() != r.sig:
			exports.problems = append(exports.problems, fmt.Sprintf("%s has signature %s, want %s", r.name, e.Type, r.sig))
		}
	}
	hasMemory := false
	for _, e := range m.Exports {
		hasMemory = hasMemory || e.Kind == wasmmeta.KindMemory
	}
	if !hasMemory {
		exports.problems = append(exports.problems, "no exported linear memory")
	}
	return exports
}

// importsCheck checks the module imports only host and WASI functions.
func importsCheck(m *wasmmeta.Module) check {
	imports := check{name: "imports only from " + abi.HostModule + " and " + wasiModule}
	for _, im := range m.Imports {
		switch im.Module {
		case wasiModule:
		case abi.HostModule:
			want, known := hostImports[im.Name]
			switch {
			case !known:
				imports.problems = append(imports.problems, fmt.Sprintf("%s.%s is not a host function of ABI v%d", im.Module, im.Name, abi.VersionMajor))
			case im.Type == nil:
				imports.problems = append(imports.problems, fmt.Sprintf("%s.%s is a %s, not a function", im.Module, im.Name, im.Kind))
			case im.Type.String() != want:
				imports.problems = append(imports.problems, fmt.Sprintf("%s.%s has signature %s, want %s", im.Module, im.Name, im.Type, want))
			}
		default:
			imports.problems = append(imports.problems, fmt.Sprintf("%s.%s: a driver may import only %s and %s", im.Module, im.Name, abi.HostModule, wasiModule))
		}
	}
	return imports
}

func embed(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	metaPath := fs.String("meta", "", "metadata JSON (a driver's Describe answer), or - for stdin")
	outPath := fs.String("o", "", "output file (default: rewrite the module in place)")
	path, ok := oneFile(fs, args, stderr)
	if !ok {
		return exitUsage
	}
	if *metaPath == "" {
		fmt.Fprintf(stderr, "pail-driver embed: --meta is required\n%s", usage)
		return exitUsage
	}
	var raw []byte
	var err error
	if *metaPath == "-" {
		raw, err = io.ReadAll(stdin)
	} else {
		raw, err = os.ReadFile(*metaPath)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pail-driver embed: read metadata: %v\n", err)
		return exitUsage
	}
	md, err := wasmmeta.Decode(raw)
	if err != nil {
		fmt.Fprintf(stderr, "pail-driver embed: %v\n", err)
		return exitProblems
	}
	b, ok := readModule("embed", path, stderr)
	if !ok {
		return exitUsage
	}
	out, err := wasmmeta.Append(b, md)
	if err != nil {
		fmt.Fprintf(stderr, "pail-driver embed: %s: %v\n", path, err)
		return exitProblems
	}
	dst := *outPath
	if dst == "" {
		dst = path
	}
	if err := writeAtomic(dst, out); err != nil {
		fmt.Fprintf(stderr, "pail-driver embed: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: %s %s (ABI %s) in section %s\n", dst, md.Name, md.Version, md.ABI, wasmmeta.SectionName)
	return exitOK
}

// writeAtomic replaces dst in one rename, so a reader (the operator, a
// running test) never sees half a module.
func writeAtomic(dst string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(dst), ".pail-driver-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil { //nolint:gosec // a driver module is public, read by the operator's user
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// Package policy evaluates bucket policy documents against Rego policy packs
// with embedded OPA. Queries are prepared once and prepared again only when
// the set of packs changes; a pack that does not compile is reported and left
// out, and never stops the others. Results are cached per input until the
// packs change.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Result is what the selected packs said about one document.
type Result struct {
	Deny []string
	Warn []string
}

// Engine holds the packs and their prepared queries.
type Engine struct {
	mu    sync.RWMutex
	packs map[string]map[string]string // pack → file → source
	// builtin holds the packs LoadDir read: a pack set under the same name
	// replaces one, and removing that pack brings the built-in back.
	builtin  map[string]map[string]string
	broken   map[string]error
	prepared map[string]*rego.PreparedEvalQuery // pack → its query
	// revision changes with every prepared query, so that results cached
	// for other packs are never used; cacheable is false when a pack calls
	// a nondeterministic builtin (time.now_ns, http.send, ...), whose
	// verdict the same input need not repeat.
	revision  uint64
	cacheable bool
	cache     resultCache
	// OnChange, when set, is called after the packs changed (to re-evaluate
	// BucketPolicies); OnBroken when a pack failed to compile.
	OnChange func()
	OnBroken func(pack string, err error)
}

// NewEngine returns an engine with no packs.
func NewEngine() *Engine {
	return &Engine{
		packs: map[string]map[string]string{}, builtin: map[string]map[string]string{},
		broken: map[string]error{}, cache: resultCache{max: defaultCacheSize},
	}
}

// defaultCacheSize bounds the cached results: one per BucketPolicy that is
// resynced unchanged is what it is for. Each entry keeps its input as a Rego
// value (about 32 KB for a 20-statement document), hence the small bound; a
// miss only costs an evaluation.
const defaultCacheSize = 256

// SetCacheSize bounds the number of cached results; 0 turns the cache off.
func (e *Engine) SetCacheSize(n int) {
	e.cache.mu.Lock()
	e.cache.max = n
	e.cache.entries = nil
	e.cache.mu.Unlock()
}

// LoadDir loads every subdirectory of dir as a built-in pack named after
// it; test files (*_test.rego) are skipped.
func (e *Engine) LoadDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("policy packs: %w", err)
	}
	packs := map[string]map[string]string{}
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		files := map[string]string{}
		matches, _ := filepath.Glob(filepath.Join(dir, ent.Name(), "*.rego"))
		for _, m := range matches {
			if strings.HasSuffix(m, "_test.rego") {
				continue
			}
			b, err := os.ReadFile(m)
			if err != nil {
				return err
			}
			files[filepath.Base(m)] = string(b)
		}
		if len(files) > 0 {
			packs[ent.Name()] = files
		}
	}
	// One preparation for the whole directory, not one per pack: each
	// compiles every module loaded so far.
	e.mu.Lock()
	broken := map[string]error{}
	for name, files := range packs {
		e.builtin[name] = files
		if err := e.putLocked(name, files); err != nil {
			broken[name] = err
		}
	}
	// Packs that clash are reported when a query of theirs is evaluated.
	_ = e.prepareLocked(ctx)
	e.mu.Unlock()
	for name, berr := range broken { // a broken pack is recorded, not fatal
		if e.OnBroken != nil {
			e.OnBroken(name, berr)
		}
	}
	if e.OnChange != nil {
		e.OnChange()
	}
	return nil
}

// SetPack adds or replaces a pack. A pack that does not compile on its own,
// or calls a denied builtin (ErrDeniedBuiltin), is recorded as broken and
// left out; the other packs keep working, and so does the built-in pack of
// that name, if there is one.
func (e *Engine) SetPack(ctx context.Context, name string, files map[string]string) error {
	e.mu.Lock()
	broken := e.putLocked(name, files)
	err := e.prepareLocked(ctx)
	e.mu.Unlock()
	if broken != nil {
		if e.OnBroken != nil {
			e.OnBroken(name, broken)
		}
		return errors.Join(fmt.Errorf("policy pack %s does not compile: %w", name, broken), err)
	}
	if e.OnChange != nil {
		e.OnChange()
	}
	return err
}

// putLocked records a pack, or records it as broken (and returns why)
// when it does not compile on its own; the caller prepares the queries.
// A broken pack that would replace a built-in leaves the built-in in
// force: a mistake in a replacement must not turn a check off.
func (e *Engine) putLocked(name string, files map[string]string) error {
	if err := compileAlone(name, files); err != nil {
		e.broken[name] = err
		delete(e.packs, name)
		if b, ok := e.builtin[name]; ok && compileAlone(name, b) == nil {
			e.packs[name] = b
		}
		return err
	}
	delete(e.broken, name)
	e.packs[name] = files
	return nil
}

// compileAlone compiles one pack on its own, with the packs' capabilities,
// and refuses it when it calls a denied builtin.
func compileAlone(name string, files map[string]string) error {
	opts := ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: Capabilities()}
	mods := make(map[string]*ast.Module, len(files))
	for f, src := range files {
		m, err := ast.ParseModuleWithOpts(name+"/"+f, src, opts)
		if err != nil {
			return err
		}
		mods[name+"/"+f] = m
	}
	if err := checkDenied(mods); err != nil {
		return err
	}
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1).WithCapabilities(Capabilities())
	if c.Compile(mods); c.Failed() {
		return c.Errors
	}
	return nil
}

// Builtin reports whether name is a pack LoadDir read.
func (e *Engine) Builtin(name string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.builtin[name]
	return ok
}

// RemovePack drops a pack; the built-in pack it replaced, if any, is back
// at once.
func (e *Engine) RemovePack(ctx context.Context, name string) error {
	e.mu.Lock()
	delete(e.packs, name)
	delete(e.broken, name)
	var broken error
	if b, ok := e.builtin[name]; ok {
		broken = e.putLocked(name, b)
	}
	err := e.prepareLocked(ctx)
	e.mu.Unlock()
	if broken != nil && e.OnBroken != nil {
		e.OnBroken(name, broken)
	}
	if e.OnChange != nil {
		e.OnChange()
	}
	return err
}

// Packs lists the loaded packs; Broken the ones that failed to compile.
func (e *Engine) Packs() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]string, 0, len(e.packs))
	for n := range e.packs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Broken returns the packs that failed to compile, with their errors.
func (e *Engine) Broken() map[string]error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := map[string]error{}
	maps.Copy(out, e.broken)
	return out
}

func (e *Engine) prepareLocked(ctx context.Context) error {
	// One query per pack, asking for exactly its deny and warn rules:
	// querying the whole data.pail tree also evaluates every helper rule,
	// which measured about 20 times slower, and one query over all packs
	// evaluated every pack whatever the selection (an AccessKey's identity
	// check paid for baseline and security).
	// Every query shares one compilation of every module, because a pack
	// may import another's rules; a pack change compiles them again, which
	// is rare and off the reconcile path.
	caps := Capabilities()
	parsed := map[string]*ast.Module{}
	for pack, files := range e.packs {
		for f, src := range files {
			m, err := ast.ParseModuleWithOpts(pack+"/"+f, src, ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps})
			if err != nil {
				return fmt.Errorf("prepare policy query: %w", err)
			}
			parsed[pack+"/"+f] = m
		}
	}
	// Before compiling, which rewrites the modules.
	cacheable := deterministic(parsed)
	compiler := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1).WithCapabilities(caps)
	if compiler.Compile(parsed); compiler.Failed() {
		// Packs that compile alone can still clash together (same
		// package and rule in two packs); keep the previous queries then.
		return fmt.Errorf("prepare policy query: %w", compiler.Errors)
	}
	prepared := make(map[string]*rego.PreparedEvalQuery, len(e.packs))
	for pack := range e.packs {
		ref, err := json.Marshal(pack)
		if err != nil {
			return err
		}
		query := fmt.Sprintf(`[[k, m] | some k in ["deny", "warn"]; some m in data.pail[%s][k]]`, ref)
		pq, err := rego.New(rego.Query(query), rego.Compiler(compiler), rego.Capabilities(caps)).PrepareForEval(ctx)
		if err != nil {
			return fmt.Errorf("prepare policy query: %w", err)
		}
		prepared[pack] = &pq
	}
	e.prepared = prepared
	e.revision++
	e.cacheable = cacheable
	e.cache.clear()
	return nil
}

// deterministic reports whether no module calls a nondeterministic
// builtin.
func deterministic(modules map[string]*ast.Module) bool {
	for name := range calledBuiltins(modules) {
		if b, ok := ast.BuiltinMap[name]; ok && b.Nondeterministic {
			return false
		}
	}
	return true
}

// evalPacks runs each selected pack's query on the input, one after the
// other: side by side on two goroutines measured no faster on two cores.
func evalPacks(ctx context.Context, queries map[string]*rego.PreparedEvalQuery, packs []string, input ast.Value) ([][]any, error) {
	out := make([][]any, len(packs))
	for i, pack := range packs {
		q := queries[pack]
		if q == nil {
			// Loaded, but the last preparation failed (two packs clash).
			return nil, fmt.Errorf("policy pack %s is not prepared: it clashes with another pack", pack)
		}
		rs, err := q.Eval(ctx, rego.EvalParsedInput(input))
		if err != nil {
			return nil, fmt.Errorf("evaluate policy pack %s: %w", pack, err)
		}
		if len(rs) > 0 && len(rs[0].Expressions) > 0 {
			out[i], _ = rs[0].Expressions[0].Value.([]any)
		}
	}
	return out, nil
}

// ErrPackMissing reports selected packs that are not loaded.
var ErrPackMissing = errors.New("policy pack not loaded")

// Evaluate runs the selected packs (all loaded ones when packs is empty)
// against input. Messages are prefixed with their pack's name.
func (e *Engine) Evaluate(ctx context.Context, packs []string, input any) (Result, error) {
	// Selection and the missing-pack check read the pack tables in place
	// under the read lock: this runs on every BucketPolicy reconcile.
	e.mu.RLock()
	pq, revision, cacheable := e.prepared, e.revision, e.cacheable
	selected := packs
	if len(selected) == 0 {
		selected = make([]string, 0, len(e.packs))
		for n := range e.packs {
			selected = append(selected, n)
		}
		sort.Strings(selected)
	}
	var missing []string
	for _, n := range selected {
		if _, ok := e.packs[n]; ok {
			continue
		}
		if err, ok := e.broken[n]; ok {
			missing = append(missing, fmt.Sprintf("%s (does not compile: %v)", n, firstLine(err)))
		} else {
			missing = append(missing, n)
		}
	}
	e.mu.RUnlock()
	if len(missing) > 0 {
		return Result{}, fmt.Errorf("%w: %s", ErrPackMissing, strings.Join(missing, ", "))
	}
	var res Result
	if len(selected) == 0 {
		return res, nil
	}
	// The input is converted to a Rego value once, here: the cache compares
	// it, and the query takes it as it is.
	value, err := ast.InterfaceToValue(input)
	if err != nil {
		return res, fmt.Errorf("policy input: %w", err)
	}
	cacheable = cacheable && e.cache.enabled()
	var key cacheKey
	if cacheable {
		key = cacheKey{revision: revision, packs: strings.Join(selected, "\x00"), hash: value.Hash()}
		if cached, ok := e.cache.get(key, value); ok {
			return cached, nil
		}
	}
	verdicts, err := evalPacks(ctx, pq, selected, value)
	if err != nil {
		return res, err
	}
	for i, pairs := range verdicts {
		for _, p := range pairs {
			pr, ok := p.([]any)
			if !ok || len(pr) != 2 {
				continue
			}
			msg := fmt.Sprintf("[%s] %v", selected[i], pr[1])
			if pr[0] == "deny" {
				res.Deny = append(res.Deny, msg)
			} else {
				res.Warn = append(res.Warn, msg)
			}
		}
	}
	slices.Sort(res.Deny)
	slices.Sort(res.Warn)
	res.Deny = slices.Compact(res.Deny)
	res.Warn = slices.Compact(res.Warn)
	if cacheable {
		e.cache.put(key, value, res)
	}
	return res, nil
}

type cacheKey struct {
	revision uint64
	packs    string
	hash     int
}

type cacheEntry struct {
	input ast.Value
	res   Result
}

// resultCache maps an input (by its hash, then compared in full, so a hash
// collision only costs a miss) to the result for one revision of the packs.
type resultCache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]cacheEntry
}

func (c *resultCache) enabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max > 0
}

func (c *resultCache) get(k cacheKey, input ast.Value) (Result, bool) {
	c.mu.Lock()
	ent, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || ent.input.Compare(input) != 0 {
		return Result{}, false
	}
	// Callers keep and extend the slices; the cached ones stay untouched.
	return Result{Deny: slices.Clone(ent.res.Deny), Warn: slices.Clone(ent.res.Warn)}, true
}

func (c *resultCache) put(k cacheKey, input ast.Value, res Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max <= 0 {
		return
	}
	if c.entries == nil {
		c.entries = map[cacheKey]cacheEntry{}
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for old := range c.entries { // any one: no entry is worth tracking more
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = cacheEntry{input: input, res: Result{Deny: slices.Clone(res.Deny), Warn: slices.Clone(res.Warn)}}
}

func (c *resultCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

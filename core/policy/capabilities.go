package policy

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// DeniedBuiltin is an OPA builtin that no policy pack may call, and why.
type DeniedBuiltin struct {
	Name string
	// Why completes "it ...": what the builtin would let a pack do from
	// inside the operator.
	Why string
}

// DeniedBuiltins is the one list of builtins packs may not call; the
// capabilities, the refusal messages, the docs table (docs/policies.md,
// checked by a test) and the tests derive from it.
//
// Everything else OPA v1.22.3 ships stays: it computes on the document and
// the pack alone. Of the builtins OPA marks nondeterministic, time.now_ns,
// rand.intn, uuid.rfc4122 and the io.jwt ones (which read the clock or
// random numbers) cannot reach anything outside the operator, so they
// stay; the engine never caches the verdicts of a pack that calls one. The
// net.cidr_* builtins are arithmetic on strings and stay too; only
// net.lookup_ip_addr touches the network.
var DeniedBuiltins = []DeniedBuiltin{
	{Name: "http.send", Why: "sends HTTP requests from the operator's pod (to other tenants' services, the apiserver, the cloud metadata endpoint) and reads its files and environment for TLS settings"},
	{Name: "net.lookup_ip_addr", Why: "makes DNS queries from the operator's pod, which can carry data out"},
	{Name: "opa.runtime", Why: "returns the operator's environment variables and OPA configuration"},
	{Name: "json.match_schema", Why: "follows a schema's $ref to a file:// URL (the operator's service account token) or over the network"},
	{Name: "json.verify_schema", Why: "follows a schema's $ref to a file:// URL (the operator's service account token) or over the network"},
}

// ErrDeniedBuiltin marks a pack refused for calling a denied builtin.
var ErrDeniedBuiltin = errors.New("calls a builtin that policy packs may not use")

func deniedWhy(name string) (string, bool) {
	i := slices.IndexFunc(DeniedBuiltins, func(d DeniedBuiltin) bool { return d.Name == name })
	if i < 0 {
		return "", false
	}
	return DeniedBuiltins[i].Why, true
}

// Capabilities are what every pack is compiled and evaluated with: this
// OPA version's, less the denied builtins, and no host for the network
// (allow_net empty), in case a builtin that reaches out is added later.
// Compiling against them makes a call the name check missed an undefined
// function all the same.
var Capabilities = sync.OnceValue(func() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		_, denied := deniedWhy(b.Name)
		return denied
	})
	caps.AllowNet = []string{}
	return caps
})

// checkDenied refuses modules that call a denied builtin, naming each
// builtin, where it is called, and why it is denied: the compiler alone
// would only say "undefined function".
func checkDenied(modules map[string]*ast.Module) error {
	var found []string
	for name, loc := range calledBuiltins(modules) {
		if why, denied := deniedWhy(name); denied {
			found = append(found, fmt.Sprintf("%s (at %s): it %s", name, loc, why))
		}
	}
	if len(found) == 0 {
		return nil
	}
	sort.Strings(found)
	return fmt.Errorf("%w: %s", ErrDeniedBuiltin, strings.Join(found, "; "))
}

// calledBuiltins maps the name of every function the modules call to the
// first place it is called. Calls are both terms (x := f(y)) and
// expressions (f(y, x)).
func calledBuiltins(modules map[string]*ast.Module) map[string]string {
	out := map[string]string{}
	note := func(op fmt.Stringer, loc *ast.Location) {
		name := op.String()
		if _, ok := out[name]; ok {
			return
		}
		where := "?"
		if loc != nil {
			where = fmt.Sprintf("%s:%d", loc.File, loc.Row)
		}
		out[name] = where
	}
	for _, m := range modules {
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if call, ok := t.Value.(ast.Call); ok && len(call) > 0 {
				note(call[0], t.Location)
			}
			return false
		})
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			if x.IsCall() {
				note(x.Operator(), x.Location)
			}
			return false
		})
	}
	return out
}

// DeniedBuiltinsMarkdown is the table of denied builtins that
// docs/policies.md shows.
func DeniedBuiltinsMarkdown() string {
	var b strings.Builder
	b.WriteString("| builtin | refused because it |\n|---|---|\n")
	for _, d := range DeniedBuiltins {
		fmt.Fprintf(&b, "| `%s` | %s |\n", d.Name, d.Why)
	}
	return b.String()
}

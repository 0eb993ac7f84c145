package hosthttp

import "context"

// CallInfo identifies a driver call in logs: which Provider it serves and
// which reconcile caused it. It never holds credentials.
type CallInfo struct {
	Provider    string // namespace/name
	ReconcileID string
	// Secrets are the values the host must redact from anything the driver
	// logs during this call.
	Secrets []string
}

type callInfoKey struct{}
type policyKey struct{}

// WithCallInfo attaches call metadata to ctx.
func WithCallInfo(ctx context.Context, ci CallInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, ci)
}

// CallInfoFrom returns the call metadata attached to ctx.
func CallInfoFrom(ctx context.Context) CallInfo {
	ci, _ := ctx.Value(callInfoKey{}).(CallInfo)
	return ci
}

// WithPolicy attaches the Provider's network policy to ctx; the instrumented
// driver starts an Op under it for each operation.
func WithPolicy(ctx context.Context, p *Policy) context.Context {
	return context.WithValue(ctx, policyKey{}, p)
}

// PolicyFrom returns the policy attached to ctx, or nil.
func PolicyFrom(ctx context.Context) *Policy { p, _ := ctx.Value(policyKey{}).(*Policy); return p }

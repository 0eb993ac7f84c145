// Package policypacks tests the Rego policy packs in policies/ with OPA's Go
// API, so `go test ./...` runs them without an opa binary:
//
//   - every Rego unit test (policies/<pack>/*_test.rego), one Go subtest each,
//     exactly as `opa test policies/` would load and run them;
//   - every pack compiles on its own, as the engine in core loads it, and
//     evaluates without errors on malformed input;
//   - every example in policies/testdata/<case>/input.json gives the deny and
//     warn counts written in the sibling expect.json;
//   - the packs' fast paths never change a verdict, on random documents.
package policypacks

//go:build !wasip1

package guest

import "errors"

var errNoHost = errors.New("pail guest: no host (not running as a wasm module)")

// Off wasm there is no host to call: native mode hands drivers a real
// http.RoundTripper instead of Transport().
func hostLog([]byte) {}

func roundTrip([]byte) ([]byte, error) { return nil, errNoHost }

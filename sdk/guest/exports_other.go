//go:build !wasip1

package guest

// Off wasm there is no host to call: native mode hands drivers a real
// http.RoundTripper instead of Transport().
func hostLog([]byte) {}

func roundTrip([]byte) ([]byte, error) { return nil, errNoHost }

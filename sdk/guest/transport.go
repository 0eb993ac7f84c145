package guest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/pail-dev/pail/sdk/abi"
)

// Transport returns the http.RoundTripper that sends requests through the
// host's http_request import. Give it to the SDK client the driver builds.
func Transport() http.RoundTripper { return hostTransport{} }

type hostTransport struct{}

func (hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	head := abi.HTTPRequestHead{Method: req.Method, URL: req.URL.String()}
	if head.Method == "" {
		head.Method = http.MethodGet
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			head.Headers = append(head.Headers, [2]string{k, v})
		}
	}
	// Go keeps Host and Content-Length outside Header; the signature covers
	// them, so the host must send exactly these values.
	if req.Host != "" && req.Host != req.URL.Host {
		head.Headers = append(head.Headers, [2]string{"Host", req.Host})
	}
	if req.ContentLength > 0 || len(body) > 0 {
		head.Headers = append(head.Headers, [2]string{"Content-Length", strconv.Itoa(len(body))})
	}
	hb, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	raw, err := roundTrip(abi.EncodeFrame(hb, body))
	if err != nil {
		return nil, err
	}
	rh, rb, err := abi.DecodeFrame(raw)
	if err != nil {
		return nil, fmt.Errorf("pail guest: %w", err)
	}
	var resp abi.HTTPResponseHead
	if err := json.Unmarshal(rh, &resp); err != nil {
		return nil, fmt.Errorf("pail guest: decode response head: %w", err)
	}
	if resp.Error != "" {
		return nil, &HostError{Message: resp.Error, Refused: resp.Refused}
	}
	h := http.Header{}
	for _, kv := range resp.Headers {
		h.Add(kv[0], kv[1])
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)),
		StatusCode:    resp.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(rb)),
		ContentLength: int64(len(rb)),
		Request:       req,
	}, nil
}

// HostError is a request the host refused or could not complete, such as a
// host outside the Provider's allow-list (Refused) or an unreachable endpoint.
type HostError struct {
	Message string
	Refused bool
}

func (e *HostError) Error() string { return "host: " + e.Message }

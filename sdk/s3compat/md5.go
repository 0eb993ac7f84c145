package s3compat

import (
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 is what S3 servers demand, not a security hash
	"encoding/base64"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// contentMD5 adds a Content-MD5 header to every request that carries a
// body. Since aws-sdk-go-v2 s3 v1.73 the SDK sends only a CRC32 checksum on
// the operations S3 requires a checksum for (DeleteObjects, PutBucketCors,
// PutBucketLifecycleConfiguration, …), and many S3-compatible servers still
// insist on Content-MD5 there (aws/aws-sdk-go-v2#3258). AWS accepts both.
// The driver sends no object data, only small XML documents, so hashing
// every body costs nothing worth a quirk flag.
type contentMD5 struct{}

func (contentMD5) ID() string { return "PailContentMD5" }

func (contentMD5) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok || req.Header.Get("Content-MD5") != "" {
		return next.HandleFinalize(ctx, in)
	}
	stream := req.GetStream()
	if stream == nil || !req.IsStreamSeekable() {
		return next.HandleFinalize(ctx, in)
	}
	h := md5.New() //nolint:gosec // Content-MD5, an integrity header S3 defines
	n, err := io.Copy(h, stream)
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("content-md5: %w", err)
	}
	if err := req.RewindStream(); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("content-md5: %w", err)
	}
	if n > 0 {
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	return next.HandleFinalize(ctx, in)
}

// addContentMD5 runs contentMD5 just before the request is signed.
func addContentMD5(stack *middleware.Stack) error {
	return stack.Finalize.Insert(contentMD5{}, "Signing", middleware.Before)
}

package drivertest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// BucketName returns a bucket name unique to this run: names are global on
// AWS and Wasabi, and a failed run may leave buckets behind.
func BucketName(prefix string) string {
	name := "pail-it-" + prefix + "-" + randomSuffix()
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimRight(name, "-")
}

// UserName returns an IAM user name unique to this run.
func UserName(prefix string) string {
	return fmt.Sprintf("pail-it-%s-%s", prefix, randomSuffix())
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

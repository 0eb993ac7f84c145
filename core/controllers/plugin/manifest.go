// Package plugin installs driver plugins from labelled ConfigMaps: it loads
// a driver, upgrades it when its sha256 changes and unloads it when the
// ConfigMap goes, all without a restart.
package plugin

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/pail-dev/pail/core/registry"
)

// Label marks plugin ConfigMaps; only the operator's namespace is read.
const Label = "pail.dev/plugin"

// Keys of a plugin ConfigMap.
const (
	KeyName         = "name"
	KeyVersion      = "version"
	KeySHA256       = "sha256"
	KeyPath         = "path"
	KeyLimits       = "limits.yaml"
	KeyAllowedHosts = "allowedHosts"
	// KeyModuleGzip (binaryData) holds a small gzip'd module inline.
	KeyModuleGzip = "module.wasm.gz"
)

// maxInlineModule bounds a decompressed inline module: a ConfigMap holds at
// most 1 MiB, and a gzip bomb must not exhaust the operator's memory.
const maxInlineModule = 64 << 20

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// limitsFile is limits.yaml.
type limitsFile struct {
	MemoryLimitPages    uint32 `json:"memoryLimitPages,omitempty"`
	PoolSize            int    `json:"poolSize,omitempty"`
	CallTimeout         string `json:"callTimeout,omitempty"`
	MaxCallsPerInstance int    `json:"maxCallsPerInstance,omitempty"`
	MaxHTTPCallsPerOp   int64  `json:"maxHTTPCallsPerOp,omitempty"`
}

// Parse reads a plugin manifest. Every error says which key is wrong.
func Parse(cm *corev1.ConfigMap) (registry.Plugin, error) {
	d := cm.Data
	p := registry.Plugin{Name: strings.TrimSpace(d[KeyName]), Version: strings.TrimSpace(d[KeyVersion]), SHA256: strings.ToLower(strings.TrimSpace(d[KeySHA256]))}
	if !namePattern.MatchString(p.Name) {
		return p, fmt.Errorf("data.%s %q must be a driver name (lower-case letters, digits and dashes)", KeyName, p.Name)
	}
	if p.Version == "" {
		return p, fmt.Errorf("data.%s is empty", KeyVersion)
	}
	if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 {
		return p, fmt.Errorf("data.%s must be the module's sha256 as 64 hex digits", KeySHA256)
	}
	path := strings.TrimSpace(d[KeyPath])
	gz, inline := cm.BinaryData[KeyModuleGzip]
	switch {
	case path != "" && inline:
		return p, fmt.Errorf("give the module either as data.%s or as binaryData[%s], not both", KeyPath, KeyModuleGzip)
	case path != "":
		if !filepath.IsAbs(path) || filepath.Clean(path) != path {
			return p, fmt.Errorf("data.%s %q must be a clean absolute path", KeyPath, path)
		}
		p.Path = path
	case inline:
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return p, fmt.Errorf("binaryData[%s] is not gzip: %w", KeyModuleGzip, err)
		}
		wasm, err := io.ReadAll(io.LimitReader(zr, maxInlineModule+1))
		if err != nil {
			return p, fmt.Errorf("binaryData[%s]: %w", KeyModuleGzip, err)
		}
		if len(wasm) > maxInlineModule {
			return p, fmt.Errorf("binaryData[%s] decompresses to more than %d MiB", KeyModuleGzip, maxInlineModule>>20)
		}
		p.Module = wasm
	default:
		return p, fmt.Errorf("no module: set data.%s (a mounted file) or binaryData[%s]", KeyPath, KeyModuleGzip)
	}
	if raw := d[KeyLimits]; strings.TrimSpace(raw) != "" {
		var l limitsFile
		if err := yaml.UnmarshalStrict([]byte(raw), &l); err != nil {
			return p, fmt.Errorf("data[%s]: %w", KeyLimits, err)
		}
		p.Limits = registry.Limits{MemoryLimitPages: l.MemoryLimitPages, PoolSize: l.PoolSize, MaxCallsPerInstance: l.MaxCallsPerInstance, MaxHTTPCallsPerOp: l.MaxHTTPCallsPerOp}
		if l.CallTimeout != "" {
			t, err := time.ParseDuration(l.CallTimeout)
			if err != nil || t <= 0 {
				return p, fmt.Errorf("data[%s] callTimeout %q is not a positive duration", KeyLimits, l.CallTimeout)
			}
			p.Limits.CallTimeout = t
		}
		if l.PoolSize < 0 || l.MaxCallsPerInstance < 0 || l.MaxHTTPCallsPerOp < 0 {
			return p, errors.New("data[" + KeyLimits + "] limits cannot be negative")
		}
	}
	for _, h := range strings.FieldsFunc(d[KeyAllowedHosts], func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return p, fmt.Errorf("data.%s: %q must be an http(s)://host[:port] URL", KeyAllowedHosts, h)
		}
		p.AllowedHosts = append(p.AllowedHosts, h)
	}
	return p, nil
}

// Package logging routes every log line through hclog, so the operator, the
// controllers (via logr) and the drivers (via the host log import) share one
// format, one level and one redaction path.
package logging

import (
	"io"
	"os"

	"github.com/go-logr/logr"
	"github.com/hashicorp/go-hclog"
)

// New returns the operator's root logger. json selects hclog's JSON format.
func New(name string, level string, json bool, out io.Writer) hclog.Logger {
	if out == nil {
		out = os.Stderr
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            name,
		Level:           hclog.LevelFromString(level),
		JSONFormat:      json,
		Output:          out,
		IncludeLocation: false,
		TimeFormat:      "2006-01-02T15:04:05.000Z07:00",
	})
}

// Logr bridges hclog to logr for controller-runtime. logr's V(1) and deeper
// map to hclog Debug and Trace.
func Logr(l hclog.Logger) logr.Logger { return logr.New(&sink{l: l}) }

type sink struct {
	l    hclog.Logger
	info logr.RuntimeInfo
}

var _ logr.LogSink = (*sink)(nil)

func (s *sink) Init(info logr.RuntimeInfo) { s.info = info }

func level(v int) hclog.Level {
	switch {
	case v <= 0:
		return hclog.Info
	case v == 1:
		return hclog.Debug
	default:
		return hclog.Trace
	}
}

func (s *sink) Enabled(v int) bool { return s.l.GetLevel() <= level(v) }

func (s *sink) Info(v int, msg string, kv ...any) { s.l.Log(level(v), msg, kv...) }

func (s *sink) Error(err error, msg string, kv ...any) {
	s.l.Error(msg, append(kv, "error", err)...)
}

func (s *sink) WithValues(kv ...any) logr.LogSink { return &sink{l: s.l.With(kv...), info: s.info} }

func (s *sink) WithName(name string) logr.LogSink { return &sink{l: s.l.Named(name), info: s.info} }

package image

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Ignore is a parsed .dockerignore: which context paths docker build leaves
// out of COPY . .
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	pattern string
	re      *regexp.Regexp
	negate  bool
}

// ParseIgnore reads .dockerignore text. Patterns use *, ? and **, with !
// for exceptions; character classes and escapes are refused rather than
// misread.
func ParseIgnore(text string) (*Ignore, error) {
	ig := &Ignore{}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{pattern: line}
		if p, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, strings.TrimSpace(p)
		}
		if strings.ContainsAny(line, `[\`) {
			return nil, fmt.Errorf(".dockerignore:%d: %q: character classes and escapes are not modelled", i+1, r.pattern)
		}
		line = strings.TrimPrefix(path.Clean("/"+line), "/")
		re, err := regexp.Compile("^" + globRegexp(line) + "$")
		if err != nil {
			return nil, fmt.Errorf(".dockerignore:%d: %q: %w", i+1, r.pattern, err)
		}
		r.re = re
		ig.rules = append(ig.rules, r)
	}
	return ig, nil
}

func globRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return b.String()
}

// Excluded reports whether the context path rel (slash-separated, relative
// to the context root) is left out. As in docker, the last matching rule
// wins, and a rule matching a parent directory matches what is under it.
func (ig *Ignore) Excluded(rel string) bool {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	excluded := false
	for _, r := range ig.rules {
		if r.matches(rel) {
			excluded = !r.negate
		}
	}
	return excluded
}

func (r ignoreRule) matches(rel string) bool {
	for p := rel; p != "." && p != ""; p = path.Dir(p) {
		if r.re.MatchString(p) {
			return true
		}
	}
	return false
}

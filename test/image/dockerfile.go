package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Line int    // line of its first physical line, 1-based
	Cmd  string // upper case: FROM, COPY, ...
	Args string
}

func (in Instruction) String() string {
	return fmt.Sprintf("%s:%d: %s %s", dockerfileName, in.Line, in.Cmd, in.Args)
}

const dockerfileName = "Dockerfile"

func lineErrorf(line int, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", dockerfileName, line, fmt.Sprintf(format, a...))
}

func (in Instruction) errorf(format string, a ...any) error {
	return fmt.Errorf("%s: %s", in, fmt.Sprintf(format, a...))
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	From   Instruction
	Base   string
	Name   string // the AS name, "" when there is none
	Instrs []Instruction
}

// Parse splits a Dockerfile into stages. It knows only the syntax this
// repository's Dockerfile uses and refuses the rest (an escape directive,
// instructions before FROM other than ARG), so a change it does not model
// fails the test instead of being misread.
func Parse(text string) ([]Stage, error) {
	var (
		instrs []Instruction
		cur    strings.Builder
		start  int
	)
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") {
			if i < 3 && strings.HasPrefix(strings.ToLower(strings.ReplaceAll(line, " ", "")), "#escape=") {
				return nil, lineErrorf(i+1, "an escape directive is not modelled")
			}
			continue // comments are dropped even inside a continuation
		}
		if line == "" && cur.Len() == 0 {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		body, cont := strings.CutSuffix(line, `\`)
		cur.WriteString(strings.TrimSpace(body))
		if cont {
			cur.WriteByte(' ')
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		instrs = append(instrs, Instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, lineErrorf(start, "a continuation runs past the end of the file")
	}
	var stages []Stage
	for _, in := range instrs {
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			var s Stage
			switch {
			case len(f) == 1:
				s = Stage{From: in, Base: f[0]}
			case len(f) == 3 && strings.EqualFold(f[1], "AS"):
				s = Stage{From: in, Base: f[0], Name: f[2]}
			default:
				return nil, in.errorf("want FROM IMAGE [AS NAME]")
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				return nil, in.errorf("only ARG may come before the first FROM")
			}
			continue
		}
		stages[len(stages)-1].Instrs = append(stages[len(stages)-1].Instrs, in)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", dockerfileName)
	}
	return stages, nil
}

// Copy is a COPY --from of the final stage.
type Copy struct {
	Instruction
	From     string
	Src, Dst string
	// Chown is nil without --chown: Docker then makes the files root's.
	Chown *IDs
}

// IDs is a numeric user:group.
type IDs struct{ UID, GID uint32 }

// EnvVar is one NAME=value of an ENV instruction.
type EnvVar struct {
	Instruction
	Name, Value string
}

// Command is one command of a RUN, split into words.
type Command struct {
	Instruction
	Words []string
}

// Image is what the Dockerfile says the image is built from and holds: the
// parts the test repeats and checks.
type Image struct {
	// Build stage (the one the final stage copies from).
	BuildStage string
	BuildEnv   []EnvVar
	Workdir    string
	// GoBuild is the `go build` command; GoBuildOut its -o, made absolute.
	GoBuild    Command
	GoBuildOut string
	// MakePlugins is the `make plugins` command.
	MakePlugins Command
	// Warm is the `<binary> --warm-cache ...` command.
	Warm Command

	// Final stage.
	Copies     []Copy
	Env        []EnvVar
	User       IDs
	UserLine   Instruction
	Entrypoint []string
	EntryLine  Instruction
}

// Abs resolves p as the build stage's shell would: relative to WORKDIR.
func (im *Image) Abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(im.Workdir, p)
}

// EnvValue returns the final stage's value of name.
func (im *Image) EnvValue(name string) (string, bool) { return lookupEnv(im.Env, name) }

// lookupEnv returns the last value of name in vars, as docker keeps it.
func lookupEnv(vars []EnvVar, name string) (string, bool) {
	v, ok := "", false
	for _, e := range vars {
		if e.Name == name {
			v, ok = e.Value, true
		}
	}
	return v, ok
}

// Read interprets a Dockerfile's text. Every error names the line and says
// what shape the test expected, so a Dockerfile change that would make the
// test meaningless fails it instead.
func Read(text string) (*Image, error) {
	stages, err := Parse(text)
	if err != nil {
		return nil, err
	}
	if len(stages) < 2 {
		return nil, fmt.Errorf("%s: want a build stage and a final stage", dockerfileName)
	}
	im := &Image{}
	if err := im.readFinal(stages[len(stages)-1]); err != nil {
		return nil, err
	}
	var build *Stage
	for i := range stages[:len(stages)-1] {
		if stages[i].Name == im.BuildStage {
			build = &stages[i]
		}
	}
	if build == nil {
		return nil, fmt.Errorf("%s: the final stage copies from %q, which no earlier stage is named", dockerfileName, im.BuildStage)
	}
	if err := im.readBuild(*build); err != nil {
		return nil, err
	}
	return im, nil
}

func (im *Image) readFinal(s Stage) error {
	for _, in := range s.Instrs {
		switch in.Cmd {
		case "LABEL", "EXPOSE":
			// Metadata: nothing in the root filesystem or the process.
		case "COPY":
			c, err := parseCopy(in)
			if err != nil {
				return err
			}
			if im.BuildStage == "" {
				im.BuildStage = c.From
			} else if c.From != im.BuildStage {
				return in.errorf("every COPY must come from one build stage (%q), not %q", im.BuildStage, c.From)
			}
			im.Copies = append(im.Copies, c)
		case "ENV":
			vars, err := parseEnv(in)
			if err != nil {
				return err
			}
			im.Env = append(im.Env, vars...)
		case "USER":
			ids, err := parseIDs(in.Args)
			if err != nil {
				return in.errorf("want USER UID:GID, numeric: %v", err)
			}
			im.User, im.UserLine = ids, in
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.Args), &im.Entrypoint); err != nil || len(im.Entrypoint) == 0 || !path.IsAbs(im.Entrypoint[0]) {
				return in.errorf(`want the exec form with an absolute path, ENTRYPOINT ["/binary", ...]`)
			}
			im.EntryLine = in
		default:
			return in.errorf("the final stage has %s, which test/image does not model; teach it (test/image/dockerfile.go) what %s does to the image", in.Cmd, in.Cmd)
		}
	}
	switch {
	case len(im.Copies) == 0:
		return fmt.Errorf("%s: the final stage copies nothing from a build stage", s.From)
	case im.UserLine.Line == 0:
		return fmt.Errorf("%s: the final stage has no USER UID:GID", s.From)
	case im.EntryLine.Line == 0:
		return fmt.Errorf("%s: the final stage has no ENTRYPOINT", s.From)
	}
	return nil
}

func (im *Image) readBuild(s Stage) error {
	copiesContext := false
	for _, in := range s.Instrs {
		switch in.Cmd {
		case "WORKDIR":
			if !path.IsAbs(in.Args) {
				return in.errorf("want an absolute WORKDIR")
			}
			im.Workdir = path.Clean(in.Args)
		case "ENV":
			vars, err := parseEnv(in)
			if err != nil {
				return err
			}
			im.BuildEnv = append(im.BuildEnv, vars...)
		case "COPY":
			// Module files first, then the whole context.
			if f := strings.Fields(in.Args); len(f) == 2 && f[0] == "." && (f[1] == "." || path.Clean(f[1]) == im.Workdir) {
				copiesContext = true
			}
		case "RUN":
			cmds, err := parseRun(in)
			if err != nil {
				return err
			}
			for _, c := range cmds {
				if err := im.readCommand(c); err != nil {
					return err
				}
			}
		default:
			return in.errorf("the build stage has %s, which test/image does not model", in.Cmd)
		}
	}
	switch {
	case im.Workdir == "":
		return fmt.Errorf("%s: the build stage has no WORKDIR", s.From)
	case !copiesContext:
		return fmt.Errorf("%s: the build stage does not COPY . . (the test takes policies and sources from the build context)", s.From)
	case im.GoBuild.Line == 0:
		return fmt.Errorf("%s: the build stage runs no go build -o FILE", s.From)
	case im.MakePlugins.Line == 0:
		return fmt.Errorf("%s: the build stage runs no make plugins", s.From)
	case im.Warm.Line == 0:
		return fmt.Errorf("%s: the build stage does not run %s --warm-cache", s.From, im.GoBuildOut)
	}
	return nil
}

// readCommand classifies one command of a RUN; a command the test does not
// repeat or knows to be irrelevant is an error.
func (im *Image) readCommand(c Command) error {
	w := c.Words
	switch {
	case len(w) == 3 && w[0] == "go" && w[1] == "mod" && w[2] == "download":
		// Only fills the module cache.
	case len(w) >= 2 && w[0] == "go" && w[1] == "build":
		out := ""
		for i, a := range w {
			if a == "-o" && i+1 < len(w) {
				out = w[i+1]
			} else if v, ok := strings.CutPrefix(a, "-o="); ok {
				out = v
			}
		}
		if out == "" {
			return c.errorf("go build needs -o: the final stage copies its output")
		}
		im.GoBuild, im.GoBuildOut = c, im.Abs(out)
	case len(w) == 2 && w[0] == "make" && w[1] == "plugins":
		im.MakePlugins = c
	case len(w) >= 2 && im.GoBuildOut != "" && im.Abs(w[0]) == im.GoBuildOut && containsFlag(w[1:], "warm-cache"):
		im.Warm = c
	default:
		return c.errorf("the command %q is not one test/image repeats (go build, make plugins, %s --warm-cache)", strings.Join(w, " "), im.GoBuildOut)
	}
	return nil
}

// FlagValue returns the value of --name VALUE or --name=VALUE in words.
func FlagValue(words []string, name string) (string, bool) {
	for i, a := range words {
		if a == "--"+name && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
			return words[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func containsFlag(words []string, name string) bool {
	for _, a := range words {
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

func parseCopy(in Instruction) (Copy, error) {
	c := Copy{Instruction: in}
	var paths []string
	for f := range strings.FieldsSeq(in.Args) {
		switch {
		case strings.HasPrefix(f, "--from="):
			c.From = strings.TrimPrefix(f, "--from=")
		case strings.HasPrefix(f, "--chown="):
			ids, err := parseIDs(strings.TrimPrefix(f, "--chown="))
			if err != nil {
				return c, in.errorf("want --chown=UID:GID, numeric: %v", err)
			}
			c.Chown = &ids
		case strings.HasPrefix(f, "-"):
			return c, in.errorf("the flag %s is not modelled (only --from and --chown)", f)
		default:
			paths = append(paths, f)
		}
	}
	switch {
	case c.From == "":
		return c, in.errorf("the final stage may only COPY --from=<build stage>: a copy from the context is not modelled")
	case len(paths) != 2 || strings.HasPrefix(in.Args, "["):
		return c, in.errorf("want COPY --from=STAGE SRC DST with one source")
	case !path.IsAbs(paths[0]) || !path.IsAbs(paths[1]):
		return c, in.errorf("want absolute SRC and DST")
	case strings.ContainsAny(paths[0], "*?["):
		return c, in.errorf("a wildcard source is not modelled")
	}
	c.Src, c.Dst = paths[0], paths[1]
	return c, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func parseEnv(in Instruction) ([]EnvVar, error) {
	words, err := splitWords(in.Args)
	if err != nil {
		return nil, in.errorf("%v", err)
	}
	var out []EnvVar
	for _, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if !ok || !envName.MatchString(name) {
			return nil, in.errorf("want ENV NAME=value ... (the legacy ENV NAME value form is not modelled), got %q", w)
		}
		if strings.ContainsAny(value, "$") {
			return nil, in.errorf("variable substitution in %q is not modelled", w)
		}
		out = append(out, EnvVar{Instruction: in, Name: name, Value: value})
	}
	if len(out) == 0 {
		return nil, in.errorf("ENV sets nothing")
	}
	return out, nil
}

func parseIDs(s string) (IDs, error) {
	u, g, ok := strings.Cut(s, ":")
	if !ok {
		return IDs{}, fmt.Errorf("%q has no group", s)
	}
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return IDs{}, fmt.Errorf("user of %q: %w", s, err)
	}
	gid, err := strconv.ParseUint(g, 10, 32)
	if err != nil {
		return IDs{}, fmt.Errorf("group of %q: %w", s, err)
	}
	return IDs{UID: uint32(uid), GID: uint32(gid)}, nil
}

// parseRun splits a RUN's shell command at && into commands. Build flags
// (--mount=...) are dropped; shell syntax other than quoting and && is
// refused, as the test runs the commands without a shell.
func parseRun(in Instruction) ([]Command, error) {
	args := in.Args
	for strings.HasPrefix(args, "--") {
		_, rest, _ := strings.Cut(args, " ")
		args = strings.TrimSpace(rest)
	}
	if strings.HasPrefix(args, "[") {
		return nil, in.errorf("the exec form of RUN is not modelled")
	}
	words, err := splitWords(args)
	if err != nil {
		return nil, in.errorf("%v", err)
	}
	var (
		out []Command
		cur []string
	)
	for _, w := range append(words, "&&") {
		if w != "&&" {
			cur = append(cur, w)
			continue
		}
		if len(cur) == 0 {
			return nil, in.errorf("an empty command around &&")
		}
		out = append(out, Command{Instruction: in, Words: cur})
		cur = nil
	}
	return out, nil
}

// splitWords splits like a POSIX shell for plain words, single and double
// quotes, and a bare &&; any other unquoted shell syntax is an error.
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, errors.New("unterminated double quote")
			}
			q := s[i+1 : i+1+j]
			if strings.ContainsAny(q, "$`\\") {
				return nil, fmt.Errorf("expansion inside %q is not modelled", q)
			}
			cur.WriteString(q)
			inWord, i = true, i+1+j
		case c == '&' && i+1 < len(s) && s[i+1] == '&' && !inWord:
			flush()
			words = append(words, "&&")
			i++
		case strings.IndexByte("|;&<>$`\\(){}*?[", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q is not modelled", string(c))
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, nil
}

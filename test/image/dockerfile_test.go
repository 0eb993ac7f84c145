package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func realDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "Dockerfile"))
	require.NoError(t, err)
	return string(b)
}

// The parser reads the repository's Dockerfile into what TestImage repeats.
func TestReadDockerfile(t *testing.T) {
	im, err := Read(realDockerfile(t))
	require.NoError(t, err)
	assert.Equal(t, "build", im.BuildStage)
	assert.Equal(t, "/src", im.Workdir)
	assert.Equal(t, "/src/bin/pail", im.GoBuildOut)
	assert.Contains(t, strings.Join(im.GoBuild.Words, " "), `-ldflags -s -w`, "the quoted ldflags are one word")
	assert.Equal(t, []string{"make", "plugins"}, im.MakePlugins.Words)
	v, _ := FlagValue(im.Warm.Words, "cache-dir")
	assert.Equal(t, "/out/wasm-cache", v)
	v, _ = lookupEnv(im.BuildEnv, "CGO_ENABLED")
	assert.Equal(t, "0", v)

	var copies []string
	for _, c := range im.Copies {
		copies = append(copies, c.Src+" "+c.Dst)
	}
	assert.Equal(t, []string{
		"/src/bin/pail /pail", "/src/bin/drivers/ /drivers/", "/src/policies/ /policies/", "/out/wasm-cache/ /opt/pail/wasm-cache/",
	}, copies)
	require.NotNil(t, im.Copies[3].Chown, "the seed is chowned: wazero writes it 0700/0600 as root")
	assert.Equal(t, IDs{65532, 65532}, *im.Copies[3].Chown)
	assert.Equal(t, IDs{65532, 65532}, im.User)
	assert.Equal(t, []string{"/pail"}, im.Entrypoint)
	v, _ = im.EnvValue("PAIL_CACHE_SEED_DIR")
	assert.Equal(t, "/opt/pail/wasm-cache", v)
}

// A Dockerfile change the test does not model must fail it, naming the line,
// rather than be silently ignored.
func TestReadDockerfileRefusesWhatItDoesNotModel(t *testing.T) {
	dockerfile := realDockerfile(t)
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"a RUN in the final stage", "USER 65532:65532", "RUN mkdir /data\nUSER 65532:65532", "the final stage has RUN"},
		{"a COPY from the context", "COPY --from=build /src/policies/ /policies/", "COPY policies/ /policies/", "may only COPY --from"},
		{"a wildcard source", "COPY --from=build /src/bin/drivers/ /drivers/", "COPY --from=build /src/bin/drivers/*.wasm /drivers/", "wildcard"},
		{"a user by name", "USER 65532:65532", "USER nonroot", "want USER UID:GID"},
		{"a shell-form entrypoint", `ENTRYPOINT ["/pail"]`, "ENTRYPOINT /pail", "exec form"},
		{"legacy ENV", "ENV PAIL_DRIVER_DIR=/drivers \\", "ENV PAIL_DRIVER_DIR /drivers\nENV X=1 \\", "legacy"},
		{"no warm-up", "RUN bin/pail --warm-cache", "RUN bin/pail --version", "not one test/image repeats"},
		{"shell syntax in a RUN", "make plugins", "make plugins; true", "shell syntax"},
		{"a second build stage", "COPY --from=build /src/policies/", "COPY --from=other /src/policies/", "one build stage"},
		{"no USER", "USER 65532:65532", "", "no USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Contains(t, dockerfile, tt.old, "the case no longer applies to the Dockerfile")
			_, err := Read(strings.Replace(dockerfile, tt.old, tt.new, 1))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Regexp(t, `^Dockerfile:\d+: `, err.Error(), "the error names the line")
		})
	}
}

func TestSplitWords(t *testing.T) {
	w, err := splitWords(`go build -ldflags "-s -w" -o 'bin/pail' ./x && make plugins`)
	require.NoError(t, err)
	assert.Equal(t, []string{"go", "build", "-ldflags", "-s -w", "-o", "bin/pail", "./x", "&&", "make", "plugins"}, w)
	for _, s := range []string{"a | b", "a || b", "echo $HOME", `echo "$HOME"`, "a > f", "a 'b"} {
		_, err := splitWords(s)
		assert.Error(t, err, s)
	}
}

func TestDockerignore(t *testing.T) {
	ig, err := ParseIgnore(".git\nbin\ndocs\n**/*_test.go\n!policies/**\n# comment\n/examples\n")
	require.NoError(t, err)
	for p, want := range map[string]bool{
		"bin/drivers/minio.wasm":          true,
		"bin":                             true,
		"docs/install.md":                 true,
		"core/cmd/pail/main_test.go":      true,
		"main_test.go":                    true,
		"core/cmd/pail/main.go":           false,
		"policies/baseline/x_test.go":     false, // the exception comes last
		"policies/baseline/policy.rego":   false,
		"examples/quickstart/bucket.yaml": true,
		"binary":                          false,
	} {
		assert.Equal(t, want, ig.Excluded(p), p)
	}
	_, err = ParseIgnore("[abc]\n")
	assert.Error(t, err, "character classes are refused")
}

// The repository's .dockerignore keeps every policy file in the build context.
func TestDockerignoreKeepsPolicies(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), ".dockerignore"))
	require.NoError(t, err)
	ig, err := ParseIgnore(string(b))
	require.NoError(t, err)
	assert.True(t, ig.Excluded("bin/pail"), "bin/ is built inside the image, not copied from a developer's tree")
	assert.False(t, ig.Excluded("policies/baseline/policy.rego"))
}

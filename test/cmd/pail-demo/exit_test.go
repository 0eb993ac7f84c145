package main

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOperatorExit runs real processes that end each way an operator can,
// and checks what the demo says about them.
func TestOperatorExit(t *testing.T) {
	sh := func(script string) error { return exec.Command("sh", "-c", script).Run() }
	for _, tc := range []struct {
		name   string
		err    error
		want   string
		failed bool
	}{
		{"clean exit after SIGTERM", sh("exit 0"), "exited with status 0", false},
		{"exit status", sh("exit 3"), "exited with status 3", true},
		{"stopped by SIGTERM", sh("kill -TERM $$"), "was stopped by signal terminated (SIGTERM)", false},
		{"interrupted", sh("kill -INT $$"), "was stopped by signal interrupt (SIGINT)", false},
		{"killed", sh("kill -KILL $$"), "was stopped by signal killed (SIGKILL)", true},
		{"not waited for", errors.New("wait: no child processes"), "could not be waited for (wait: no child processes)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, failed := operatorExit(tc.err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.failed, failed)
			assert.NotContains(t, got, "<nil>")
			assert.NotContains(t, got, "unexpectedly")
		})
	}
}

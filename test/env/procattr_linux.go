package env

import (
	"os/exec"
	"syscall"
)

func setProcAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// If the test binary or demo is killed without running its cleanups,
	// take the server down with it rather than leaving it bound to a port.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

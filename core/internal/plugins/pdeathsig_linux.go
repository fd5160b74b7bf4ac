package plugins

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal asks the kernel to kill the plugin if the core dies
// without a chance to kill it (SIGKILL, OOM), so no orphan outlives it.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

package plugins

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal asks the kernel to kill the plugin if the core dies
// without a chance to kill it (SIGKILL, OOM), so no orphan outlives it. The
// plugin also gets its own process group, so a Ctrl-C at the terminal
// reaches only the core, which then drains calls before killing plugins.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

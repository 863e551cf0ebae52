package lambdaruntime

import (
	"os"
	"syscall"
)

// procAttr starts the binary in a process group of its own, so that a kill
// takes what it started too, and has the kernel kill it if this process
// dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL)
}

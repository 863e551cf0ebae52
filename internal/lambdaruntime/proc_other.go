//go:build unix && !linux

package lambdaruntime

import (
	"os"
	"syscall"
)

// procAttr starts the binary in a process group of its own, so that a kill
// takes what it started too.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL)
}

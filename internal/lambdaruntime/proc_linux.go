package lambdaruntime

import (
	"os"
	"syscall"
)

// procAttr starts the binary in a process group of its own, so that a kill
// takes the children that stay in it, and has the kernel kill it if this
// process dies first. Children that start groups of their own (the engine's
// ffmpeg does) go by their own parent-death signal when the binary dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL)
}

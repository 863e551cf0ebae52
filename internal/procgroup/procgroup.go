// Package procgroup starts child processes in a process group of their
// own, so that one kill stops the child and whatever it started in that
// group: ffmpeg's runs and the local Lambda runtime's functions use it.
package procgroup

import (
	"os"
	"syscall"
)

// Kill sends SIGKILL to p's whole process group.
func Kill(p *os.Process) error {
	return syscall.Kill(-p.Pid, syscall.SIGKILL)
}

package procgroup

import "syscall"

// Attr starts a child in a process group of its own, and has the kernel
// kill it when this process dies (a SIGKILL leaves no cleanup to run).
// The signal follows the thread that started the child; clipmill locks no
// goroutine to a thread, so Go keeps that thread while the process lives.
// Children that start groups of their own go by their own parent-death
// signal.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

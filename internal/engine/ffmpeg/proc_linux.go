package ffmpeg

import "syscall"

// procAttr starts a child in a process group of its own, so that a timeout
// kills what it started too, and has the kernel kill it when clipmill dies
// (a SIGKILL leaves no cleanup to run). The signal follows the thread that
// started the child; clipmill locks no goroutine to a thread, so Go keeps
// that thread while the process lives.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

//go:build !linux

package ffmpeg

import "syscall"

// procAttr starts a child in a process group of its own, so that a timeout
// kills what it started too.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

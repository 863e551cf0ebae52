//go:build unix && !linux

package procgroup

import "syscall"

// Attr starts a child in a process group of its own.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

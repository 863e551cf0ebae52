package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is clipmill serve as a child process, started again on the same
// data folder and port after each kill.
type server struct {
	bin, data, addr, allow, preset, logPath string
	workers                                 int

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	starts int
	log    *os.File
}

// freeAddr picks a loopback port nobody listens on; the server keeps it
// across restarts.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs clipmill serve and waits until it answers /healthz.
func (s *server) start(ctx context.Context) error {
	if s.log == nil {
		f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		s.log = f
	}
	s.starts++
	fmt.Fprintf(s.log, "\n==== soak: start %d at %s ====\n", s.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, "serve", "--addr", s.addr, "--data", s.data, "--workers", strconv.Itoa(s.workers),
		"--x264-preset", s.preset, "--allow", s.allow)
	// The key and the webhook secret come from the data folder, as they
	// do for an operator who set neither.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLIPMILL_API_KEYS=") && !strings.HasPrefix(kv, "CLIPMILL_WEBHOOK_SECRET=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// Its own process group, so a ^C to the soak does not reach it first;
	// and it dies with the soak.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s serve: %w", s.bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("clipmill serve exited at start %d (%v); see %s", s.starts, cmd.ProcessState, s.logPath)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := health.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clipmill serve did not answer /healthz within 60 s (start %d); see %s", s.starts, s.logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// health asks /healthz; a server that accepts and never answers must not
// hang the soak.
var health = &http.Client{Timeout: 5 * time.Second}

// kill SIGKILLs the server and reports which of the processes it had
// started (ffmpeg, pocketsphinx) are still alive a second later: they
// would go on writing into the data folder.
func (s *server) kill() (orphans []string, err error) {
	before := descendants(s.cmd.Process.Pid)
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return nil, err
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		return nil, errors.New("clipmill serve did not die within 10 s of SIGKILL")
	}
	fmt.Fprintf(s.log, "\n==== soak: SIGKILL at %s ====\n", time.Now().Format(time.RFC3339Nano))
	time.Sleep(time.Second)
	for _, p := range before {
		if alive(p) {
			orphans = append(orphans, fmt.Sprintf("%d (%s)", p.pid, p.comm))
			// Recorded; it must not go on writing beside the restarted
			// server, nor outlive the soak.
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	return orphans, nil
}

// stop ends the server as an operator would (SIGTERM) and waits for it.
func (s *server) stop(wait time.Duration) error {
	if s.cmd == nil {
		return nil
	}
	select {
	case <-s.exited:
		return fmt.Errorf("clipmill serve had already exited: %v", s.cmd.ProcessState)
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(wait):
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("clipmill serve did not stop within %v of SIGTERM", wait)
	}
	if !s.cmd.ProcessState.Success() {
		return fmt.Errorf("clipmill serve stopped with %v", s.cmd.ProcessState)
	}
	return nil
}

// alive reports whether the server process is running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// proc is a process seen in /proc: its start time tells it from a later
// process that got the same pid.
type proc struct {
	pid       int
	comm      string
	startTime string
}

// stat reads a process's parent, command name and start time.
func stat(pid int) (ppid int, p proc, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, proc{}, 0, false
	}
	// pid (comm) state ppid ... field 22 is starttime; comm may hold spaces.
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return 0, proc{}, 0, false
	}
	f := strings.Fields(s[close+1:])
	if len(f) < 20 {
		return 0, proc{}, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, proc{pid: pid, comm: s[open+1 : close], startTime: f[19]}, f[0][0], true
}

// descendants lists the processes below root.
func descendants(root int) []proc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, p, _, ok := stat(pid); ok {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []proc
	queue := []int{root}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
		queue = queue[1:]
	}
	return out
}

func alive(p proc) bool {
	_, now, state, ok := stat(p.pid)
	return ok && now.startTime == p.startTime && state != 'Z' && state != 'X'
}

// hog keeps n cores busy with child processes of this program (see
// hogChild) until stop.
type hog struct{ cmds []*exec.Cmd }

const hogEnv = "CLIPMILL_SOAK_HOG"

func startHog(n int) (*hog, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	h := &hog{}
	for range n {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), hogEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			h.stop()
			return nil, fmt.Errorf("start the CPU hog: %w", err)
		}
		h.cmds = append(h.cmds, cmd)
	}
	return h, nil
}

// cpuSeconds is the CPU time the hog has used so far.
func (h *hog) cpuSeconds() float64 {
	total := 0.0
	for _, c := range h.cmds {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.Process.Pid), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 12 {
			u, _ := strconv.ParseFloat(f[11], 64)
			k, _ := strconv.ParseFloat(f[12], 64)
			total += (u + k) / 100 // USER_HZ is 100 on Linux
		}
	}
	return total
}

func (h *hog) stop() {
	for _, c := range h.cmds {
		c.Process.Kill()
		c.Wait()
	}
}

// hogChild spins one core forever; it is what a hog process runs.
func hogChild() {
	x := uint64(1)
	for {
		x = x*6364136223846793005 + 1442695040888963407
		if x == 0 {
			fmt.Println(x)
		}
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}

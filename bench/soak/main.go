// Command soak runs clipmill serve through a rough day (make soak): fifty
// jobs on 10 s sources with 2 workers, while a CPU hog takes every core,
// and the server is killed with SIGKILL three times at spread-out moments
// while jobs run, and started again on the same data folder and port.
// Meanwhile a few jobs are deleted: finished ones, running ones, and one
// just before a kill.
//
// It then checks what issue 10 asks of the server:
//   - every job is completed, or failed with a message that names a real
//     cause (not empty, not a bare "Processing failed"); none is left
//     pending or running;
//   - every job that ended had its webhook delivered at least once, with
//     its event id in X-Clipmill-Delivery and a valid signature, one event
//     per job (a receiver in this process drops duplicates by event id,
//     counts them, and refuses the first attempt of every seventh event so
//     that retries happen too);
//   - no files remain for deleted jobs, and no folder in the data folder
//     belongs to no job; a deleted job answers 404;
//   - no ffmpeg or pocketsphinx outlives a killed server; no 5xx; no
//     panic in the server's log.
//
// It prints the counts and exits non-zero when a check fails. The work
// folder (sources, data folder, the server's log) is kept when one does.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/sample"
)

type config struct {
	bin       string
	jobs      int
	workers   int
	kills     int
	deletes   int
	seconds   float64
	size      string
	hog       int
	preset    string
	timeout   time.Duration
	trickle   time.Duration
	seed      uint64
	keep      bool
	dir       string
	refuseNth int
}

func main() {
	if os.Getenv(hogEnv) != "" {
		hogChild()
		return
	}
	var c config
	flag.StringVar(&c.bin, "bin", "bin/clipmill", "the clipmill binary (make cli builds it)")
	flag.IntVar(&c.jobs, "jobs", 50, "jobs to run")
	flag.IntVar(&c.workers, "workers", 2, "clipmill serve --workers")
	flag.IntVar(&c.kills, "kills", 3, "times the server is killed with SIGKILL while jobs run")
	flag.IntVar(&c.deletes, "deletes", 6, "jobs to delete: half finished, half running (one just before a kill)")
	flag.Float64Var(&c.seconds, "seconds", 10, "length of the sources")
	flag.StringVar(&c.size, "size", "320x180", "frame size of the sources")
	flag.IntVar(&c.hog, "hog", runtime.NumCPU(), "CPU-spinning processes to run alongside (0: none)")
	flag.StringVar(&c.preset, "x264-preset", "ultrafast", "clipmill serve --x264-preset")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "give up (and fail) after this long")
	flag.DurationVar(&c.trickle, "trickle", 10*time.Second, "pause between the jobs created after the first restart (each kill also races one create)")
	flag.Uint64Var(&c.seed, "seed", 0, "seed for the moments of the kills (0: from the clock; printed)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work folder even when every check passes")
	flag.StringVar(&c.dir, "dir", "", "work folder (default: a new temporary folder)")
	flag.IntVar(&c.refuseNth, "refuse-every", 7, "the webhook receiver answers 503 to the first attempt of every n-th event (0: never)")
	flag.Parse()
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	ok, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// The kinds of job: most have a good source (an uploaded asset, or a URL
// on loopback); a few have a source that must fail, and say why.
const (
	kindAsset      = "asset"
	kindURL        = "url"
	kindNotMedia   = "not-media"
	kindMissingURL = "missing-url"
)

// expectedFailure is what the failure message of a job that must fail
// contains.
var expectedFailure = map[string]string{
	kindNotMedia:   "not a media file",
	kindMissingURL: "HTTP 404",
}

// How a job was deleted.
const (
	delFinished   = "finished"
	delRunning    = "running"
	delBeforeKill = "just before a kill"
)

type job struct {
	n          int
	kind       string
	body       []byte
	key        string // Idempotency-Key
	callbackID string

	// Set by the creator and the monitor; under soak.mu.
	id          string
	status      clipping.JobStatus
	progress    int
	failure     string
	clips       []clipping.Clip
	deleted     string
	statusAtDel clipping.JobStatus
	filesAtDel  bool // its folder existed just before the delete
	goneAtOnce  bool // and was gone when the delete answered
	seenRunning bool
	interrupted int // kills that found it running
}

type soak struct {
	cfg   config
	dir   string
	data  string
	srv   *server
	cl    *client
	recv  *receiver
	files *files
	rng   *rand.Rand
	start time.Time
	notes []string // what went wrong, for the verdict
	infos []string // worth knowing, not a failure

	mu       sync.Mutex
	jobs     []*job
	byID     map[string]*job
	unknown  map[string]clipping.Job // listed jobs this soak did not create
	created  int
	creating bool
	kick     chan struct{} // makes the creator send its next job now

	killLog []string
	orphans []string
}

func (s *soak) fail(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

func run(cfg config) (bool, error) {
	s := &soak{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.seed, 0x50a6)), start: time.Now(),
		byID: map[string]*job{}, unknown: map[string]clipping.Job{}, kick: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(bin); err != nil {
		return false, fmt.Errorf("%s: %w (make cli builds it)", cfg.bin, err)
	}
	s.dir = cfg.dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "clipmill-soak-"); err != nil {
			return false, err
		}
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return false, err
	}
	if s.dir, err = filepath.Abs(s.dir); err != nil {
		return false, err
	}
	s.data = filepath.Join(s.dir, "data")
	fmt.Printf("soak: %d jobs on %g s sources, %d workers, %d hog processes, %d SIGKILLs, seed %d\n",
		cfg.jobs, cfg.seconds, cfg.workers, cfg.hog, cfg.kills, cfg.seed)
	fmt.Printf("soak: work folder %s\n", s.dir)

	srcDir := filepath.Join(s.dir, "src")
	if err := s.makeSources(ctx, srcDir); err != nil {
		return false, err
	}

	// The webhook receiver and the source server, on one loopback port.
	s.recv = newReceiver(cfg.refuseNth)
	s.files = &files{dir: srcDir}
	mux := http.NewServeMux()
	mux.Handle("/hook/", s.recv)
	mux.Handle("/src/", s.files)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	local := ln.Addr().String()

	addr, err := freeAddr()
	if err != nil {
		return false, err
	}
	s.srv = &server{bin: bin, data: s.data, addr: addr, allow: local + ",http", preset: cfg.preset,
		workers: cfg.workers, logPath: filepath.Join(s.dir, "serve.log")}

	var h *hog
	if cfg.hog > 0 {
		if h, err = startHog(cfg.hog); err != nil {
			return false, err
		}
		defer h.stop()
	}
	if err := s.srv.start(ctx); err != nil {
		return false, err
	}
	defer func() {
		if s.srv.alive() {
			s.srv.cmd.Process.Kill()
			<-s.srv.exited
		}
	}()
	key, err := os.ReadFile(filepath.Join(s.data, "api-key"))
	if err != nil {
		return false, fmt.Errorf("the API key the server generated: %w", err)
	}
	secret, err := os.ReadFile(filepath.Join(s.data, "webhook-secret"))
	if err != nil {
		return false, fmt.Errorf("the webhook secret the server generated: %w", err)
	}
	s.recv.setSecret([]byte(strings.TrimSpace(string(secret))))
	s.cl = &client{base: "http://" + addr, key: strings.TrimSpace(string(key)), http: &http.Client{Timeout: time.Minute}}

	if err := s.planJobs(ctx, srcDir, "http://"+local); err != nil {
		return false, err
	}
	// Most jobs at once; the rest trickle in after the first restart, and
	// each later kill races a create, so that creates meet kills.
	initial := cfg.jobs
	if cfg.kills > 0 {
		initial = max(1, cfg.jobs*3/5)
	}
	for _, j := range s.jobs[:initial] {
		if err := s.createJob(ctx, j); err != nil {
			return false, err
		}
	}
	s.creating = initial < len(s.jobs)
	creatorErr := make(chan error, 1)
	startCreator := func() {
		go func() {
			defer func() { s.mu.Lock(); s.creating = false; s.mu.Unlock() }()
			for _, j := range s.jobs[initial:] {
				select {
				case <-ctx.Done():
					creatorErr <- ctx.Err()
					return
				case <-time.After(cfg.trickle):
				case <-s.kick:
				}
				if err := s.createJob(ctx, j); err != nil {
					creatorErr <- err
					return
				}
			}
			creatorErr <- nil
		}()
	}
	if !s.creating {
		creatorErr <- nil
	}

	jobsDeadline := time.Now().Add(cfg.timeout - 5*time.Minute)
	if err := s.monitor(ctx, jobsDeadline, startCreator); err != nil {
		return false, err
	}
	select {
	case err := <-creatorErr:
		if err != nil {
			s.fail("creating jobs: %v", err)
		}
	default:
		s.fail("the jobs were not all created before the deadline")
	}
	jobsWall := time.Since(s.start)

	// Every job that ended has a webhook to deliver; a job deleted while
	// it ran may have none.
	hookDeadline := time.Now().Add(min(4*time.Minute, time.Until(jobsDeadline.Add(4*time.Minute))))
	for time.Now().Before(hookDeadline) && len(s.undelivered()) > 0 {
		time.Sleep(time.Second)
	}
	s.checkDeleted(ctx)
	s.checkFiles(ctx)
	if err := s.srv.stop(time.Minute); err != nil {
		s.fail("graceful stop at the end: %v", err)
	}
	s.checkLog()
	var hogCPU float64
	if h != nil {
		hogCPU = h.cpuSeconds()
		h.stop()
	}
	ok := s.report(jobsWall, hogCPU)
	if !ok || cfg.keep {
		fmt.Printf("soak: kept %s (the server's log: %s)\n", s.dir, s.srv.logPath)
	} else {
		os.RemoveAll(s.dir)
	}
	return ok, nil
}

// makeSources writes the talk (10 s of speech over a test pattern) and a
// text file that claims to be a video.
func (s *soak) makeSources(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var w, h int
	if _, err := fmt.Sscanf(s.cfg.size, "%dx%d", &w, &h); err != nil {
		return fmt.Errorf("-size %q: %w", s.cfg.size, err)
	}
	res, err := sample.Generate(ctx, ffmpeg.Binaries{}, sample.Options{Seconds: s.cfg.seconds, Width: w, Height: h,
		Out: filepath.Join(dir, "talk.mp4")})
	if err != nil {
		return fmt.Errorf("make the source: %w", err)
	}
	fmt.Printf("soak: source %s, %.1f s, %dx%d, %d sentences\n", filepath.Base(res.Video), res.Duration, w, h, len(res.Sentences))
	return os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("These are meeting notes, not a video.\n"), 0o644)
}

// planJobs uploads the assets and writes each job's request: the output
// settings vary (aspect ratios, caption styles, one or two clips).
func (s *soak) planJobs(ctx context.Context, srcDir, local string) error {
	talk, err := s.cl.uploadRaw(ctx, filepath.Join(srcDir, "talk.mp4"), "video/mp4")
	if err != nil {
		return err
	}
	notes, err := s.cl.uploadForm(ctx, filepath.Join(srcDir, "notes.txt"), "video/mp4")
	if err != nil {
		return err
	}
	aspects := []string{"portrait", "landscape", "square"}
	styles := []any{nil, "bold", "karaoke", "minimal", "boxed", "classic"}
	run := fmt.Sprintf("%x", s.cfg.seed&0xffffff)
	for n := range s.cfg.jobs {
		j := &job{n: n, kind: kindAsset, key: fmt.Sprintf("soak-%s-%d", run, n), callbackID: fmt.Sprintf("soak-%d", n)}
		switch {
		case n%25 == 11:
			j.kind = kindNotMedia
		case n == s.cfg.jobs-7 || (s.cfg.jobs < 7 && n == s.cfg.jobs-1 && s.cfg.jobs > 2):
			j.kind = kindMissingURL
		case n%4 == 1:
			j.kind = kindURL
		}
		video := map[string]string{"type": "asset_id", "asset_id": talk}
		switch j.kind {
		case kindNotMedia:
			video["asset_id"] = notes
		case kindURL:
			video = map[string]string{"type": "url", "url": local + "/src/talk.mp4"}
		case kindMissingURL:
			video = map[string]string{"type": "url", "url": local + "/src/missing.mp4"}
		}
		durations := []string{"30"}
		if n%10 == 3 {
			durations = append(durations, "60")
		}
		req := map[string]any{
			"video": video,
			"title": fmt.Sprintf("Soak %d", n),
			"output_settings": map[string]any{
				"duration_types": durations,
				"aspect_ratio":   aspects[n%len(aspects)],
				"captions":       n%9 != 4,
				"caption_style":  styles[n%len(styles)],
			},
			"callback_url": local + "/hook/" + j.callbackID,
			"callback_id":  j.callbackID,
		}
		if j.body, err = json.Marshal(req); err != nil {
			return err
		}
		s.jobs = append(s.jobs, j)
	}
	return nil
}

func (s *soak) createJob(ctx context.Context, j *job) error {
	id, err := s.cl.create(ctx, j.body, j.key)
	if err != nil {
		return fmt.Errorf("job %d: %w", j.n, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j.id, j.status = id, clipping.JobPending
	if s.byID[id] != nil {
		s.fail("two creates answered the same id %s (jobs %d and %d)", id, s.byID[id].n, j.n)
	}
	s.byID[id] = j
	s.created++
	return nil
}

// monitor polls the job list once a second, deletes jobs and kills the
// server on schedule, and returns when every job has ended (or at the
// deadline).
func (s *soak) monitor(ctx context.Context, deadline time.Time, startCreator func()) error {
	n := s.cfg.jobs
	// The kills come when these many jobs have ended, and then when a
	// running job passes a progress chosen at random in the kill's band
	// of the pipeline (kill i of k: from i/k to (i+1)/k of the way), so
	// that kills land in recognition, selection and rendering alike.
	var killAt []int
	for i := range s.cfg.kills {
		killAt = append(killAt, max(1, int(float64(n)*0.85*float64(i+1)/float64(s.cfg.kills+1))))
	}
	finishedDeletes := s.cfg.deletes / 2
	runningDeletes := s.cfg.deletes - finishedDeletes
	var delFinishedAt, delRunningAt []int
	for i := range finishedDeletes {
		delFinishedAt = append(delFinishedAt, max(1, int(float64(n)*0.8*float64(i+1)/float64(finishedDeletes+1))))
	}
	beforeKill := runningDeletes > 0 && s.cfg.kills > 0
	plain := runningDeletes
	if beforeKill {
		plain--
	}
	for i := range plain {
		delRunningAt = append(delRunningAt, max(1, int(float64(n)*0.8*(float64(i)+0.6)/float64(plain+1))))
	}
	killNo := min(1, s.cfg.kills-1) // the kill that follows a delete: the second
	var (
		armed  time.Time
		target int
	)
	creatorStarted := false
	if s.cfg.kills == 0 {
		startCreator()
		creatorStarted = true
	}
	for {
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.fail("jobs were still unfinished at the deadline")
			return nil
		}
		list, err := s.cl.list(ctx)
		if err != nil {
			return err
		}
		ended, running, done := s.observe(list)
		if done {
			return nil
		}
		// Deletes of finished jobs.
		if len(delFinishedAt) > 0 && ended >= delFinishedAt[0] {
			if j := s.pickFinished(finishedDeletes - len(delFinishedAt)); j != nil {
				if err := s.deleteJob(ctx, j, delFinished); err != nil {
					return err
				}
				delFinishedAt = delFinishedAt[1:]
			}
		}
		// Deletes of running jobs, well into their work.
		if len(delRunningAt) > 0 && ended >= delRunningAt[0] {
			if j := s.pickRunning(running, 10); j != nil {
				if err := s.deleteJob(ctx, j, delRunning); err != nil {
					return err
				}
				delRunningAt = delRunningAt[1:]
			}
		}
		// The kills.
		if len(killAt) > 0 && ended >= killAt[0] {
			if armed.IsZero() {
				i := s.cfg.kills - len(killAt)
				lo, hi := i*95/s.cfg.kills, (i+1)*95/s.cfg.kills
				armed, target = time.Now(), lo+s.rng.IntN(max(1, hi-lo))
			}
			// A job past the target, or after a while any running job.
			victim := s.pickRunning(running, target)
			if victim == nil && time.Since(armed) > 20*time.Second {
				victim = s.pickRunning(running, 0)
			}
			if victim != nil && beforeKill && s.srv.starts-1 >= killNo && len(running) < 2 && time.Since(armed) < 20*time.Second {
				victim = nil // wait for a second running job to delete
			}
			if victim == nil && len(running) == 0 && !creatorStarted {
				// Nothing runs to be interrupted: the rest of the jobs
				// come now, and the kill waits for one of them.
				startCreator()
				creatorStarted = true
			}
			if victim != nil {
				if beforeKill && s.srv.starts-1 >= killNo {
					// Another running job: the victim stays to be
					// interrupted. With none, a later kill deletes.
					for _, r := range running {
						if r != victim {
							if err := s.deleteJob(ctx, r, delBeforeKill); err != nil {
								return err
							}
							beforeKill = false
							break
						}
					}
				}
				if creatorStarted {
					select {
					case s.kick <- struct{}{}:
					default:
					}
					time.Sleep(time.Duration(s.rng.IntN(30)) * time.Millisecond)
				}
				if err := s.kill(ctx, ended, running); err != nil {
					return err
				}
				killAt, armed = killAt[1:], time.Time{}
				if !creatorStarted {
					startCreator()
					creatorStarted = true
				}
				continue
			}
		}
		time.Sleep(time.Second)
	}
}

// observe records the listed jobs' states; it returns how many of this
// soak's jobs have ended, which run, and whether all is done.
func (s *soak) observe(list []clipping.Job) (ended int, running []*job, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, lj := range list {
		seen[lj.ID] = true
		j := s.byID[lj.ID]
		if j == nil {
			s.unknown[lj.ID] = lj
			continue
		}
		// Listed before its create answered: known now.
		delete(s.unknown, lj.ID)
		if j.deleted != "" {
			continue // listed after its delete: checkDeleted says so
		}
		j.status, j.progress, j.clips = lj.Status, lj.Progress, lj.Clips
		j.failure = ""
		if lj.FailureMessage != nil {
			j.failure = *lj.FailureMessage
		}
		if lj.Status == clipping.JobRunning {
			j.seenRunning = true
			running = append(running, j)
		}
	}
	done = !s.creating && s.created == len(s.jobs)
	for _, j := range s.jobs {
		if j.id == "" || j.deleted != "" {
			continue
		}
		if !seen[j.id] {
			// Created, and not listed: lost.
			done = false
			continue
		}
		if j.status.Terminal() {
			ended++
		} else {
			done = false
		}
	}
	for _, u := range s.unknown {
		if !u.Status.Terminal() {
			done = false
		}
	}
	return ended, running, done
}

// pickFinished chooses a finished job to delete: a failed one second, if
// there is one, else a completed one with clips (files to remove).
func (s *soak) pickFinished(i int) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pick *job
	for _, j := range s.jobs {
		if j.id == "" || j.deleted != "" || !j.status.Terminal() {
			continue
		}
		if i == 1 && j.status == clipping.JobFailed {
			return j
		}
		if pick == nil && j.status == clipping.JobCompleted && len(j.clips) > 0 {
			pick = j
		}
	}
	return pick
}

// pickRunning chooses a running job at least minProgress along.
func (s *soak) pickRunning(running []*job, minProgress int) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range running {
		if j.deleted == "" && j.progress >= minProgress {
			return j
		}
	}
	return nil
}

func (s *soak) jobDir(id string) string { return filepath.Join(s.data, "jobs", id) }

func (s *soak) deleteJob(ctx context.Context, j *job, how string) error {
	s.mu.Lock()
	id, status := j.id, j.status
	j.deleted, j.statusAtDel = how, status
	s.mu.Unlock()
	_, err := os.Stat(s.jobDir(id))
	j.filesAtDel = err == nil
	if err := s.cl.del(ctx, id); err != nil {
		return err
	}
	_, err = os.Stat(s.jobDir(id))
	j.goneAtOnce = errors.Is(err, os.ErrNotExist)
	fmt.Printf("soak: %5.0fs  deleted job %d (%s, %s, progress %d%%)\n", time.Since(s.start).Seconds(), j.n, how, status, j.progress)
	return nil
}

// kill SIGKILLs the server while jobs run and starts it again.
func (s *soak) kill(ctx context.Context, ended int, running []*job) error {
	s.mu.Lock()
	var what []string
	for _, j := range running {
		if j.deleted != "" {
			continue
		}
		j.interrupted++
		what = append(what, fmt.Sprintf("job %d at %d%%", j.n, j.progress))
	}
	s.mu.Unlock()
	orphans, err := s.srv.kill()
	if err != nil {
		return err
	}
	s.orphans = append(s.orphans, orphans...)
	line := fmt.Sprintf("SIGKILL %d at %.0f s, %d jobs ended, running: %s", len(s.killLog)+1,
		time.Since(s.start).Seconds(), ended, strings.Join(what, ", "))
	s.killLog = append(s.killLog, line)
	fmt.Printf("soak: %5.0fs  %s\n", time.Since(s.start).Seconds(), line)
	t := time.Now()
	if err := s.srv.start(ctx); err != nil {
		return err
	}
	fmt.Printf("soak: %5.0fs  restarted in %.1f s\n", time.Since(s.start).Seconds(), time.Since(t).Seconds())
	return nil
}

// undelivered lists the jobs that ended and whose webhook has not been
// accepted yet.
func (s *soak) undelivered() []*job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*job
	for _, j := range s.jobs {
		if j.id == "" || !s.hookExpected(j) {
			continue
		}
		if !s.recv.delivered(j.id) {
			out = append(out, j)
		}
	}
	return out
}

// hookExpected: the job ended before any delete, so its event was queued.
func (s *soak) hookExpected(j *job) bool {
	if j.deleted != "" {
		return j.statusAtDel.Terminal()
	}
	return j.status.Terminal()
}

// checkDeleted: a deleted job answers 404, and its folder is gone.
func (s *soak) checkDeleted(ctx context.Context) {
	for _, j := range s.jobs {
		if j.deleted == "" {
			continue
		}
		if _, found, err := s.cl.get(ctx, j.id); err != nil {
			s.fail("GET deleted job %d: %v", j.n, err)
		} else if found {
			s.fail("deleted job %d (%s) is still served by GET", j.n, j.id)
		}
	}
}

// checkFiles: no folder under jobs/ but a visible job's; each completed
// job's clips are there and their links answer.
func (s *soak) checkFiles(ctx context.Context) {
	entries, err := os.ReadDir(filepath.Join(s.data, "jobs"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.fail("read the data folder: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		j := s.byID[e.Name()]
		switch {
		case j == nil:
			if _, ok := s.unknown[e.Name()]; !ok {
				s.fail("jobs/%s: a folder that belongs to no job", e.Name())
			}
		case j.deleted != "":
			s.fail("jobs/%s: files left for job %d, deleted %s (%s)", e.Name(), j.n, j.deleted, du(filepath.Join(s.data, "jobs", e.Name())))
		}
	}
	links := 0
	for _, j := range s.jobs {
		if j.deleted != "" || j.status != clipping.JobCompleted {
			continue
		}
		done := 0
		for _, c := range j.clips {
			if c.Status == clipping.ClipCompleted {
				done++
			}
		}
		if done == 0 {
			s.fail("job %d completed with no completed clip", j.n)
			continue
		}
		full, found, err := s.cl.get(ctx, j.id)
		if err != nil || !found {
			s.fail("GET completed job %d: found %v, %v", j.n, found, err)
			continue
		}
		for _, c := range full.Clips {
			if c.Status != clipping.ClipCompleted {
				continue
			}
			if c.VideoURL == nil {
				s.fail("job %d: a completed clip without video_url", j.n)
				continue
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", *c.VideoURL, nil)
			req.Header.Set("Range", "bytes=0-1023")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				s.fail("job %d: clip link: %v", j.n, err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusPartialContent && resp.StatusCode != http.StatusOK {
				s.fail("job %d: clip link answered %s", j.n, resp.Status)
				continue
			}
			links++
		}
	}
	s.infos = append(s.infos, fmt.Sprintf("clip links of completed jobs answered: %d", links))
}

// du is a folder's size and file count, for a report.
func du(dir string) string {
	var n, size int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n++
				size += fi.Size()
			}
		}
		return nil
	})
	return fmt.Sprintf("%d files, %d bytes", n, size)
}

// checkLog: the server never panicked.
func (s *soak) checkLog() {
	b, err := os.ReadFile(s.srv.logPath)
	if err != nil {
		s.fail("read the server's log: %v", err)
		return
	}
	if i := strings.Index(string(b), "panic"); i >= 0 {
		s.fail("the server's log has a panic: %.200s", string(b)[i:])
	}
	// The log goes with the work folder when every check passes: the
	// ERROR lines are printed here.
	var errs []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=ERROR") {
			errs = append(errs, fmt.Sprintf("%.300s", l))
		}
	}
	if len(errs) > 0 {
		s.infos = append(s.infos, fmt.Sprintf("ERROR lines in the server's log: %d:\n            %s", len(errs), strings.Join(errs, "\n            ")))
	}
}

var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// vague failure messages name no cause a user could act on.
func vague(msg string) bool {
	m := strings.TrimSpace(msg)
	l := strings.ToLower(m)
	// A job nobody deleted has no business being cancelled.
	return m == "" || strings.HasPrefix(m, "Processing failed") || strings.Contains(l, "internal") || strings.Contains(l, "cancelled")
}

// report prints the counts and judges; it returns whether every check
// passed.
func (s *soak) report(jobsWall time.Duration, hogCPU float64) bool {
	var (
		completed, failed, left int
		reasons                 = map[string]int{}
		kinds                   = map[string]int{}
		loadFailures            []string
	)
	for _, j := range s.jobs {
		kinds[j.kind]++
		if j.id == "" {
			s.fail("job %d was never created", j.n)
			continue
		}
		if j.deleted != "" {
			continue
		}
		switch j.status {
		case clipping.JobCompleted:
			completed++
			if want, ok := expectedFailure[j.kind]; ok {
				s.fail("job %d (%s) completed; it should have failed with %q", j.n, j.kind, want)
			}
		case clipping.JobFailed:
			failed++
			reasons[digits.ReplaceAllString(j.failure, "#")]++
			if vague(j.failure) {
				s.fail("job %d failed with no real cause: %q", j.n, j.failure)
			}
			if want, ok := expectedFailure[j.kind]; ok {
				if !strings.Contains(j.failure, want) {
					s.fail("job %d (%s) failed with %q; want a message with %q", j.n, j.kind, j.failure, want)
				}
			} else {
				loadFailures = append(loadFailures, fmt.Sprintf("job %d (%s, interrupted by %d kills): %s", j.n, j.kind, j.interrupted, j.failure))
			}
		default:
			left++
			s.fail("job %d (%s) is left %s", j.n, j.id, j.status)
		}
	}
	for id, u := range s.unknown {
		s.fail("job %s (%s, callback_id %v) was listed but not created by this soak: a create made two jobs?", id, u.Status, deref(u.CallbackID))
	}

	// Webhooks.
	s.recv.mu.Lock()
	expected, delivered, duplicates, attempts := 0, 0, 0, s.recv.attempts
	for _, j := range s.jobs {
		if j.id == "" {
			continue
		}
		ids := s.recv.byJob[j.id]
		if len(ids) > 1 {
			s.fail("job %d had %d events (%v); one ends a job", j.n, len(ids), ids)
		}
		got := false
		for _, id := range ids {
			ev := s.recv.events[id]
			if ev.delivered > 0 {
				got = true
			}
			duplicates += max(0, ev.delivered-1)
			if ev.callbackID != j.callbackID {
				s.fail("job %d: webhook callback_id %q, want %q", j.n, ev.callbackID, j.callbackID)
			}
			final := j.status
			if j.deleted != "" {
				final = j.statusAtDel
			}
			want := map[clipping.JobStatus]string{clipping.JobCompleted: clipping.EventSuccess, clipping.JobFailed: clipping.EventFail}[final]
			if final.Terminal() && ev.eventType != want {
				s.fail("job %d is %s; its webhook says %s", j.n, final, ev.eventType)
			}
			if ev.status != final && final.Terminal() {
				s.fail("job %d is %s; its webhook's event_data says %s", j.n, final, ev.status)
			}
		}
		if s.hookExpected(j) {
			expected++
			if got {
				delivered++
			} else {
				s.fail("job %d (%s) ended %s; its webhook never arrived (%d attempts seen)", j.n, j.id, j.status, len(ids))
			}
		} else if got {
			delivered++ // a job deleted as it ended: its event may come
		}
	}
	for _, b := range s.recv.badSig {
		s.fail("webhook with a bad signature: %s", b)
	}
	if s.recv.noID > 0 {
		s.fail("%d webhook attempts came without %s", s.recv.noID, "X-Clipmill-Delivery")
	}
	if s.recv.badBody > 0 {
		s.fail("%d webhook bodies were not an event", s.recv.badBody)
	}
	refused, events := s.recv.refused, len(s.recv.events)
	s.recv.mu.Unlock()

	// Deletes.
	var delLines []string
	leftAtOnce := 0
	for _, j := range s.jobs {
		if j.deleted == "" {
			continue
		}
		if j.filesAtDel && !j.goneAtOnce {
			leftAtOnce++
		}
		delLines = append(delLines, fmt.Sprintf("job %d %s (was %s, folder %s)", j.n, j.deleted, j.statusAtDel,
			map[bool]string{true: "present", false: "absent"}[j.filesAtDel]))
	}
	leftovers := 0
	for _, n := range s.notes {
		if strings.HasPrefix(n, "jobs/") {
			leftovers++
		}
	}
	for _, o := range s.orphans {
		s.fail("a process of the killed server outlived it: %s", o)
	}
	s.cl.mu.Lock()
	for _, e := range s.cl.serverErrs {
		s.fail("server error: %s", e)
	}
	s.cl.mu.Unlock()

	wall := time.Since(s.start)
	fmt.Println()
	fmt.Println("== clipmill soak")
	fmt.Printf("jobs:      %d created (%s); %d completed, %d failed, %d left pending/running, %d deleted\n",
		s.created, kindList(kinds), completed, failed, left, len(delLines))
	if len(reasons) > 0 {
		fmt.Println("failed by reason:")
		keys := make([]string, 0, len(reasons))
		for k := range reasons {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool {
			return cmp.Or(reasons[keys[b]]-reasons[keys[a]], strings.Compare(keys[a], keys[b])) < 0
		})
		for _, k := range keys {
			fmt.Printf("  %3d  %s\n", reasons[k], k)
		}
	}
	if len(loadFailures) > 0 {
		fmt.Println("good sources that failed (allowed when the message names the cause):")
		for _, l := range loadFailures {
			fmt.Println("  " + l)
		}
	}
	interrupted := 0
	for _, j := range s.jobs {
		if j.interrupted > 0 {
			interrupted++
		}
	}
	fmt.Printf("restarts:  %d SIGKILLs, %d starts; %d jobs were running at a kill; %d processes outlived a killed server\n",
		len(s.killLog), s.srv.starts, interrupted, len(s.orphans))
	for _, l := range s.killLog {
		fmt.Println("  " + l)
	}
	// A soak that did not kill, or killed nothing running, proved nothing
	// about restarts.
	if len(s.killLog) < s.cfg.kills {
		s.fail("only %d of the %d kills happened: no job was running when one was due", len(s.killLog), s.cfg.kills)
	}
	if s.cfg.kills > 0 && interrupted == 0 {
		s.fail("no kill found a job running")
	}
	fmt.Printf("webhooks:  %d expected, %d delivered, %d missing; %d events, %d attempts, %d refused on purpose, %d duplicates dropped, %d bad signatures\n",
		expected, delivered, expected-min(expected, delivered), events, attempts, refused, duplicates, len(s.recv.badSig))
	fmt.Printf("deletes:   %d jobs; leftover folders %d (files still there when the delete answered: %d)\n", len(delLines), leftovers, leftAtOnce)
	for _, l := range delLines {
		fmt.Println("  " + l)
	}
	if len(delLines) < s.cfg.deletes {
		s.fail("only %d of the %d deletes happened", len(delLines), s.cfg.deletes)
	}
	s.cl.mu.Lock()
	fmt.Printf("client:    %d connection errors (restarts), %d rate-limited, %d in-progress conflicts, %d idempotent replays, %d server errors\n",
		s.cl.connErrors, s.cl.rateLimited, s.cl.inProgress, s.cl.replayed, len(s.cl.serverErrs))
	s.cl.mu.Unlock()
	if hogCPU > 0 {
		fmt.Printf("hog:       %d processes used %.0f CPU-s over %.0f s (%.0f%% of %d cores)\n",
			s.cfg.hog, hogCPU, wall.Seconds(), 100*hogCPU/wall.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	}
	for _, i := range s.infos {
		fmt.Println("note:      " + i)
	}
	fmt.Printf("wall time: %s (jobs until all ended: %s)\n", wall.Round(time.Second), jobsWall.Round(time.Second))
	if len(s.notes) == 0 {
		fmt.Println("checks:    PASS")
		return true
	}
	fmt.Printf("checks:    FAIL (%d)\n", len(s.notes))
	for _, n := range s.notes {
		fmt.Println("  - " + n)
	}
	return false
}

func kindList(kinds map[string]int) string {
	var parts []string
	for _, k := range []string{kindAsset, kindURL, kindNotMedia, kindMissingURL} {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

func deref(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

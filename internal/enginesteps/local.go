package enginesteps

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/pipeline"
)

// Local stands in for Amazon Transcribe when the state machine runs on one
// machine: a job is the engine's recogniser (pocketsphinx unless told
// otherwise) running in the background on the WAV in the bucket, and
// writing its words back there.
type Local struct {
	Bucket  pipeline.Bucket
	Engine  *engine.Engine
	Scratch string
	// Context bounds the jobs, which outlive the step that starts them;
	// cancel it to stop them all. nil is context.Background().
	Context context.Context
	Log     *slog.Logger

	mu   sync.Mutex
	jobs map[string]*localJob
}

type localJob struct {
	done bool
	err  error
}

// Start starts the job unless it is running or done.
func (l *Local) Start(_ context.Context, job, audioKey, outKey, language string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs == nil {
		l.jobs = map[string]*localJob{}
	}
	if l.jobs[job] != nil {
		return nil
	}
	j := &localJob{}
	l.jobs[job] = j
	ctx := l.Context
	if ctx == nil {
		ctx = context.Background()
	}
	go func() {
		err := l.run(ctx, audioKey, outKey, language)
		if err != nil {
			l.log().Error("speech recognition failed", "job", job, "err", err)
		}
		l.mu.Lock()
		j.done, j.err = true, err
		l.mu.Unlock()
	}()
	return nil
}

// Status says how the job is doing. A job this process does not know was
// started by one that stopped: it is lost, and the execution fails with a
// reason that says so.
func (l *Local) Status(_ context.Context, job string) (string, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j := l.jobs[job]
	switch {
	case j == nil:
		return "failed", "the recognition job was lost (clipmill stopped while it ran)", nil
	case !j.done:
		return "running", "", nil
	case j.err != nil:
		return "failed", engine.FailureMessage(j.err), nil
	}
	return "completed", "", nil
}

func (l *Local) run(ctx context.Context, audioKey, outKey, language string) error {
	dir, err := os.MkdirTemp(l.Scratch, "recognise-")
	if err == nil {
		dir, err = filepath.Abs(dir)
	}
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	wav := filepath.Join(dir, "audio.wav")
	s := &Steps{Bucket: l.Bucket}
	if err := s.getFile(ctx, audioKey, wav); err != nil {
		return err
	}
	track, err := audio.OpenWAV(wav)
	if err != nil {
		return err
	}
	tr, err := l.Engine.Recognise(ctx, track, language, dir, nil)
	if err != nil {
		return err
	}
	b, err := json.Marshal(tr)
	if err != nil {
		return err
	}
	return l.Bucket.Put(ctx, outKey, strings.NewReader(string(b)), "application/json")
}

func (l *Local) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

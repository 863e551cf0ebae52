package pipeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/clipmill/clipmill/internal/clipping"
)

// Under an engine execution's Work prefix, the select step writes the job
// resource without its clips, and the render step each clip's resource.
const (
	JobFile  = "job.json"
	ClipsDir = "clips/"
)

// AudioFiles are the prepare step's audio under Work: large (about 115 MB
// an hour each), and of no use once the video's outcome is written.
var AudioFiles = []string{"audio.wav", "audio.pcm", "loudness.txt"}

// dropAudio removes an engine execution's audio once its outcome is
// written. The plan, the words and the clips' resources stay, small, for
// whoever wants to fix a clip and render it again.
func (p *Pipeline) dropAudio(ctx context.Context, ex Execution) {
	if ex.Backend != BackendEngine || ex.Work == "" {
		return
	}
	for _, f := range AudioFiles {
		if err := p.Bucket.Delete(ctx, ex.Work+f); err != nil {
			p.log().Warn("could not delete the audio", "key", ex.Work+f, "err", err)
		}
	}
}

// NoClipsError is an engine execution in which no clip could be
// rendered: the store step records it as the video's failure.
type NoClipsError struct{ Msg string }

func (e *NoClipsError) Error() string { return e.Msg }

// storeRendered writes the manifest of an engine execution: the job the
// select step described, with the clips the render steps left. Their files
// are in clips/<name>/ already, and the resources name their keys where
// the URLs go. A clip whose render step crashed is recorded as failed.
func (p *Pipeline) storeRendered(ctx context.Context, ex Execution) (Stored, error) {
	var job clipping.Job
	if err := p.readJSON(ctx, ex.Work+JobFile, &job); err != nil {
		return Stored{}, err
	}
	job.ID = ex.JobID
	job.Clips = []clipping.Clip{}
	completed, why := 0, ""
	for _, r := range ex.Rendered {
		var c clipping.Clip
		if r.Error != nil {
			c = clipping.Clip{ID: r.ID, Status: clipping.ClipFailed,
				FailureMessage: clipping.Ptr("Rendering stopped: " + taskCause(*r.Error))}
		} else if err := p.readJSON(ctx, r.Clip, &c); err != nil {
			return Stored{}, err
		}
		if c.Status == clipping.ClipCompleted {
			completed++
		} else if why == "" && c.FailureMessage != nil {
			why = *c.FailureMessage
		}
		job.Clips = append(job.Clips, c)
	}
	if completed == 0 {
		if why == "" {
			why = "the plan had no clips"
		}
		return Stored{}, &NoClipsError{Msg: fmt.Sprintf("No clip could be rendered (%d tried): %s", len(ex.Rendered), why)}
	}
	return p.writeManifest(ctx, ex, job, func(_ clipping.Clip, key, _, _ string) (string, error) { return key, nil })
}

// readJSON reads a step's file; a missing one is a TerminalError (the
// step that writes it did not run).
func (p *Pipeline) readJSON(ctx context.Context, key string, v any) error {
	b, found, err := p.Bucket.Read(ctx, key, 16<<20)
	switch {
	case err != nil:
		return &RetryableError{Msg: err.Error()}
	case !found:
		return &TerminalError{Msg: key + " is missing"}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &TerminalError{Msg: fmt.Sprintf("%s: %v", key, err)}
	}
	return nil
}

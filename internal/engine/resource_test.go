package engine

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
)

// The model's hashtags reach the API's clip; a clip without them, or a
// failed one, shows [] in JSON.
func TestResourceHashtags(t *testing.T) {
	tags := []string{"#coffee", "#brewing", "#tips"}
	c := Clip{ID: "c1", DurationType: clipping.Duration30, Title: "t", Video: "c1.mp4", Hashtags: tags}
	r := c.Resource(clipping.AspectPortrait)
	if !slices.Equal(r.Hashtags, tags) {
		t.Errorf("hashtags %v, want %v", r.Hashtags, tags)
	}
	tags[0] = "#changed"
	if r.Hashtags[0] != "#coffee" {
		t.Error("the resource shares the engine clip's slice")
	}
	for _, c := range []Clip{{ID: "c2", Title: "t"}, {ID: "c3", Hashtags: tags, Err: errors.New("render failed")}} {
		b, err := json.Marshal(c.Resource(clipping.AspectPortrait))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"hashtags":[]`) {
			t.Errorf("%s: %s", c.ID, b)
		}
	}
}

// Record gives the worker's job and the CLI's manifest the same outcome: a
// result's fields over the job's, completed at 100; a failure says why, and
// a run its own deadline stopped names the deadline.
func TestRecord(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(live)
	cancel()
	expired, cancel := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel()
	res := &Result{Title: "Talk", SourceDuration: 61.5, Clips: []Clip{
		{ID: "c1", Title: "Hook", Video: "c1.mp4", Start: 1.23456, End: 31},
		{ID: "c2", Err: errors.New("render failed")},
	}}
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		res        *Result
		err        error
		status     clipping.JobStatus
		progress   int
		failure    string
		title      string
		clips      int
		clipStatus clipping.ClipStatus
	}{
		{"completed", live, res, nil, clipping.JobCompleted, 100, "", "Talk", 2, clipping.ClipCompleted},
		{"failed at a stage", live, nil, &StageError{Stage: "render", Err: errors.New("x")},
			clipping.JobFailed, 40, "Processing failed at the render stage.", "Old", 1, clipping.ClipCompleted},
		{"past its deadline", expired, res, context.DeadlineExceeded,
			clipping.JobFailed, 40, "The job took longer than its deadline of 2h0m0s and was stopped.", "Talk", 2, clipping.ClipCompleted},
		{"cancelled", cancelled, nil, context.Canceled,
			clipping.JobCancelled, 40, "The job was cancelled.", "Old", 1, clipping.ClipCompleted},
	} {
		j := clipping.Job{ID: "j1", Status: clipping.JobRunning, Progress: 40, Title: clipping.Ptr("Old"),
			InputLanguage: clipping.Ptr("en"), Clips: []clipping.Clip{{ID: "c0", Status: clipping.ClipCompleted}}}
		Record(tc.ctx, 2*time.Hour, &j, clipping.AspectSquare, tc.res, tc.err)
		failure := ""
		if j.FailureMessage != nil {
			failure = *j.FailureMessage
		}
		if j.Status != tc.status || j.Progress != tc.progress || failure != tc.failure || *j.Title != tc.title ||
			*j.InputLanguage != "en" || len(j.Clips) != tc.clips || j.Clips[0].Status != tc.clipStatus {
			t.Errorf("%s: %s %d%% %q title %q language %q, %d clips", tc.name, j.Status, j.Progress, failure,
				*j.Title, *j.InputLanguage, len(j.Clips))
		}
		if tc.res == nil {
			continue
		}
		c, f := j.Clips[0], j.Clips[1]
		if *c.VideoURL != "c1.mp4" || *c.AspectRatio != clipping.AspectSquare || *c.StartSeconds != 1.235 ||
			c.ThumbnailURL != nil || *j.SourceDuration != 61.5 {
			t.Errorf("%s: clip %+v", tc.name, c)
		}
		if f.Status != clipping.ClipFailed || *f.FailureMessage != "Processing failed." {
			t.Errorf("%s: failed clip %+v", tc.name, f)
		}
	}
}

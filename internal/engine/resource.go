package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
)

// Record writes how a run of the engine ended onto j, the job as clients
// see it: the result's title, language, source duration and clips, then
// completed, or failed with a message that says why. ctx is the context the
// run had and timeout its deadline: a run stopped by that deadline says so,
// rather than whatever a step made of it, and one cancelled is cancelled.
func Record(ctx context.Context, timeout time.Duration, j *clipping.Job, aspect clipping.AspectRatio, res *Result, err error) {
	if res != nil {
		if res.Title != "" {
			j.Title = clipping.Ptr(res.Title)
		}
		if res.Language != "" {
			j.InputLanguage = clipping.Ptr(res.Language)
		}
		if res.SourceDuration > 0 {
			j.SourceDuration = clipping.Ptr(res.SourceDuration)
		}
		j.Clips = make([]clipping.Clip, len(res.Clips))
		for i, c := range res.Clips {
			j.Clips[i] = c.Resource(aspect)
		}
	}
	if err == nil {
		j.Status, j.Progress, j.FailureMessage = clipping.JobCompleted, 100, nil
		return
	}
	j.Status = clipping.JobFailed
	j.FailureMessage = clipping.Ptr(FailureMessage(err))
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		j.FailureMessage = clipping.Ptr(fmt.Sprintf("The job took longer than its deadline of %v and was stopped.", timeout))
	case ctx.Err() != nil:
		j.Status = clipping.JobCancelled
	}
}

// Resource describes the clip as the API's clip resource. Its URLs are the
// clip's file names: the CLI's manifest keeps them relative to itself, the
// server signs them when it answers, and the engine's Lambda prefixes them
// with the clip's folder in the bucket.
func (c Clip) Resource(aspect clipping.AspectRatio) clipping.Clip {
	r := clipping.Clip{ID: c.ID, DurationType: c.DurationType}
	if c.Err != nil {
		r.Status = clipping.ClipFailed
		r.FailureMessage = clipping.Ptr(FailureMessage(c.Err))
		return r
	}
	r.Status = clipping.ClipCompleted
	r.Title = clipping.Ptr(c.Title)
	r.DurationSeconds = clipping.Ptr(c.Duration)
	r.AspectRatio = clipping.Ptr(aspect)
	r.ViralityScore = clipping.Ptr(c.Virality)
	r.StartSeconds = clipping.Ptr(round3(c.Start))
	r.EndSeconds = clipping.Ptr(round3(c.End))
	r.Transcript = clipping.Ptr(c.Transcript)
	r.Reason = clipping.Ptr(c.Reason)
	if len(c.Hashtags) > 0 {
		r.Hashtags = slices.Clone(c.Hashtags)
	}
	opt := func(file string) *string {
		if file == "" {
			return nil
		}
		return clipping.Ptr(file)
	}
	r.VideoURL = opt(c.Video)
	r.ThumbnailURL = opt(c.Thumbnail)
	r.CaptionsSRTURL = opt(c.SRT)
	r.CaptionsVTTURL = opt(c.VTT)
	return r
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}

package engine

import (
	"slices"

	"github.com/clipmill/clipmill/internal/clipping"
)

// Resource describes the clip as the API's clip resource. url turns one of
// the clip's file names into the URL a client fetches it from (relative for
// the CLI's manifest, signed for the server).
func (c Clip) Resource(aspect clipping.AspectRatio, url func(file string) string) clipping.Clip {
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
		return clipping.Ptr(url(file))
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

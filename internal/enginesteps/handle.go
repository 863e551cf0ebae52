package enginesteps

import (
	"context"
	"fmt"

	"github.com/clipmill/clipmill/internal/pipeline"
)

// The steps, as engine.asl.json names them in its payloads.
const (
	StepPrepare         = "prepare"
	StepStartTranscribe = "transcribe_start"
	StepCheckTranscribe = "transcribe_check"
	StepSelect          = "select"
	StepRender          = "render"
)

// Request is the payload of the engine's Lambda functions: the step to
// run and the state it runs on (the execution, or one clip of the Map).
type Request struct {
	Step      string                `json:"step"`
	Execution *pipeline.Execution   `json:"execution,omitempty"`
	Clip      *pipeline.RenderInput `json:"clip,omitempty"`
}

// Handle runs one step. The image function (ffmpeg) runs prepare, select
// and render; the transcribe function the two transcription steps.
func (s *Steps) Handle(ctx context.Context, r Request) (any, error) {
	if r.Step == StepRender {
		if r.Clip == nil {
			return nil, &pipeline.TerminalError{Msg: "render: the payload has no clip"}
		}
		return s.Render(ctx, *r.Clip)
	}
	if r.Execution == nil {
		return nil, &pipeline.TerminalError{Msg: r.Step + ": the payload has no execution"}
	}
	ex := *r.Execution
	switch r.Step {
	case StepPrepare:
		return s.Prepare(ctx, ex)
	case StepStartTranscribe:
		return s.StartTranscription(ctx, ex)
	case StepCheckTranscribe:
		if ex.Transcription == nil {
			return nil, &pipeline.TerminalError{Msg: "transcribe_check: the execution has no transcription"}
		}
		return s.CheckTranscription(ctx, ex)
	case StepSelect:
		return s.Select(ctx, ex)
	}
	return nil, &pipeline.TerminalError{Msg: fmt.Sprintf("no step %q", r.Step)}
}

package engine

import (
	"context"
	"errors"
	"strconv"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/engine/speech"
)

// FailureMessage turns a job's error into the line a user reads in
// failure_message: what was wrong with the input when it was the input,
// otherwise which stage failed, without paths or program output.
func FailureMessage(err error) string {
	var se *source.Error
	var ul *speech.UnsupportedLanguageError
	var pe *speech.PieceError
	var fe *ffmpeg.Error
	var st *StageError
	switch {
	case errors.As(err, &se):
		return "The source video " + se.Msg + "."
	case errors.As(err, &ul):
		return "The " + ul.Recognizer + " recogniser " + ul.Handles() + "; this job asked for \"" + ul.Language + "\"."
	case errors.As(err, &pe):
		// Before the timeouts: it names the span that failed, and how.
		return pe.Message()
	case errors.As(err, &fe) && fe.Stalled > 0:
		return "A processing step stopped after " + strconv.FormatFloat(fe.Stalled.Seconds(), 'f', -1, 64) + " s without progress."
	case errors.As(err, &fe) && fe.TimedOut:
		// Before the deadline case: a step's own timeout is a deadline too.
		return "A processing step timed out."
	case errors.Is(err, context.DeadlineExceeded):
		return "The job took longer than its deadline and was stopped."
	case errors.Is(err, context.Canceled):
		return "The job was cancelled."
	case errors.As(err, &st):
		return "Processing failed at the " + st.Stage + " stage."
	}
	return "Processing failed."
}

package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/clipmill/clipmill/internal/heygen"
)

// StatusTimedOut is the poll status of a job past the stack's job timeout.
const StatusTimedOut = "timed_out"

// Poll looks at the job once and says what the state machine does next:
// its status, and how long to wait before looking again. The wait starts
// at PollMin and doubles to PollMax; a 429 lengthens it by the Retry-After
// the backend asked for.
//
// The backend is asked even past the job timeout: a job that ended late
// is stored (or its failure recorded) as it ended, and a job the backend
// refuses to show is a TerminalError whenever it is polled. Only a job
// still running, or a backend that cannot answer, is timed_out then.
func (p *Pipeline) Poll(ctx context.Context, ex Execution) (Poll, error) {
	next := Poll{Status: ex.Poll.Status, Progress: ex.Poll.Progress, Attempt: ex.Poll.Attempt + 1,
		Wait: nextWait(ex.Poll.Wait, p.PollMin, p.PollMax)}
	late := ex.Limits.JobTimeout > 0 && p.now().Sub(time.Unix(ex.SubmittedAt, 0)) > time.Duration(ex.Limits.JobTimeout)*time.Second
	ask := ctx
	if late {
		var cancel context.CancelFunc
		ask, cancel = context.WithTimeout(ctx, cmp.Or(p.LateAsk, 10*time.Second))
		defer cancel()
	}
	job, err := p.Backend.Get(ask, ex.JobID)
	if err != nil {
		var he *heygen.Error
		switch {
		case errors.As(err, &he) && !he.Transient():
			return Poll{}, &TerminalError{Msg: fmt.Sprintf("poll job %s: %v", ex.JobID, err)}
		case ctx.Err() != nil:
			return Poll{}, ctx.Err()
		case late:
			next.Status = StatusTimedOut
			return next, nil
		case errors.As(err, &he) && he.Status == http.StatusTooManyRequests:
			next.Wait += int(he.RetryAfter.Seconds())
			return next, nil
		}
		return Poll{}, &RetryableError{Msg: fmt.Sprintf("poll job %s: %v", ex.JobID, err)}
	}
	next.Status, next.Progress = string(job.Status), job.Progress
	if late && !job.Status.Terminal() {
		next.Status = StatusTimedOut
	}
	return next, nil
}

func nextWait(prev int, lo, hi time.Duration) int {
	minS, maxS := int(lo.Seconds()), int(hi.Seconds())
	if minS < 1 {
		minS = 1
	}
	if maxS < minS {
		maxS = minS
	}
	return max(minS, min(maxS, 2*prev))
}

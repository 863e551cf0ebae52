package speech

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// FileTranscriber recognises one audio file; times are relative to it.
type FileTranscriber interface {
	TranscribeFile(ctx context.Context, path, language string) (transcript.Transcript, error)
}

// Parallel cuts a track at its quiet places and recognises the pieces on
// several workers, then puts the words back on the track's clock.
type Parallel struct {
	Recognizer FileTranscriber
	Workers    int          // at least 1
	Target     float64      // piece length to aim for, seconds
	Max        float64      // longest piece a recogniser accepts, seconds
	Dir        string       // where piece files go
	Log        *slog.Logger // nil: slog.Default()
}

// pieceAttempts is how often a piece is tried: a run that stalled or
// crashed on a loaded machine usually succeeds the second time.
const pieceAttempts = 2

// PieceError is a piece of the track that could not be recognised, even
// when tried again.
type PieceError struct {
	Index      int
	Start, End float64 // on the track's clock, seconds
	Attempts   int
	Err        error // the last attempt's
}

func (e *PieceError) Error() string {
	return fmt.Sprintf("piece %d (%.0f-%.0f s), %d attempts: %v", e.Index, e.Start, e.End, e.Attempts, e.Err)
}

func (e *PieceError) Unwrap() error { return e.Err }

// Message is the line a user reads: the stage, the span and what went
// wrong, without program output or paths.
func (e *PieceError) Message() string {
	what := "failed"
	var fe *ffmpeg.Error
	if errors.As(e.Err, &fe) && fe.Stalled > 0 {
		what = "stopped after " + strconv.FormatFloat(fe.Stalled.Seconds(), 'f', -1, 64) + " s without progress"
	} else if errors.As(e.Err, &fe) && fe.TimedOut {
		what = "did not finish in time"
	}
	msg := "Speech recognition of " + clockTime(e.Start) + "-" + clockTime(e.End) + " " + what
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" (tried %d times)", e.Attempts)
	}
	return msg + "."
}

// clockTime formats seconds as m:ss, or h:mm:ss from an hour on.
func clockTime(sec float64) string {
	s := int(math.Round(sec))
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// final marks a failure that another attempt would not mend: the request
// was refused, or the recogniser has already retried it.
type final struct{ error }

func (f final) Unwrap() error { return f.error }

func retryable(err error) bool {
	var ul *UnsupportedLanguageError
	var f final
	return !errors.As(err, &ul) && !errors.As(err, &f)
}

// Transcribe recognises the whole track. progress, when not nil, is called
// with the fraction done after each piece.
func (p Parallel) Transcribe(ctx context.Context, track *audio.Track, language string, progress func(float64)) (transcript.Transcript, error) {
	target, max := p.Target, p.Max
	if target <= 0 {
		target = 60
	}
	if max <= 0 {
		max = 600
	}
	workers := p.Workers
	if workers < 1 {
		workers = 1
	}
	// With few workers, fewer larger pieces waste less start-up time; with a
	// long track, smaller pieces keep all workers busy to the end.
	spans := track.Split(target, max)

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]transcript.Transcript, len(spans))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error // the failure that stopped the others, not their "canceled"
	done := 0.0
	for w := 0; w < min(workers, len(spans)); w++ {
		wg.Go(func() {
			for i := range next {
				var err error
				results[i], err = p.piece(ctx, track, spans[i], i, language)
				if err != nil {
					mu.Lock()
					if first == nil && ctx.Err() == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				if progress != nil {
					mu.Lock()
					done += spans[i].End - spans[i].Start
					progress(done / track.Duration())
					mu.Unlock()
				}
			}
		})
	}
	// Longest pieces first keeps the workers evenly loaded at the end.
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return spans[order[a]].End-spans[order[a]].Start > spans[order[b]].End-spans[order[b]].Start
	})
feed:
	for _, i := range order {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := parent.Err(); err != nil {
		return transcript.Transcript{}, err
	}
	if first != nil {
		return transcript.Transcript{}, first
	}
	var out transcript.Transcript
	for _, r := range results {
		if out.Language == "" {
			out.Language = r.Language
		}
		out.Words = append(out.Words, r.Words...)
	}
	return out, nil
}

// piece recognises one span, trying it again once if it fails.
func (p Parallel) piece(ctx context.Context, track *audio.Track, s audio.Span, i int, language string) (transcript.Transcript, error) {
	path := filepath.Join(p.Dir, fmt.Sprintf("piece-%03d.wav", i))
	if err := track.WriteWAV(path, s); err != nil {
		return transcript.Transcript{}, fmt.Errorf("write piece %d: %w", i, err)
	}
	for attempt := 1; ; attempt++ {
		began := time.Now()
		t, err := p.Recognizer.TranscribeFile(ctx, path, language)
		if err == nil {
			for j := range t.Words {
				t.Words[j].Start += s.Start
				t.Words[j].End += s.Start
			}
			return t, nil
		}
		if attempt == pieceAttempts || ctx.Err() != nil || !retryable(err) {
			return transcript.Transcript{}, &PieceError{Index: i, Start: s.Start, End: s.End, Attempts: attempt, Err: err}
		}
		p.log().Warn("speech recognition of a piece failed; trying it again",
			"piece", i, "start", s.Start, "end", s.End, "took", time.Since(began).Round(time.Millisecond), "err", err)
	}
}

func (p Parallel) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

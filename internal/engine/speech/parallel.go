package speech

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"github.com/clipmill/clipmill/internal/engine/audio"
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
	Workers    int     // at least 1
	Target     float64 // piece length to aim for, seconds
	Max        float64 // longest piece a recogniser accepts, seconds
	Dir        string  // where piece files go
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

func (p Parallel) piece(ctx context.Context, track *audio.Track, s audio.Span, i int, language string) (transcript.Transcript, error) {
	path := filepath.Join(p.Dir, fmt.Sprintf("piece-%03d.wav", i))
	if err := track.WriteWAV(path, s); err != nil {
		return transcript.Transcript{}, err
	}
	t, err := p.Recognizer.TranscribeFile(ctx, path, language)
	if err != nil {
		return transcript.Transcript{}, fmt.Errorf("piece %d (%.0f-%.0f s): %w", i, s.Start, s.End, err)
	}
	for j := range t.Words {
		t.Words[j].Start += s.Start
		t.Words[j].End += s.Start
	}
	return t, nil
}

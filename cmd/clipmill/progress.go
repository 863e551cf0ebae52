package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/clipmill/clipmill/internal/engine"
)

// progressBar draws the stage and percent on one terminal line. It stays
// quiet when stderr is not a terminal, so logs and CI output stay clean.
type progressBar struct {
	w       io.Writer
	on      bool
	mu      sync.Mutex
	last    int
	stage   string
	started bool
}

func newProgressBar(w io.Writer) *progressBar {
	on := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progressBar{w: w, on: on, last: -1}
}

func (p *progressBar) Progress(stage string, pct int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pct = max(0, min(100, pct))
	if pct < p.last {
		pct = p.last // never move backwards
	}
	if pct == p.last && stage == p.stage {
		return
	}
	p.last, p.stage, p.started = pct, stage, true
	const width = 30
	fill := pct * width / 100
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %-12s", strings.Repeat("#", fill), strings.Repeat("-", width-fill), pct, stage)
}

func (p *progressBar) ClipDone(engine.Clip) {}

func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.started {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

package captions

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// Page is what is on screen at once: one or two lines of words, which are
// the input words with their text trimmed. Start and End are seconds from
// the clip start. MarginV, set by Place, is the ASS event's MarginV: how far
// above the frame's bottom the text's bottom sits, in pixels; 0 keeps the
// style's.
type Page struct {
	Start, End float64
	Lines      [][]transcript.Word
	MarginV    int
}

// Page breaking and timing, in seconds.
const (
	maxPause   = 0.6 // a longer silence between words starts a new page
	maxPageDur = 3.0 // a page is not stretched over more speech than this
	holdGap    = 0.5 // a shorter gap to the next page is bridged, so captions don't blink
	minPageDur = 0.3 // shorter pages are extended, when there is room
	maxLines   = 2
)

// fitSlack leaves room for the difference between our advance sums and
// libass's shaping (hinting, ligatures): a line may use 98% of the width.
const fitSlack = 0.98

type aspect int

const (
	portrait aspect = iota
	square
	landscape
)

func aspectOf(width, height int) aspect {
	r := float64(width) / float64(height)
	switch {
	case r < 0.8:
		return portrait
	case r > 1.25:
		return landscape
	}
	return square
}

// safeAreas are fractions of the frame width (left, right) and height
// (top, bottom, anchor) that captions keep clear of or sit on.
//   - Portrait (TikTok, Reels, Shorts): the bottom ~20% carries the app's
//     description, sound and progress bar, the right ~12% the
//     like/comment/share buttons, and the top ~10% the feed tabs and search.
//     The caption block's bottom sits at 70% of the height, so the block is
//     centred around two thirds down.
//   - Square (feed posts): lighter overlays, a strip of ~10% at the bottom
//     and ~5% at the top.
//   - Landscape (YouTube, desktop players): the controls in the bottom ~7%,
//     the title in the top ~5%.
//
// Left and right margins are never below 6% so text does not touch the edge
// on screens that round or crop their corners. Captions leave the anchor
// only for Place, to keep clear of a face.
var safeAreas = [...]struct{ left, right, top, bottom, anchor float64 }{
	portrait:  {left: 0.08, right: 0.12, top: 0.10, bottom: 0.20, anchor: 0.70},
	square:    {left: 0.07, right: 0.07, top: 0.05, bottom: 0.10, anchor: 0.80},
	landscape: {left: 0.06, right: 0.06, top: 0.05, bottom: 0.07, anchor: 0.85},
}

// geometry is a preset placed on a frame, in pixels.
type geometry struct {
	width, height       int    // the frame
	family              string // the font family to name in the style
	size                float64
	outline, shadow     float64
	padTop, padBottom   float64 // how far the outline, shadow or box reach past the text
	marginL, marginR    int     // libass centres lines between these margins
	marginV             int     // from the bottom of the frame to the bottom of the text
	maxLine             float64
	face                *face
	safeLeft, safeRgt   float64 // the safe area's x range
	safeTop, safeBottom float64 // the safe area's y range
}

func newGeometry(p Preset, width, height int) geometry {
	if width <= 0 || height <= 0 {
		width, height = 1080, 1920
	}
	sa := safeAreas[aspectOf(width, height)]
	unit := float64(min(width, height))
	fe := fontFor(p.Font, p.Bold)
	g := geometry{
		width:   width,
		height:  height,
		family:  fe.family,
		face:    fe.face,
		size:    math.Round(p.Size * unit),
		outline: math.Round(p.Outline*unit*10) / 10,
		shadow:  math.Round(p.Shadow*unit*10) / 10,
	}
	g.safeLeft = sa.left * float64(width)
	g.safeRgt = float64(width) * (1 - sa.right)
	g.safeTop = sa.top * float64(height)
	g.safeBottom = float64(height) * (1 - sa.bottom)
	// The outline (or box padding) grows the text on every side and the
	// shadow down and to the right; keep all of it inside the safe area.
	// libass pads a box (BorderStyle 4) by the shadow on every side too.
	g.padTop, g.padBottom = g.outline, g.outline+g.shadow
	if p.Box {
		g.padTop += g.shadow
	}
	g.marginL = int(math.Ceil(g.safeLeft + g.outline))
	g.marginR = int(math.Ceil(float64(width) - g.safeRgt + g.outline + g.shadow))
	g.maxLine = float64(width-g.marginL-g.marginR) * fitSlack
	anchor := sa.anchor + p.Lower*(1-sa.bottom-sa.anchor)
	g.marginV = int(math.Ceil(float64(height)*(1-anchor) + g.padBottom))
	return g
}

// textWidth is the width of display text in pixels at the preset's size.
func (g geometry) textWidth(s string) float64 {
	if g.face == nil {
		return estimateWidth(s) * g.size
	}
	return g.face.width(s) * g.size
}

// displayText is a word as the preset shows it.
func displayText(w transcript.Word, p Preset) string {
	if p.Uppercase {
		return strings.ToUpper(w.Text)
	}
	return w.Text
}

// Layout splits words (sorted, times relative to the clip) into pages for
// the preset on a width x height frame. Words whose text is blank are
// dropped; the text of the others is trimmed.
func Layout(words []transcript.Word, p Preset, width, height int) []Page {
	g := newGeometry(p, width, height)
	ws := make([]transcript.Word, 0, len(words))
	for _, w := range words {
		w.Text = strings.Join(strings.Fields(w.Text), " ")
		if w.Text == "" {
			continue
		}
		w.End = max(w.End, w.Start)
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return nil
	}
	l := layouter{g: g, p: p, words: ws, widths: make([]float64, len(ws))}
	for i, w := range ws {
		l.widths[i] = g.textWidth(displayText(w, p))
	}
	l.space = g.textWidth(" ")

	var pages []Page
	seg := 0
	for i := range ws {
		last := i == len(ws)-1
		if last || endsSentence(ws[i].Text) || ws[i+1].Start-ws[i].End > maxPause {
			for _, r := range l.paginate(seg, i+1) {
				pages = append(pages, l.page(r[0], r[1]))
			}
			seg = i + 1
		}
	}
	setTimes(pages)
	return pages
}

type layouter struct {
	g      geometry
	p      Preset
	words  []transcript.Word
	widths []float64
	space  float64
}

// paginate splits the words [from, to), which have no sentence end or long
// pause inside, into pages: greedily, then mending a lone last word.
func (l *layouter) paginate(from, to int) [][2]int {
	maxWords := max(l.p.MaxWords, 1)
	var pages [][2]int
	for start := from; start < to; {
		end := start + 1
		for end < to && end+1-start <= maxWords && l.words[end].End-l.words[start].Start <= maxPageDur && l.fits(start, end+1) {
			end++
		}
		// A forced break reads better after a comma, when one leaves the
		// page at least half full.
		if end < to {
			for c := end - 1; c > start && 2*(c-start) >= end-start; c-- {
				if endsClause(l.words[c-1].Text) {
					end = c
					break
				}
			}
		}
		pages = append(pages, [2]int{start, end})
		start = end
	}

	// A lone word after a forced break reads as an orphan. Let it join the
	// page before when the limits bend a little (one more word, half a
	// second more), else move a word down to keep it company.
	if n := len(pages); n >= 2 && pages[n-1][1]-pages[n-1][0] == 1 {
		prev, last := pages[n-2], pages[n-1]
		switch {
		case last[1]-prev[0] <= maxWords+1 && l.words[last[0]].End-l.words[prev[0]].Start <= maxPageDur+0.5 && l.fits(prev[0], last[1]):
			pages = append(pages[:n-2], [2]int{prev[0], last[1]})
		case prev[1]-prev[0] >= 3 && l.fits(prev[1]-1, last[1]):
			pages[n-2][1]--
			pages[n-1][0]--
		}
	}
	return pages
}

// fits reports whether words [from, to) fit on at most two lines.
func (l *layouter) fits(from, to int) bool {
	_, ok := l.split(from, to)
	return ok
}

// split returns where the second line starts (to for a single line). Two
// lines are balanced: the split that makes the longer line shortest wins,
// so a page reads as a block rather than a full line and a stub, with a
// head start for splits after a comma. A word wider than a line may stand
// alone on its line; ASS shrinks it.
func (l *layouter) split(from, to int) (int, bool) {
	if to-from <= 1 || l.lineWidth(from, to) <= l.g.maxLine {
		return to, true
	}
	best, bestW := -1, math.Inf(1)
	for k := from + 1; k < to; k++ {
		w1, w2 := l.lineWidth(from, k), l.lineWidth(k, to)
		if (w1 > l.g.maxLine && k-from > 1) || (w2 > l.g.maxLine && to-k > 1) {
			continue
		}
		w := max(w1, w2)
		if endsClause(l.words[k-1].Text) && 2*min(w1, w2) >= w {
			w -= clauseBonus * l.g.maxLine
		}
		if w < bestW {
			best, bestW = k, w
		}
	}
	return best, best >= 0
}

func (l *layouter) lineWidth(from, to int) float64 {
	w := l.space * float64(to-from-1)
	for i := from; i < to; i++ {
		w += l.widths[i]
	}
	return w
}

func (l *layouter) page(from, to int) Page {
	k, ok := l.split(from, to)
	if !ok {
		k = to
	}
	pg := Page{Lines: [][]transcript.Word{l.words[from:k:k]}}
	if k < to {
		pg.Lines = append(pg.Lines, l.words[k:to:to])
	}
	pg.Start = l.words[from].Start
	for _, w := range l.words[from:to] {
		pg.End = max(pg.End, w.End)
	}
	return pg
}

// setTimes bridges short gaps between pages, gives very short pages a minimum
// time on screen, and makes sure no page overlaps the next.
func setTimes(pages []Page) {
	for i := range pages {
		pg := &pages[i]
		next := math.Inf(1)
		if i+1 < len(pages) {
			next = pages[i+1].Start
		}
		if next-pg.End < holdGap {
			pg.End = next
		}
		if pg.End-pg.Start < minPageDur {
			pg.End = min(pg.Start+minPageDur, next)
		}
		pg.End = max(pg.Start, min(pg.End, next))
	}
}

// clauseBonus is how much longer (as a fraction of the line) the longer line
// may be when the split is at a comma, to prefer breaking there; it applies
// only when the shorter line is at least half the longer, to avoid stubs.
const clauseBonus = 0.12

// endsClause reports whether a word ends with a comma or another mark a
// reader pauses at.
func endsClause(text string) bool {
	t := strings.TrimRight(text, `"')]}»”’`)
	r, _ := utf8.DecodeLastRuneInString(t)
	return strings.ContainsRune(",;:–—", r) || endsSentence(text)
}

// abbreviations end with a full stop but rarely end a sentence.
var abbreviations = map[string]bool{
	"mr.": true, "mrs.": true, "ms.": true, "dr.": true, "prof.": true,
	"st.": true, "vs.": true, "jr.": true, "sr.": true, "e.g.": true, "i.e.": true,
}

// endsSentence reports whether a word ends with ., ? or ! (or an ellipsis),
// looking past closing quotes and brackets.
func endsSentence(text string) bool {
	t := strings.TrimRight(text, `"')]}»”’`)
	if t == "" || abbreviations[strings.ToLower(t)] {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(t)
	return strings.ContainsRune(".?!…", r)
}

// words returns the page's words in order.
func (pg Page) words() []transcript.Word {
	var ws []transcript.Word
	for _, line := range pg.Lines {
		ws = append(ws, line...)
	}
	return ws
}

package captions

import (
	"math"
	"slices"
	"strings"

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
var safeAreas = [...]struct{ left, right, top, bottom, anchor, scale float64 }{
	portrait:  {left: 0.08, right: 0.12, top: 0.10, bottom: 0.20, anchor: 0.70, scale: 1},
	square:    {left: 0.07, right: 0.07, top: 0.05, bottom: 0.10, anchor: 0.80, scale: 0.85},
	landscape: {left: 0.06, right: 0.06, top: 0.05, bottom: 0.07, anchor: 0.85, scale: 0.6},
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
	// Sizes are fractions of the shorter side, which a phone shows across
	// its width; a square or landscape frame is seen smaller, on a feed or
	// a wide screen, where captions that fill a phone would shout.
	unit := float64(min(width, height)) * sa.scale
	fe := fontFor(p.Font, p.Bold)
	g := geometry{
		width:  width,
		height: height,
		family: fe.family,
		face:   fe.face,
		size:   math.Round(p.Size * unit),
	}
	g.outline = math.Round(p.Outline*g.size*10) / 10
	g.shadow = math.Round(p.Shadow*g.size*10) / 10
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
	l := layouter{g: g, p: p, words: ws, widths: make([]float64, len(ws)), cost: make([]float64, len(ws))}
	for i, w := range ws {
		l.widths[i] = g.textWidth(displayText(w, p))
		if i > 0 && w.Start-ws[i-1].End <= maxPause {
			l.cost[i] = breakCost(ws[i-1].Text, w.Text)
		}
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
	cost   []float64 // cost[i]: of a break before word i (breakCost), 0 after a long pause
}

// paginate splits the words [from, to), which have no sentence end or long
// pause inside, into the pages that cost least in all (see pageCost): a
// shortest path over where each page ends.
func (l *layouter) paginate(from, to int) [][2]int {
	n := to - from
	best := make([]float64, n+1) // best[i]: the cost of the best pages of the first i words
	start := make([]int, n+1)    // start[i]: where the last of those pages starts
	for i := 1; i <= n; i++ {
		best[i] = math.Inf(1)
		for j := i - 1; j >= 0; j-- {
			c, ok := l.pageCost(from+j, from+i, to)
			if !ok {
				break // a page of more words is no shorter or narrower
			}
			if c += best[j]; c < best[i] {
				best[i], start[i] = c, j
			}
		}
	}
	var pages [][2]int
	for i := n; i > 0; i = start[i] {
		pages = append(pages, [2]int{from + start[i], from + i})
	}
	slices.Reverse(pages)
	return pages
}

// pageCost is the cost of a page of the words [from, to) in a run that ends
// at end: one for the page, its slack, the break after it, lone for a single
// word, and a quarter of the cost of its line break and of a last line of
// one word (the eye reaches the next line at once, not so the next page; a
// first line of one word leads into the second, "IN / NEW YORK"). A page of
// more than the preset's words, over maxPageDur of speech or more than two
// lines is not ok; a single word always is.
func (l *layouter) pageCost(from, to, end int) (float64, bool) {
	maxWords, n := max(l.p.MaxWords, 1), to-from
	if n > maxWords || n > 1 && l.words[to-1].End-l.words[from].Start > maxPageDur {
		return 0, false
	}
	k, ok := l.split(from, to)
	if !ok {
		return 0, false
	}
	slack := float64(maxWords-n) / float64(maxWords)
	c := 1 + costSlack*slack*slack
	if to < end {
		c += l.breakAfter(from, to)
	}
	if k < to {
		c += (l.breakAfter(from, k) + l.dangling(from, k, to)) / 4
	}
	if n == 1 {
		c += l.lone(from)
	}
	return c, true
}

// breakAfter is the cost of a page or line of the words [from, to) ending
// before word to: the break's, and costRunOn more when it is inside a
// phrase though the words pause (a break there would be free) earlier on.
func (l *layouter) breakAfter(from, to int) float64 {
	c := l.cost[to]
	if c > 0 && slices.Contains(l.cost[from+1:to], 0) {
		c += costRunOn
	}
	return c
}

// lineWeight is how many line widths a break cost of one is worth when
// choosing where a page's lines split: a split inside a phrase gives way to
// one after a comma that makes the longer line up to 0.12 of a line longer.
const lineWeight = 0.12

// split returns where the second line starts (to for a single line). Two
// lines are balanced: the split that makes the longer line shortest wins,
// so a page reads as a block rather than a full line and a stub, with the
// break's cost (and a lone word's) added at lineWeight. A word wider than a
// line may stand alone on its line; ASS shrinks it.
func (l *layouter) split(from, to int) (int, bool) {
	if to-from <= 1 || l.lineWidth(from, to) <= l.g.maxLine {
		return to, true
	}
	best, bestCost := -1, math.Inf(1)
	for k := from + 1; k < to; k++ {
		w1, w2 := l.lineWidth(from, k), l.lineWidth(k, to)
		if (w1 > l.g.maxLine && k-from > 1) || (w2 > l.g.maxLine && to-k > 1) {
			continue
		}
		c := max(w1, w2)/l.g.maxLine + lineWeight*l.lineCost(from, k, to)
		if c < bestCost {
			best, bestCost = k, c
		}
	}
	return best, best >= 0
}

// lineCost is the cost of splitting the words [from, to) into lines at k.
func (l *layouter) lineCost(from, k, to int) float64 {
	c := l.breakAfter(from, k)
	if k-from == 1 {
		c += l.lone(from)
	}
	if to-k == 1 {
		c += l.lone(k)
	}
	return c
}

// dangling is the lone cost of a line of one word on the page [from, to)
// split at k, when the page break beside it cuts it off from its phrase at
// least as much as the line break joins it to the other line: "PROJECT" in
// "THE WHOLE / PROJECT | STILL COST" dangles, "IN" in "IN / NEW YORK" leads
// into the next line.
func (l *layouter) dangling(from, k, to int) float64 {
	var c float64
	if k-from == 1 && l.cost[from] >= l.cost[k] {
		c += l.lone(from)
	}
	if to-k == 1 && to < len(l.cost) && l.cost[to] >= l.cost[k] {
		c += l.lone(k)
	}
	return c
}

// lone is the cost of word i on a page or line of its own: costLone, but
// nothing for a clause of one word ("Honestly,"), which stands alone well.
func (l *layouter) lone(i int) float64 {
	if l.cost[i] == 0 && (i+1 == len(l.cost) || l.cost[i+1] == 0) {
		return 0
	}
	return costLone
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

// words returns the page's words in order.
func (pg Page) words() []transcript.Word {
	var ws []transcript.Word
	for _, line := range pg.Lines {
		ws = append(ws, line...)
	}
	return ws
}

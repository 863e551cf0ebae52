package captions

import (
	"slices"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// talk is spoken text as creators caption it: names, numbers with their
// units or the words they count, punctuation and small function words.
const talk = `Remember this tomorrow: do not skip the first step. ` +
	`I finally watched Queen's Gambit in New York last week, and it was great. ` +
	`Scientists count 1,350 volcanoes around the world, and twenty percent of them erupted in the last century. ` +
	`Brew 16 grams of coffee for 3.5 minutes, then pour it into a warm cup. ` +
	`Amazon Transcribe got every word right, but the whole project still cost $5 million.`

// bound are the pairs of words in talk that belong together: names, and
// numbers with what they count.
var bound = [][2]string{
	{"Queen's", "Gambit"}, {"New", "York"}, {"Amazon", "Transcribe"},
	{"1,350", "volcanoes"}, {"twenty", "percent"}, {"16", "grams"}, {"3.5", "minutes,"}, {"$5", "million."},
}

func isBound(a, b transcript.Word) bool {
	return slices.Contains(bound, [2]string{a.Text, b.Text})
}

// small are function words that should not end a page.
var small = []string{"a", "the", "of", "to", "and", "in", "for", "into"}

func TestBreakCost(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"tomorrow:", "do", 0},
		{"week,", "and", 0},
		{"step.", "I", 0},
		{"Queen's", "Gambit", costBound},
		{"New", "York", costBound},
		{"Amazon", "Transcribe", costBound},
		{"16", "grams", costBound},
		{"3.5", "minutes", costBound},
		{"1,350", "volcanoes", costBound},
		{"$5", "million", costBound},
		{"twenty", "percent", costBound},
		{"twenty-five", "years", costBound},
		{"million", "dollars", costBound},
		{"the", "first", costFunction},
		{"into", "a", costFunction},
		{"Gambit", "in", costPhrase / 2},
		{"watched", "Queen's", costPhrase},
		{"Then", "I", costPhrase},   // "I" is no name
		{"I'm", "Sam", costPhrase},  // nor is "I'm"
		{"skip", "Mr.", costPhrase}, // an abbreviation is no clause end
	}
	for _, c := range cases {
		if got := breakCost(c.a, c.b); got != c.want {
			t.Errorf("breakCost(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestPhraseBreakExamples checks the pages (lines split by " / ") of
// sentences with a clear best layout on a portrait frame.
func TestPhraseBreakExamples(t *testing.T) {
	cases := []struct{ preset, text, want string }{
		// A colon or comma ends a page rather than running on into a
		// fragment ("TOMORROW: DO NOT"), and a clause of one word may
		// stand alone; a dangling word may not.
		{"bold", "Tomorrow: do not skip breakfast.", "Tomorrow: | do not | skip / breakfast."},
		{"bold", "Honestly, it is just a word.", "Honestly, | it is just | a word."},
		{"bold", "So we waited | Honestly, it is just a word.", "So we / waited | Honestly, | it is just | a word."}, // "|" a long pause
		// Names stay whole, and a phrase starts at its small word.
		{"bold", "I finally watched Queen's Gambit in New York last week.", "I finally / watched | Queen's / Gambit | in / New York | last week."},
		{"bold", "And then we went to the store with my friends.", "And then | we went | to the / store | with my / friends."},
		// A word alone on a line dangles when a page break cuts it off
		// ("OF THEM / ERUPTED | IN THE").
		{"bold", "And twenty percent of them erupted in the last century.", "And twenty / percent | of them | erupted in | the last / century."},
		{"classic", "So here's the thing, most people wait for the perfect moment.", "So here's the thing, | most people wait for / the perfect moment."},
		{"classic", "We walked to the old market in the rain.", "We walked / to the old market | in the rain."},
		{"classic", "She said yes, and then she left the room without a word.", "She said yes, | and then she left | the room / without a word."},
		// A number stays with what it counts.
		{"classic", "It takes about twenty minutes to brew a good cup of coffee at home.", "It takes about / twenty minutes | to brew a good cup | of coffee at home."},
		{"karaoke", "Brew 16 grams of coffee for 3.5 minutes, then pour.", "Brew 16 grams / of coffee | for 3.5 minutes, / then pour."},
		{"boxed", "Amazon Transcribe got every word right, but it cost $5 million.", "Amazon Transcribe / got every word right, | but it cost $5 million."},
		{"minimal", "Most people never start, because they wait for the perfect moment.", "Most people never start, | because they wait / for the perfect moment."},
	}
	for _, c := range cases {
		p, _ := Lookup(c.preset)
		requireFonts(t, p)
		var got []string
		for _, pg := range Layout(speak(c.text), p, 1080, 1920) {
			got = append(got, pageString(pg))
		}
		if g := strings.Join(got, " | "); g != c.want {
			t.Errorf("%s %q:\n got %s\nwant %s", c.preset, c.text, g, c.want)
		}
	}
}

// TestPhraseBreaks lays talk out for every preset and frame, and checks
// that pages and lines break where a reader pauses.
func TestPhraseBreaks(t *testing.T) {
	words := speak(talk)
	for _, name := range Names() {
		p, _ := Lookup(name)
		for _, f := range frames {
			t.Run(name+"_"+f.name, func(t *testing.T) {
				g := newGeometry(p, f.width, f.height)
				pages := Layout(words, p, f.width, f.height)
				var texts []string
				for _, pg := range pages {
					texts = append(texts, pageString(pg))
				}
				t.Logf("pages:\n%s", strings.Join(texts, "\n"))
				before := "" // the word before the page, in its run
				for i, pg := range pages {
					checkLines(t, g, p, pg)
					if i+1 < len(pages) && !endsSentence(lastWord(pg).Text) {
						checkPageBreak(t, g, p, before, pg.words(), pages[i+1].words())
						before = lastWord(pg).Text
					} else {
						before = ""
					}
				}
			})
		}
	}
}

// checkPageBreak checks the break between two pages of one run of speech;
// before is the word before a in the run, if any.
func checkPageBreak(t *testing.T, g geometry, p Preset, before string, a, b []transcript.Word) {
	t.Helper()
	at := transcript.Text(a) + " | " + transcript.Text(b)
	last, next := a[len(a)-1], b[0]
	if isBound(last, next) {
		t.Errorf("%s: splits %q %q", at, last.Text, next.Text)
	}
	// A word alone is dangling, unless it is a clause of its own
	// ("Tomorrow:") or its neighbour can't take it.
	ownClause := len(a) == 1 && endsClause(last.Text) && (before == "" || endsClause(before))
	if (len(a) == 1 && !ownClause || len(b) == 1) && fitsPage(g, p, append(slices.Clone(a), b...)) {
		t.Errorf("%s: a lone word that could join its neighbour", at)
	}
	// A page may end on a small word when the next can't come along: it
	// does not fit, it would leave a word alone or break a bound pair, or
	// it is a small word too.
	if slices.Contains(small, strings.ToLower(last.Text)) && len(b) >= 3 && !isBound(b[0], b[1]) &&
		!slices.Contains(small, strings.ToLower(next.Text)) && fitsPage(g, p, append(slices.Clone(a), next)) {
		t.Errorf("%s: ends on %q, though %q could come along", at, last.Text, next.Text)
	}
	// A page that runs past a clause end must end at another one, unless
	// the words after the clause end could not have joined the next page.
	if !endsClause(last.Text) {
		for k := len(a) - 2; k >= 0; k-- {
			if endsClause(a[k].Text) {
				if fitsPage(g, p, append(slices.Clone(a[k+1:]), b...)) {
					t.Errorf("%s: runs on past %q", at, a[k].Text)
				}
				break
			}
		}
	}
}

// checkLines checks where a page's lines break: not inside a bound pair
// that fits on a line, and not leaving a word alone on a line of a page of
// four or more words, when an even split fits.
func checkLines(t *testing.T, g geometry, p Preset, pg Page) {
	t.Helper()
	if len(pg.Lines) < 2 {
		return
	}
	l1, l2 := pg.Lines[0], pg.Lines[1]
	last, next := l1[len(l1)-1], l2[0]
	if isBound(last, next) && lineFits(g, p, []transcript.Word{last, next}) {
		t.Errorf("%s: lines split %q %q", pageString(pg), last.Text, next.Text)
	}
	ws := pg.words()
	if n := len(ws); n >= 4 && (len(l1) == 1 || len(l2) == 1) {
		for k := 2; k <= n-2; k++ {
			if lineFits(g, p, ws[:k]) && lineFits(g, p, ws[k:]) {
				t.Errorf("%s: a lone word on a line, though %q / %q fits", pageString(pg), transcript.Text(ws[:k]), transcript.Text(ws[k:]))
				break
			}
		}
	}
}

// fitsPage reports whether words could make one page: no more than the
// preset's words and maxPageDur of speech, on at most two lines.
func fitsPage(g geometry, p Preset, ws []transcript.Word) bool {
	if len(ws) > p.MaxWords || ws[len(ws)-1].End-ws[0].Start > maxPageDur {
		return false
	}
	if lineFits(g, p, ws) {
		return true
	}
	for k := 1; k < len(ws); k++ {
		if (k == 1 || lineFits(g, p, ws[:k])) && (k == len(ws)-1 || lineFits(g, p, ws[k:])) {
			return true
		}
	}
	return false
}

func lineFits(g geometry, p Preset, ws []transcript.Word) bool {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = displayText(w, p)
	}
	return g.textWidth(strings.Join(s, " ")) <= g.maxLine
}

func lastWord(pg Page) transcript.Word {
	line := pg.Lines[len(pg.Lines)-1]
	return line[len(line)-1]
}

// pageString shows a page's lines split by " / ".
func pageString(pg Page) string {
	lines := make([]string, len(pg.Lines))
	for i, line := range pg.Lines {
		lines[i] = transcript.Text(line)
	}
	return strings.Join(lines, " / ")
}

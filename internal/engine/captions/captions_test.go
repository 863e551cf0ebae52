package captions

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sample is spoken text: "|" marks a long pause.
const sample = `So here's the thing. Most people never start, because they wait for the perfect moment. | ` +
	`It never comes. What if you started today, right now, with whatever you have? ` +
	`Honestly, "incomprehensibilities" is just a word. Just {begin} & see <what> happens!`

// speak gives each word of text a plausible time: longer words take longer,
// sentence ends and "|" add pauses.
func speak(text string) []transcript.Word {
	var ws []transcript.Word
	t := 0.2
	for _, f := range strings.Fields(text) {
		if f == "|" {
			t += 0.9
			continue
		}
		d := 0.12 + 0.045*float64(utf8.RuneCountInString(f))
		ws = append(ws, transcript.Word{Text: f, Start: round3(t), End: round3(t + d), Confidence: 0.9})
		t += d + 0.08
		if endsSentence(f) {
			t += 0.3
		}
	}
	return ws
}

func round3(v float64) float64 { return float64(int(v*1000+0.5)) / 1000 }

var frames = []struct {
	name          string
	width, height int
}{
	{"portrait", 1080, 1920},
	{"square", 1080, 1080},
	{"landscape", 1920, 1080},
}

// requireFonts skips tests whose expected output depends on the preset
// fonts being installed.
func requireFonts(t *testing.T, p Preset) {
	t.Helper()
	if e := fontFor(p.Font, p.Bold); e.face == nil || e.family != p.Font {
		t.Skipf("font %q is not installed", p.Font)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestGoldenASS(t *testing.T) {
	words := speak(sample)
	for _, name := range Names() {
		p, _ := Lookup(name)
		for _, f := range frames {
			if f.name == "square" {
				continue
			}
			t.Run(name+"_"+f.name, func(t *testing.T) {
				requireFonts(t, p)
				pages := Layout(words, p, f.width, f.height)
				golden(t, name+"_"+f.name+".ass.golden", ASS(pages, p, f.width, f.height))
			})
		}
	}
}

func TestGoldenSRTVTT(t *testing.T) {
	p, _ := Lookup("classic")
	requireFonts(t, p)
	pages := Layout(speak(sample), p, 1080, 1920)
	golden(t, "classic_portrait.srt.golden", SRT(pages))
	golden(t, "classic_portrait.vtt.golden", VTT(pages))
}

func TestNamesAndLookup(t *testing.T) {
	want := []string{"bold", "boxed", "classic", "karaoke", "minimal"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	p, err := Lookup("")
	if err != nil || p.Name != "classic" {
		t.Fatalf(`Lookup("") = %q, %v; want classic`, p.Name, err)
	}
	if p, err := Lookup(" Bold "); err != nil || p.Name != "bold" {
		t.Fatalf(`Lookup(" Bold ") = %q, %v`, p.Name, err)
	}
	_, err = Lookup("neon")
	const msg = `unknown caption style "neon"; valid styles: bold, boxed, classic, karaoke, minimal`
	if err == nil || err.Error() != msg {
		t.Fatalf("Lookup(neon) error = %v, want %s", err, msg)
	}
}

// TestLayoutRules checks the page rules for every preset and frame.
func TestLayoutRules(t *testing.T) {
	words := speak(sample + " " + sample)
	for _, name := range Names() {
		p, _ := Lookup(name)
		for _, f := range frames {
			t.Run(name+"_"+f.name, func(t *testing.T) {
				g := newGeometry(p, f.width, f.height)
				pages := Layout(words, p, f.width, f.height)
				var got []transcript.Word
				for i, pg := range pages {
					if len(pg.Lines) == 0 || len(pg.Lines) > 2 {
						t.Errorf("page %d has %d lines", i, len(pg.Lines))
					}
					if pg.End <= pg.Start {
						t.Errorf("page %d is empty: %.3f-%.3f", i, pg.Start, pg.End)
					}
					if i+1 < len(pages) && pg.End > pages[i+1].Start {
						t.Errorf("page %d ends at %.3f after page %d starts at %.3f", i, pg.End, i+1, pages[i+1].Start)
					}
					n := len(pg.words())
					if n > p.MaxWords {
						t.Errorf("page %d has %d words, max %d", i, n, p.MaxWords)
					}
					for _, line := range pg.Lines {
						if len(line) == 0 {
							t.Errorf("page %d has an empty line", i)
						}
						w := g.textWidth(displayText(transcript.Word{Text: transcript.Text(line)}, p))
						// Only a lone word may overflow, and ASS shrinks it.
						if len(line) == 1 {
							w = min(w, g.maxLine)
						}
						// The text, its outline and shadow, centred
						// between the margins, stay in the safe area.
						centre := (float64(g.marginL) + float64(f.width-g.marginR)) / 2
						left, right := centre-w/2-g.outline, centre+w/2+g.outline+g.shadow
						if left < g.safeLeft || right > g.safeRgt {
							t.Errorf("page %d line %q spans x %.0f-%.0f, outside the safe area %.0f-%.0f",
								i, transcript.Text(line), left, right, g.safeLeft, g.safeRgt)
						}
					}
					got = append(got, pg.words()...)
				}
				if len(got) != len(words) {
					t.Fatalf("pages hold %d words, want %d", len(got), len(words))
				}
				for i := range words {
					if got[i] != words[i] {
						t.Fatalf("word %d is %+v, want %+v", i, got[i], words[i])
					}
				}
			})
		}
	}
}

func TestPageBreaks(t *testing.T) {
	p, _ := Lookup("classic")
	w := func(text string, start, end float64) transcript.Word {
		return transcript.Word{Text: text, Start: start, End: end}
	}
	words := []transcript.Word{
		w("Hello", 0, 0.3), w("there.", 0.35, 0.7), // sentence end
		w("How", 0.8, 1.0), w("are", 1.05, 1.2), // long pause after
		w("you", 2.0, 2.2), w("doing", 2.25, 2.5), w("today?", 2.55, 3.0),
		w("Fine", 3.1, 3.3),
	}
	pages := Layout(words, p, 1080, 1920)
	got := pageTexts(pages)
	want := []string{"Hello there.", "How are", "you doing today?", "Fine"}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %q, want %q", got, want)
	}
	// "there." ends 0.1 s before the next page: bridged. "are" ends 0.8 s
	// before: not bridged. "Fine" is short: held for the minimum.
	if pages[0].End != 0.8 || pages[1].End != 1.2 || pages[3].End != 3.1+minPageDur {
		t.Errorf("page ends %.2f %.2f %.2f, want 0.80 1.20 %.2f", pages[0].End, pages[1].End, pages[3].End, 3.1+minPageDur)
	}
}

func TestLongPagesSplit(t *testing.T) {
	p, _ := Lookup("classic")
	// Eight quick words with no punctuation or pauses: one more than a
	// page holds, so two balanced pages rather than 7+1.
	var words []transcript.Word
	for i := range 8 {
		s := float64(i) * 0.25
		words = append(words, transcript.Word{Text: "word", Start: s, End: s + 0.2})
	}
	if got := pageSizes(Layout(words, p, 1080, 1920)); len(got) != 2 || slices.Min(got) < 3 {
		t.Errorf("8 words with max %d: pages of %v words, want two of 3 to 5", p.MaxWords, got)
	}
	// Slow words: a page must not cover more than 3 s of speech.
	words = words[:0]
	for i := range 6 {
		s := float64(i) * 0.9
		words = append(words, transcript.Word{Text: "slow", Start: s, End: s + 0.8})
	}
	for _, pg := range Layout(words, p, 1080, 1920) {
		ws := pg.words()
		if d := ws[len(ws)-1].End - ws[0].Start; d > maxPageDur {
			t.Errorf("page %q covers %.1f s", transcript.Text(ws), d)
		}
	}
	// Bold shows one to three words: 7 give pages of 2 and 3, never 3+3+1
	// or 3+4.
	b, _ := Lookup("bold")
	words = speak("alpha bravo charlie delta echo foxtrot golf")
	if got := pageSizes(Layout(words, b, 1080, 1920)); len(got) != 3 || slices.Min(got) != 2 || slices.Max(got) != 3 {
		t.Errorf("bold pages of %v words, want three of 2 or 3", got)
	}
	// A word moves down to keep a lone one company...
	words = speak("aa bb cc")
	words = append(words, transcript.Word{Text: "dd", Start: 1.5, End: 3.5})
	if got, want := pageTexts(Layout(words, b, 1080, 1920)), []string{"aa bb", "cc dd"}; !slices.Equal(got, want) {
		t.Errorf("bold pages %q, want %q", got, want)
	}
	// ...unless that page would cover more than 3 s of speech.
	words[3].End = 4.5
	if got, want := pageTexts(Layout(words, b, 1080, 1920)), []string{"aa bb cc", "dd"}; !slices.Equal(got, want) {
		t.Errorf("bold pages %q, want %q", got, want)
	}
}

func pageSizes(pages []Page) []int {
	var n []int
	for _, pg := range pages {
		n = append(n, len(pg.words()))
	}
	return n
}

func pageTexts(pages []Page) []string {
	var s []string
	for _, pg := range pages {
		s = append(s, transcript.Text(pg.words()))
	}
	return s
}

func TestEscaping(t *testing.T) {
	if got, want := escapeASS(`a{\b1}c \N`), "a\\{\\\u2060b1\\}c \\\u2060N"; got != want {
		t.Errorf("escapeASS = %q, want %q", got, want)
	}
	pages := []Page{{Start: 1, End: 2.5, Lines: [][]transcript.Word{
		{{Text: "<b>Tom"}, {Text: "&"}},
		{{Text: "{Jerry}"}},
	}}}
	if got, want := VTT(pages), "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n&lt;b&gt;Tom &amp;\n{Jerry}\n\n"; got != want {
		t.Errorf("VTT = %q, want %q", got, want)
	}
	if got, want := SRT(pages), "1\n00:00:01,000 --> 00:00:02,500\n<b>Tom &\n{Jerry}\n\n"; got != want {
		t.Errorf("SRT = %q, want %q", got, want)
	}
	p, _ := Lookup("classic")
	ass := ASS(pages, p, 1080, 1920)
	if !strings.Contains(ass, `,<b>Tom &\N\{Jerry\}`+"\n") {
		t.Errorf("ASS text not escaped:\n%s", ass)
	}
}

func TestTimes(t *testing.T) {
	if got := assTime(centis(3723.456)); got != "1:02:03.46" {
		t.Errorf("assTime = %s", got)
	}
	if got := cueTime(millis(3723.4567), ','); got != "01:02:03,457" {
		t.Errorf("cueTime = %s", got)
	}
}

func TestEmpty(t *testing.T) {
	for _, name := range Names() {
		p, _ := Lookup(name)
		pages := Layout(nil, p, 1080, 1920)
		if len(pages) != 0 {
			t.Fatalf("%s: %d pages from no words", name, len(pages))
		}
		ass := ASS(pages, p, 1080, 1920)
		if !strings.Contains(ass, "[Events]\nFormat:") || strings.Contains(ass, "Dialogue:") {
			t.Errorf("%s: bad empty ASS:\n%s", name, ass)
		}
	}
	if SRT(nil) != "" || VTT(nil) != "WEBVTT\n\n" {
		t.Errorf("empty SRT %q, VTT %q", SRT(nil), VTT(nil))
	}
}

// TestHighlightEvents checks that bold gives one contiguous event per word
// with only that word recoloured.
func TestHighlightEvents(t *testing.T) {
	p, _ := Lookup("bold")
	words := speak("one two three")
	pages := Layout(words, p, 1080, 1920)
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	var events []string
	for _, l := range strings.Split(ASS(pages, p, 1080, 1920), "\n") {
		if strings.HasPrefix(l, "Dialogue:") {
			events = append(events, l)
		}
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 3:\n%s", len(events), strings.Join(events, "\n"))
	}
	for i, e := range events {
		f := strings.SplitN(e, ",", 10)
		if i > 0 && f[1] != strings.SplitN(events[i-1], ",", 10)[2] {
			t.Errorf("event %d starts at %s, not where event %d ends", i, f[1], i-1)
		}
		hl := `{\1c` + assRGB(p.Highlight) + `}` + strings.ToUpper(words[i].Text)
		if strings.Count(f[9], `{\1c`+assRGB(p.Highlight)) != 1 || !strings.Contains(f[9], hl) {
			t.Errorf("event %d does not highlight %q alone: %s", i, words[i].Text, f[9])
		}
	}
}

func TestFontFallback(t *testing.T) {
	if _, err := loadFace("No Such Font Family", false); err == nil {
		t.Fatal("loadFace of a missing family succeeded")
	}
	p, _ := Lookup("classic")
	p.Font = "No Such Font Family"
	if e := fontFor(p.Font, p.Bold); e.face != nil && e.family != fallbackFont {
		t.Errorf("missing font resolved to %q, want %q", e.family, fallbackFont)
	}

	// Without fontconfig there is nothing to measure: widths are estimated
	// on the wide side, and pages still fit.
	t.Setenv("PATH", "")
	p.Font = "Another Missing Family"
	g := newGeometry(p, 1080, 1920)
	if g.face != nil || g.family != p.Font {
		t.Fatalf("without fc-match: face %v, family %q", g.face != nil, g.family)
	}
	if estimateWidth("WWW") <= estimateWidth("www") {
		t.Error("estimate does not widen capitals")
	}
	for _, pg := range Layout(speak(sample), p, 1080, 1920) {
		for _, line := range pg.Lines {
			if w := g.textWidth(transcript.Text(line)); w > g.maxLine && len(line) > 1 {
				t.Errorf("line %q is %.0f px, max %.0f", transcript.Text(line), w, g.maxLine)
			}
		}
	}
}

// The contract lists the caption styles an API client may name; every one
// must be a preset here, and no preset may be unreachable.
func TestPresetsMatchTheContract(t *testing.T) {
	want := append([]string(nil), clipping.CaptionStyles...)
	sort.Strings(want)
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("presets %v, contract %v", got, want)
	}
	if clipping.DefaultCaptionStyle != DefaultPreset {
		t.Fatalf("default preset %q, contract default %q", DefaultPreset, clipping.DefaultCaptionStyle)
	}
}

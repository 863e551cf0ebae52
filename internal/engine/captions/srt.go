package captions

import (
	"fmt"
	"math"
	"strings"

	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// SRT writes one SubRip cue per page, its lines on separate lines. SubRip
// has no escapes; the text is written as transcribed.
func SRT(pages []Page) string {
	var b strings.Builder
	n := 0
	for _, pg := range pages {
		start, end := millis(pg.Start), millis(pg.End)
		if end <= start {
			continue
		}
		n++
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n\n", n, cueTime(start, ','), cueTime(end, ','), cueText(pg, nil))
	}
	return b.String()
}

// VTT writes one WebVTT cue per page, with &, < and > escaped.
func VTT(pages []Page) string {
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for _, pg := range pages {
		start, end := millis(pg.Start), millis(pg.End)
		if end <= start {
			continue
		}
		fmt.Fprintf(&b, "%s --> %s\n%s\n\n", cueTime(start, '.'), cueTime(end, '.'), cueText(pg, vttEscaper))
	}
	return b.String()
}

var vttEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func cueText(pg Page, esc *strings.Replacer) string {
	lines := make([]string, len(pg.Lines))
	for i, line := range pg.Lines {
		lines[i] = transcript.Text(line)
		if esc != nil {
			lines[i] = esc.Replace(lines[i])
		}
	}
	return strings.Join(lines, "\n")
}

func millis(t float64) int {
	return max(0, int(math.Round(t*1000)))
}

// cueTime formats milliseconds as hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (VTT).
func cueTime(ms int, sep byte) string {
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}

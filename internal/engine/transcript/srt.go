package transcript

import (
	"io"
	"strings"
)

// ParseSRT reads SubRip subtitles. Word times are spread across each cue
// (see spread). Index lines may be missing or not numbers: the line just
// before a timing line, after a blank line, is taken as the index, and
// other text after a blank line continues the cue before it.
func ParseSRT(r io.Reader) ([]Word, error) {
	text, err := readText(r)
	if err != nil {
		return nil, err
	}
	return parseSRT(text)
}

func parseSRT(text string) ([]Word, error) {
	var (
		cues  []cue
		lines []string // text of the current cue
		held  []string // lines after a blank line: index or more text
		open  bool     // the last line was timing or cue text
		first int      // first non-blank line, for errors
	)
	end := func() {
		if len(cues) > 0 {
			cues[len(cues)-1].segs[0].text = strings.Join(lines, " ")
		}
	}
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		t := strings.TrimSpace(raw)
		switch {
		case t == "":
			open = false
		case strings.Contains(t, "-->"):
			start, stop, err := parseTiming(t)
			if err != nil {
				return nil, lineError(n, "%v", err)
			}
			if len(held) > 0 {
				held = held[:len(held)-1] // the index
			}
			if len(cues) > 0 {
				for _, h := range held {
					lines = append(lines, srtText(h))
				}
			}
			end()
			cues = append(cues, cue{start: start, end: stop, segs: []segment{{at: start}}})
			lines, held, open = nil, nil, true
		default:
			if first == 0 {
				first = n
			}
			if open {
				lines = append(lines, srtText(t))
			} else {
				held = append(held, t)
			}
		}
	}
	if len(cues) == 0 {
		if first == 0 {
			return nil, nil
		}
		return nil, lineError(first, "%v", errNoCues)
	}
	// Text after the last blank line, unless it is a lone index number.
	if len(held) == 1 {
		if _, ok := parseDigits(held[0]); ok {
			held = nil
		}
	}
	for _, h := range held {
		lines = append(lines, srtText(h))
	}
	end()
	return cueWords(cues), nil
}

// srtText is one line of cue text without markup.
func srtText(line string) string {
	p, _ := cleanLine(line, false) // fails only on timestamp tags
	return p[0].text
}

package transcript

import (
	"io"
	"strings"
)

// ParseVTT reads WebVTT captions. Word times are spread across each cue
// (see spread), except that inline timestamp tags
// ("Hello <00:00:01.500><c>world</c>") give the words after them their
// start times.
//
// YouTube's automatic captions roll: each cue repeats the line the previous
// cue ended with, then adds a timed line. So in a file with inline
// timestamps, a cue's first line that equals the previous cue's last line
// is dropped. Files without inline timestamps are taken as they are, since
// there two cues in a row may really say the same thing.
func ParseVTT(r io.Reader) ([]Word, error) {
	text, err := readText(r)
	if err != nil {
		return nil, err
	}
	words, _, err := parseVTT(text)
	return words, err
}

// parseVTT also returns the language from a "Language: en" header line,
// which YouTube writes.
func parseVTT(text string) ([]Word, string, error) {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		// Only empty lines end blocks (YouTube puts " " lines inside cues),
		// but trailing white space is noise.
		lines[i] = strings.TrimRight(l, " \t")
		if lines[i] == "" && l != "" {
			lines[i] = " "
		}
	}
	if !isBlock(lines[0], "WEBVTT") {
		return nil, "", lineError(1, "no WEBVTT header")
	}
	lang := ""
	i := 1
	for ; i < len(lines) && lines[i] != "" && !strings.Contains(lines[i], "-->"); i++ {
		if k, v, ok := strings.Cut(lines[i], ":"); ok && strings.EqualFold(strings.TrimSpace(k), "language") {
			lang = LanguageCode(v)
		}
	}

	type rawCue struct {
		start, end float64
		lines      [][]piece
	}
	var raws []rawCue
	timed := false
	for i < len(lines) {
		l := lines[i]
		switch {
		case l == "":
			i++
			continue
		case isBlock(l, "NOTE"), isBlock(l, "STYLE"), isBlock(l, "REGION"):
			for i < len(lines) && lines[i] != "" {
				i++
			}
			continue
		case !strings.Contains(l, "-->"):
			// A cue identifier, or a block that is no cue: skip it.
			if i+1 < len(lines) && strings.Contains(lines[i+1], "-->") {
				i++
			} else {
				for i < len(lines) && lines[i] != "" {
					i++
				}
				continue
			}
		}
		start, end, err := parseTiming(lines[i])
		if err != nil {
			return nil, "", lineError(i+1, "%v", err)
		}
		c := rawCue{start: start, end: end}
		for i++; i < len(lines) && lines[i] != "" && !strings.Contains(lines[i], "-->"); i++ {
			p, err := cleanLine(lines[i], true)
			if err != nil {
				return nil, "", lineError(i+1, "%v", err)
			}
			timed = timed || len(p) > 1
			c.lines = append(c.lines, p)
		}
		raws = append(raws, c)
	}

	cues := make([]cue, 0, len(raws))
	prevLast := ""
	for _, rc := range raws {
		var kept [][]piece
		for _, p := range rc.lines {
			if plainText(p) != "" {
				kept = append(kept, p)
			}
		}
		if timed && len(kept) > 0 {
			last := plainText(kept[len(kept)-1])
			if plainText(kept[0]) == prevLast {
				kept = kept[1:]
			}
			prevLast = last
		}
		// A timestamp tag starts a segment; other text, on this line or the
		// next, goes on with the one before. Joined once, so that a cue of
		// many lines takes linear time.
		c := cue{start: rc.start, end: rc.end, segs: []segment{{at: rc.start}}}
		var text []string
		for _, line := range kept {
			for k, p := range line {
				if k > 0 {
					c.segs[len(c.segs)-1].text = strings.Join(text, " ")
					c.segs = append(c.segs, segment{at: p.at})
					text = nil
				}
				text = append(text, p.text)
			}
		}
		c.segs[len(c.segs)-1].text = strings.Join(text, " ")
		cues = append(cues, c)
	}
	return cueWords(cues), lang, nil
}

// isBlock reports whether line is keyword alone or followed by white space.
func isBlock(line, keyword string) bool {
	rest, ok := strings.CutPrefix(line, keyword)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

package captions

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// fallbackFont is tried when a preset's font is not installed. It ships with
// Debian's fonts-dejavu-core, so it is nearly always there, and naming it in
// the ASS style keeps libass on the font we measured.
const fallbackFont = "DejaVu Sans"

// face is a parsed font file, measured in units of the libass font size.
type face struct {
	path string
	font *sfnt.Font
	// emPerSize is the em size for a font size of 1: libass sizes fonts so
	// that the OS/2 win ascent plus descent (the GDI cell) equals the
	// font size, which makes the em smaller than the size.
	emPerSize float64

	mu  sync.Mutex // guards buf
	buf sfnt.Buffer
}

// measureUnit is the ppem we ask sfnt for: big enough that the 26.6
// rounding is negligible, small enough not to overflow.
const measureUnit = 1024

// width returns the advance width of s, with kerning, at a font size of 1.
// Runes the font lacks are counted as a full em, as libass will fall back
// to some other font for them.
func (f *face) width(s string) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	ppem := fixed.I(measureUnit)
	var total fixed.Int26_6
	var missing int
	var prev sfnt.GlyphIndex
	for _, r := range s {
		gi, err := f.font.GlyphIndex(&f.buf, r)
		if err != nil || gi == 0 {
			if !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r) {
				missing++
			}
			prev = 0
			continue
		}
		if prev != 0 {
			if k, err := f.font.Kern(&f.buf, prev, gi, ppem, font.HintingNone); err == nil {
				total += k
			}
		}
		adv, err := f.font.GlyphAdvance(&f.buf, gi, ppem, font.HintingNone)
		if err == nil {
			total += adv
		}
		prev = gi
	}
	return (float64(total)/64/measureUnit + float64(missing)) * f.emPerSize
}

// fontKey names a face the way the ASS style does.
type fontKey struct {
	family string
	bold   bool
}

type fontEntry struct {
	family string // the family to write in the style: the asked one or the fallback
	face   *face  // nil: no font file found, estimate widths
}

var (
	fontMu    sync.Mutex
	fontCache = map[fontKey]fontEntry{}
)

// fontFor returns the family to name in the ASS style and the face to
// measure with, parsing each font file once per process. It falls back to
// DejaVu Sans, then to estimated widths, and logs each fallback once.
func fontFor(family string, bold bool) fontEntry {
	key := fontKey{family, bold}
	fontMu.Lock()
	defer fontMu.Unlock()
	if e, ok := fontCache[key]; ok {
		return e
	}
	e := fontEntry{family: family}
	f, err := loadFace(family, bold)
	if err != nil && family != fallbackFont {
		f2, err2 := loadFace(fallbackFont, bold)
		if err2 == nil {
			slog.Warn("caption font not found, using the fallback font", "font", family, "bold", bold, "fallback", fallbackFont, "err", err)
			e.family, f, err = fallbackFont, f2, nil
		}
	}
	if err != nil {
		slog.Warn("caption font not found, estimating text widths", "font", family, "bold", bold, "err", err)
	}
	e.face = f
	fontCache[key] = e
	return e
}

// loadFace finds the font file with fontconfig, as libass does, and parses it.
func loadFace(family string, bold bool) (*face, error) {
	path, err := matchFont(family, bold)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read font: %w", err)
	}
	sf, err := sfnt.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse font %s: %w", path, err)
	}
	cell, err := cellHeight(data)
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", path, err)
	}
	return &face{path: path, font: sf, emPerSize: float64(sf.UnitsPerEm()) / float64(cell)}, nil
}

// matchFont asks fc-match for the file of family, and refuses fontconfig's
// substitute when the family is not installed.
func matchFont(family string, bold bool) (string, error) {
	pattern := fcEscape(family)
	if bold {
		pattern += ":bold"
	}
	// A cold fontconfig cache can take seconds to build; never forever.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "fc-match", "-f", "%{file}\n%{family}\n", pattern).Output()
	if err != nil {
		return "", fmt.Errorf("fc-match %q: %w", pattern, err)
	}
	file, families, _ := strings.Cut(string(out), "\n")
	for _, f := range strings.Split(strings.TrimSpace(families), ",") {
		if strings.EqualFold(strings.TrimSpace(f), family) && file != "" {
			return file, nil
		}
	}
	return "", fmt.Errorf("font %q is not installed (fontconfig offers %q)", family, strings.TrimSpace(families))
}

// fcEscape escapes the characters that are special in a fontconfig pattern.
func fcEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `-`, `\-`, `:`, `\:`, `,`, `\,`).Replace(s)
}

// cellHeight returns the height libass gives the font size to: the OS/2
// usWinAscent+usWinDescent, or the hhea ascender-descender without them.
// sfnt does not expose these, so read the two tables directly.
func cellHeight(data []byte) (int, error) {
	if len(data) < 12 {
		return 0, errors.New("font file too short")
	}
	n := int(binary.BigEndian.Uint16(data[4:]))
	table := func(tag string) []byte {
		for i := range n {
			rec := 12 + 16*i
			if rec+16 > len(data) {
				return nil
			}
			if !bytes.Equal(data[rec:rec+4], []byte(tag)) {
				continue
			}
			off := int(binary.BigEndian.Uint32(data[rec+8:]))
			size := int(binary.BigEndian.Uint32(data[rec+12:]))
			if off < 0 || size < 0 || off+size > len(data) {
				return nil
			}
			return data[off : off+size]
		}
		return nil
	}
	if os2 := table("OS/2"); len(os2) >= 78 {
		// libass reads these as signed shorts.
		asc := int(int16(binary.BigEndian.Uint16(os2[74:])))
		desc := int(int16(binary.BigEndian.Uint16(os2[76:])))
		if asc+desc > 0 {
			return asc + desc, nil
		}
	}
	if hhea := table("hhea"); len(hhea) >= 8 {
		asc := int(int16(binary.BigEndian.Uint16(hhea[4:])))
		desc := int(int16(binary.BigEndian.Uint16(hhea[6:])))
		if asc-desc > 0 {
			return asc - desc, nil
		}
	}
	return 0, errors.New("no usable OS/2 or hhea metrics")
}

// estimateWidth is the width of s at a font size of 1 when there is no font
// file to measure. It errs wide: real ems are smaller than the libass size,
// and these per-rune widths are at the top of what sans fonts use.
func estimateWidth(s string) float64 {
	var w float64
	for _, r := range s {
		switch {
		case r == ' ':
			w += 0.32
		case unicode.IsUpper(r) || unicode.IsDigit(r):
			w += 0.75
		case unicode.IsLower(r):
			w += 0.62
		case unicode.IsPunct(r):
			w += 0.4
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
		default:
			w += 1
		}
	}
	return w
}

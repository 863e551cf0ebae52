package transcript

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNoWords is returned (wrapped) by Load when a file holds no words: a
// clip cannot be cut from an empty transcript, so this is never silent.
var ErrNoWords = errors.New("has no words")

// ParseError is a problem at a place in a transcript file.
type ParseError struct {
	File string // set by Load; empty for the Parse functions
	Line int    // 1-based; 0 when the problem has no single line
	Err  error
}

func (e *ParseError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

func lineError(line int, format string, args ...any) error {
	return &ParseError{Line: line, Err: fmt.Errorf(format, args...)}
}

// Load reads a transcript file: SubRip (.srt), WebVTT (.vtt) or JSON
// (.json), chosen by extension, or by content when the extension is
// something else.
func Load(path string) (Transcript, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Transcript{}, fmt.Errorf("read transcript: %w", err)
	}
	t, err := parseBytes(b, filepath.Ext(path))
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && pe.File == "" {
			pe.File = path
			return Transcript{}, pe
		}
		return Transcript{}, &ParseError{File: path, Err: err}
	}
	if len(t.Words) == 0 {
		return Transcript{}, &ParseError{File: path, Err: ErrNoWords}
	}
	return t, nil
}

func parseBytes(b []byte, ext string) (Transcript, error) {
	text := decodeText(b)
	if strings.TrimSpace(text) == "" {
		return Transcript{}, ErrNoWords
	}
	format := strings.ToLower(strings.TrimPrefix(ext, "."))
	switch format {
	case "srt", "vtt", "json":
	default:
		format = sniff(text)
		if format == "" {
			return Transcript{}, errors.New("unknown transcript format: want SubRip, WebVTT or JSON")
		}
	}
	switch format {
	case "srt":
		words, err := parseSRT(text)
		return Transcript{Words: words}, err
	case "vtt":
		words, lang, err := parseVTT(text)
		return Transcript{Language: lang, Words: words}, err
	default:
		return parseJSON(text)
	}
}

// sniff names the format of a file's text, or returns "".
func sniff(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "WEBVTT"):
		return "vtt"
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "["):
		return "json"
	case strings.Contains(s, "-->"):
		return "srt"
	}
	return ""
}

// decodeText turns a subtitle file's bytes into a string. Subtitle files in
// the wild come as UTF-8 (with or without BOM), UTF-16 from Windows tools,
// and Windows-1252 from old rippers; anything that is not valid UTF-8 is
// taken to be Windows-1252. Line ends become "\n".
func decodeText(b []byte) string {
	var s string
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		s = string(b[3:])
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		s = decodeUTF16(b[2:], false)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		s = decodeUTF16(b[2:], true)
	case utf8.Valid(b):
		s = string(b)
	default:
		s = decodeWindows1252(b)
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u))
}

// windows1252 holds the characters of 0x80-0x9F, where Windows-1252 differs
// from Latin-1 (curly quotes, dashes, ellipsis, euro).
var windows1252 = [32]rune{
	'€', '\u0081', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u008D', 'Ž', '\u008F',
	'\u0090', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u009D', 'ž', 'Ÿ',
}

func decodeWindows1252(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for _, c := range b {
		if c >= 0x80 && c < 0xA0 {
			sb.WriteRune(windows1252[c-0x80])
		} else {
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// readText reads all of r and decodes it.
func readText(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("read transcript: %w", err)
	}
	return decodeText(b), nil
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	quiet := newProgressBar(&b)
	quiet.Progress("render", 50)
	quiet.finish()
	if b.Len() != 0 {
		t.Fatalf("a non-terminal got %q", b.String())
	}

	bar := &progressBar{w: &b, on: true, last: -1}
	bar.Progress("transcript", 40)
	bar.Progress("transcript", 40) // unchanged: nothing drawn
	bar.Progress("render", 30)     // never moves backwards
	bar.finish()
	out := b.String()
	if strings.Count(out, "\r[") != 2 || !strings.Contains(out, " 40% transcript") || !strings.Contains(out, " 40% render") {
		t.Fatalf("drew %q", out)
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Fatalf("finish did not clear the line: %q", out)
	}
}

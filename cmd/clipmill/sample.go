package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/sample"
)

func sampleCmd(args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	seconds := fs.Float64("seconds", 180, "length of the talk; the script loops to reach it")
	size := fs.String("size", "1280x720", "frame size, WIDTHxHEIGHT")
	face := fs.String("face", "", "an image to overlay as the speaker (a photo of a face shows face-tracked crops)")
	noAudio := fs.Bool("no-audio", false, "make a silent video")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: clipmill sample OUT.mp4 [flags]\n\nWrites OUT.mp4 and OUT.srt, the exact transcript.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"sample takes one OUT.mp4"}
	}
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w < 16 || h < 16 || w%2 != 0 || h%2 != 0 {
		return usageError{fmt.Sprintf("--size: %q is not an even WIDTHxHEIGHT such as 1280x720", *size)}
	}
	res, err := sample.Generate(context.Background(), ffmpeg.Binaries{}, sample.Options{
		Seconds: *seconds, Width: w, Height: h, Face: *face, NoAudio: *noAudio, Out: pos[0],
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%.0f s, %d sentences)\n%s\n", res.Video, res.Duration, len(res.Sentences), res.SRT)
	return nil
}

// Command bench measures clipmill on a generated 10-minute talk (make bench).
//
// It clips the talk twice, once with its transcript file and once with
// pocketsphinx, and prints per-stage wall times and real-time factors, the
// render time over plain ffmpeg's time for the same cuts with the same
// encoder settings (the floor, measured in the same run), the speed-up of
// recognition on all cores over one, and the peak memory of the clipmill
// process. Figures are ratios against floors measured here, so they hold
// from machine to machine. Then it holds the reframe stage to its figures
// on generated videos whose truth is known (-reframe-only: that alone).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/speech"
	"github.com/clipmill/clipmill/internal/sample"
)

type stats struct {
	WallSeconds           float64            `json:"wall_seconds"`
	ClipsWallSeconds      float64            `json:"clips_wall_seconds"`
	SourceDurationSeconds float64            `json:"source_duration_seconds"`
	Stages                map[string]float64 `json:"stages_seconds"`
	PeakRSSBytes          int64              `json:"peak_rss_bytes"`
	Clips                 []struct {
		Start float64 `json:"start"`
		Dur   float64 `json:"duration"`
	} `json:"clips"`
}

func main() {
	minutes := flag.Float64("minutes", 10, "length of the generated talk")
	durations := flag.String("duration", "30,60,180", "clip lengths to ask for")
	preset := flag.String("x264-preset", "veryfast", "x264 preset for clipmill and the floor alike")
	dir := flag.String("dir", "bench-out", "working folder (kept, so the talk is made once)")
	reframeOnly := flag.Bool("reframe-only", false, "measure only the reframe stage")
	selectOnly := flag.Bool("select-only", false, "measure only the selection stage (make bench-select)")
	flag.Parse()
	var err error
	switch {
	case *selectOnly:
		err = selectFigures()
	case *reframeOnly:
		err = reframeFigures(context.Background(), "bin/clipmill", *dir)
	default:
		err = run(*minutes, *durations, *preset, *dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(minutes float64, durations, preset, dir string) error {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin, err := filepath.Abs("bin/clipmill")
	if err != nil {
		return err
	}
	talk := filepath.Join(dir, fmt.Sprintf("talk-face-%gmin.mp4", minutes))
	srt := talk[:len(talk)-4] + ".srt"
	if _, err := os.Stat(talk); err != nil {
		// A face makes the reframe stage do its real work: find it per
		// shot and crop around it.
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/esimov/pigo").Output()
		if err != nil {
			return fmt.Errorf("find pigo's sample face: %w", err)
		}
		face := filepath.Join(strings.TrimSpace(string(out)), "testdata", "sample.jpg")
		fmt.Printf("making a %g-minute talk (1280x720, with a face) ...\n", minutes)
		if _, err := sample.Generate(ctx, ffmpeg.Binaries{}, sample.Options{Seconds: minutes * 60, Face: face, Out: talk}); err != nil {
			return err
		}
	}
	fmt.Printf("machine: %d cores, %s\n\n", runtime.NumCPU(), runtime.GOARCH)

	for _, mode := range []struct{ name, transcript string }{{"transcript file", srt}, {"pocketsphinx", ""}} {
		out := filepath.Join(dir, "clips-"+map[bool]string{true: "file", false: "sphinx"}[mode.transcript != ""])
		os.RemoveAll(out)
		statsPath := filepath.Join(dir, "stats.json")
		args := []string{"clip", talk, "--duration", durations, "--x264-preset", preset, "--out", out, "--stats", statsPath}
		if mode.transcript != "" {
			args = append(args, "--transcript", mode.transcript)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("clipmill %v: %w", args, err)
		}
		wall := time.Since(start).Seconds()
		childRSS := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
		var st stats
		b, err := os.ReadFile(statsPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		floor, err := plainFFmpeg(ctx, talk, st, preset, filepath.Join(dir, "floor"))
		if err != nil {
			return err
		}
		report(mode.name, st, wall, floor, childRSS)
	}
	if err := recognitionScaling(ctx, talk, dir); err != nil {
		return err
	}
	if err := selectFigures(); err != nil {
		return err
	}
	return reframeFigures(ctx, bin, dir)
}

// plainFFmpeg is the floor: the same cuts, seeked the same way, scaled to
// the same frame, with the same encoder settings, run with the same
// parallelism, and nothing else (no reframe analysis, no captions, no
// loudness pass, no thumbnail).
func plainFFmpeg(ctx context.Context, talk string, st stats, preset, dir string) (float64, error) {
	os.MkdirAll(dir, 0o755)
	enc := render.Encoder{Preset: preset}
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for i, c := range st.Clips {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			args := []string{"-nostdin", "-v", "error", "-y", "-ss", ffmpeg.Seconds(c.Start), "-t", ffmpeg.Seconds(c.Dur), "-i", talk,
				"-vf", "scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920,setsar=1"}
			args = append(args, enc.VideoArgs(25)...)
			args = append(args, render.AudioArgs()...)
			args = append(args, "-movflags", "+faststart", filepath.Join(dir, fmt.Sprintf("%d.mp4", i)))
			if err := (ffmpeg.Binaries{}).Run(ctx, 0, args...); err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return time.Since(start).Seconds(), firstErr
}

func report(name string, st stats, wall, floor float64, childRSS int64) {
	src := st.SourceDurationSeconds
	fmt.Printf("== clipmill with %s: %.0f s source, %d clips\n", name, src, len(st.Clips))
	keys := make([]string, 0, len(st.Stages))
	for k := range st.Stages {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return order(keys[i]) < order(keys[j]) })
	fmt.Printf("  %-12s %9s %9s\n", "stage", "wall s", "x source")
	for _, k := range keys {
		fmt.Printf("  %-12s %9.2f %9.4f\n", k, st.Stages[k], st.Stages[k]/src)
	}
	fmt.Printf("  %-12s %9.2f %9.4f   (process wall %.2f s)\n", "total", st.WallSeconds, st.WallSeconds/src, wall)
	fmt.Printf("  render phase %.2f s; plain ffmpeg, same cuts and encoder: %.2f s; ratio %.2f (aim <= 1.2)\n",
		st.ClipsWallSeconds, floor, st.ClipsWallSeconds/floor)
	// Overhead: everything but recognition and the encoding floor.
	recog := st.Stages["transcript"]
	overhead := st.WallSeconds - recog - floor
	fmt.Printf("  engine overhead (wall - recognition - encoding floor): %.2f s = %.1f%% of wall (aim < 5%%)\n",
		overhead, 100*overhead/st.WallSeconds)
	fmt.Printf("  peak memory: clipmill process %.0f MB; largest process in its tree %.0f MB\n\n",
		float64(st.PeakRSSBytes)/1e6, float64(childRSS)/1e6)
}

func order(stage string) int {
	for i, s := range []string{"source", "audio", "transcript", "select", "reframe", "captions", "render", "thumbnail"} {
		if s == stage {
			return i
		}
	}
	return 99
}

// recognitionScaling times pocketsphinx over the same audio on one worker
// and on all cores.
func recognitionScaling(ctx context.Context, talk, dir string) error {
	work := filepath.Join(dir, "recog")
	os.RemoveAll(work)
	os.MkdirAll(work, 0o755)
	track, err := audio.Extract(ctx, ffmpeg.Binaries{}, talk, work, 0)
	if err != nil {
		return err
	}
	times := map[int]float64{}
	for _, n := range []int{1, runtime.NumCPU()} {
		p := speech.Parallel{Recognizer: speech.Sphinx{}, Workers: n, Target: 60, Max: 600, Dir: work}
		start := time.Now()
		if _, err := p.Transcribe(ctx, track, "en", nil); err != nil {
			return err
		}
		times[n] = time.Since(start).Seconds()
	}
	n := runtime.NumCPU()
	fmt.Printf("== recognition of %.0f s of audio: 1 worker %.1f s (%.2fx real time), %d workers %.1f s (%.2fx); speed-up %.2f (aim >= 1.7 on 2 cores)\n",
		track.Duration(), times[1], times[1]/track.Duration(), n, times[n], times[n]/track.Duration(), times[1]/times[n])
	return nil
}

// Package source is the first stage: it brings the input to a local file and
// probes it, refusing with one clear line a file that cannot be clipped.
package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/httpx"
	"github.com/clipmill/clipmill/internal/netguard"
)

// Error is something wrong with the input itself, as opposed to a failure of
// the machine. Its message is meant for the user.
type Error struct {
	Name string // the file or URL as the user gave it
	Msg  string
}

func (e *Error) Error() string { return e.Name + ": " + e.Msg }

func badInput(name, format string, args ...any) error {
	return &Error{Name: name, Msg: fmt.Sprintf(format, args...)}
}

// Limits bound a download.
type Limits struct {
	MaxBytes  int64         // 0: no limit
	Timeout   time.Duration // 0: no limit
	AllowHTTP bool          // permit plain http (local use)
}

// Fetch returns a local path for input: a local file as it is, or an http(s)
// URL downloaded into dir. client may be nil for http.DefaultClient; the
// server passes one that refuses private addresses.
func Fetch(ctx context.Context, input, dir string, lim Limits, client *http.Client) (string, error) {
	if !strings.Contains(input, "://") {
		st, err := os.Stat(input)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", badInput(input, "no such file")
			}
			return "", badInput(input, "cannot read: %v", errors.Unwrap(err))
		}
		if st.IsDir() {
			return "", badInput(input, "is a directory, not a video file")
		}
		return input, nil
	}
	u, err := url.Parse(input)
	if err != nil || u.Host == "" {
		return "", badInput(DisplayName(input), "is not a valid URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && lim.AllowHTTP) {
		return "", badInput(redact(u), "only https URLs are supported")
	}
	if client == nil {
		client = http.DefaultClient
	}
	if lim.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lim.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, input, nil)
	if err != nil {
		return "", badInput(redact(u), "is not a valid URL")
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", badInput(redact(u), "%s", downloadFailure(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", badInput(redact(u), "download failed: HTTP %d", resp.StatusCode)
	}
	if lim.MaxBytes > 0 && resp.ContentLength > lim.MaxBytes {
		return "", badInput(redact(u), "is %d bytes, over the limit of %d", resp.ContentLength, lim.MaxBytes)
	}
	ext := strings.ToLower(path.Ext(u.Path))
	if len(ext) > 6 || strings.ContainsAny(ext, `/\`) {
		ext = ""
	}
	dst := filepath.Join(dir, "source"+ext)
	f, err := os.Create(dst)
	if err != nil {
		return "", fmt.Errorf("create download file: %w", err)
	}
	body := io.Reader(resp.Body)
	if lim.MaxBytes > 0 {
		body = io.LimitReader(resp.Body, lim.MaxBytes+1)
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		if ctx.Err() != nil {
			return "", badInput(redact(u), "download timed out")
		}
		return "", badInput(redact(u), "download failed: %v", err)
	}
	if lim.MaxBytes > 0 && n > lim.MaxBytes {
		os.Remove(dst)
		return "", badInput(redact(u), "is over the limit of %d bytes", lim.MaxBytes)
	}
	return dst, nil
}

// DisplayName is how an input is named in messages and logs: a URL loses
// its query and user info, which for presigned URLs hold credentials.
func DisplayName(input string) string {
	if !strings.Contains(input, "://") {
		return input
	}
	u, err := url.Parse(input)
	if err != nil {
		return "the source URL"
	}
	return redact(u)
}

// redact drops the query, which for presigned URLs holds credentials.
func redact(u *url.URL) string { return httpx.WithoutQuery(u.String()) }

// downloadFailure says why a download failed without telling what the
// server's network looks like inside: which names resolve, to which
// private addresses, which ports answer.
func downloadFailure(ctx context.Context, err error) string {
	var dns *net.DNSError
	switch {
	case ctx.Err() != nil:
		return "download timed out"
	case errors.Is(err, netguard.ErrBlocked):
		return "is on an address this server does not fetch from (loopback, private, link-local or similar)"
	case errors.As(err, &dns):
		return "download failed: its host name could not be resolved"
	}
	return "download failed: the connection to its host failed"
}

// Info is what the later stages need to know about the source.
type Info struct {
	Path     string
	Title    string  // the container's title tag, else the file name
	Duration float64 // seconds
	Width    int     // display size: after rotation, in square pixels
	Height   int
	// SAR is the width of a pixel over its height: 1 for most video, 4/3
	// for a 1440x1080 source shown as 16:9. Width already accounts for it.
	SAR      float64
	FPS      float64
	HasAudio bool
	Size     int64
}

// Probe reads the file's streams with ffprobe and refuses files that cannot
// be clipped: not media, no video stream, zero length, truncated.
//
// p may be a URL that ffmpeg reads with ranges (a presigned S3 URL, on
// AWS), so that probing does not download the source.
func Probe(ctx context.Context, bin ffmpeg.Binaries, name, p string) (Info, error) {
	var size int64
	remote := strings.Contains(p, "://")
	if !remote {
		st, err := os.Stat(p)
		if err != nil {
			return Info{}, badInput(name, "cannot read: %v", err)
		}
		if st.Size() == 0 {
			return Info{}, badInput(name, "is empty (0 bytes)")
		}
		size = st.Size()
	}
	out, err := bin.Probe(ctx, time.Minute, "-v", "error", "-print_format", "json",
		"-show_format", "-show_streams", p)
	if err != nil {
		var fe *ffmpeg.Error
		if errors.As(err, &fe) && fe.TimedOut {
			return Info{}, badInput(name, "could not be read in time (ffprobe timed out)")
		}
		if errors.As(err, &fe) && strings.Contains(fe.Stderr, "moov atom not found") && !remote && hasFtyp(p) {
			return Info{}, badInput(name, "is truncated: its index (moov atom) is missing")
		}
		return Info{}, badInput(name, "is not a media file that ffprobe can read")
	}
	info, err := parseProbe(out)
	if err != nil {
		return Info{}, badInput(name, "%v", err)
	}
	info.Path = p
	info.Size = size
	if info.Title == "" {
		base := filepath.Base(name)
		if u, err := url.Parse(name); err == nil && u.Host != "" {
			base = path.Base(u.Path)
		}
		info.Title = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if err := checkTail(ctx, bin, p, info.Duration); err != nil {
		return Info{}, badInput(name, "%v", err)
	}
	return info, nil
}

// hasFtyp reports whether the file starts like an MP4/MOV: such a file whose
// index is missing was cut short, while anything else is not media at all.
func hasFtyp(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [8]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return string(b[4:8]) == "ftyp"
}

type probeJSON struct {
	Streams []struct {
		CodecType    string            `json:"codec_type"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		SAR          string            `json:"sample_aspect_ratio"`
		RFrameRate   string            `json:"r_frame_rate"`
		Duration     string            `json:"duration"`
		Disposition  map[string]int    `json:"disposition"`
		Tags         map[string]string `json:"tags"`
		SideData     []struct {
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		Name     string            `json:"format_name"` // "mov,mp4,m4a,3gp,3g2,mj2"
		Duration string            `json:"duration"`
		Tags     map[string]string `json:"tags"`
	} `json:"format"`
}

// notMedia says why ffprobe's reading of a file is not one of a video,
// or "" when it may be one. ffprobe reads a .txt file as a few frames of
// ANSI art, and an image as a video of one frame, whose short duration
// would otherwise be reported as "too short to clip".
func notMedia(pj probeJSON) string {
	for _, f := range strings.Split(pj.Format.Name, ",") {
		switch {
		case f == "tty" || f == "bin" || f == "xbin" || f == "adf" || f == "idf":
			return "is not a media file: it holds text"
		case f == "image2" || strings.HasSuffix(f, "_pipe"):
			return "is a still image, not a video"
		}
	}
	for _, s := range pj.Streams {
		if s.CodecType == "video" || s.CodecType == "audio" {
			return ""
		}
	}
	return "is not a media file: it has no video or audio"
}

// parseProbe turns ffprobe's JSON into Info; it is pure so tests can feed it.
func parseProbe(data []byte) (Info, error) {
	var pj probeJSON
	if err := json.Unmarshal(data, &pj); err != nil {
		return Info{}, fmt.Errorf("ffprobe output unreadable: %v", err)
	}
	if why := notMedia(pj); why != "" {
		return Info{}, errors.New(why)
	}
	var info Info
	video := false
	for _, s := range pj.Streams {
		switch s.CodecType {
		case "audio":
			info.HasAudio = true
		case "video":
			// Cover art in an audio file is a video stream of one picture.
			if video || s.Disposition["attached_pic"] == 1 || s.Width == 0 {
				continue
			}
			video = true
			info.Width, info.Height = s.Width, s.Height
			// Non-square pixels: the display width is the stored one times
			// the pixel's aspect (reframing works in display pixels).
			info.SAR = 1
			if n, d, ok := strings.Cut(s.SAR, ":"); ok {
				num, e1 := strconv.Atoi(n)
				den, e2 := strconv.Atoi(d)
				if e1 == nil && e2 == nil && num > 0 && den > 0 && num != den {
					info.SAR = float64(num) / float64(den)
					info.Width = int(math.Round(float64(s.Width)*info.SAR/2)) * 2
				}
			}
			rot := 0.0
			if r, err := strconv.ParseFloat(s.Tags["rotate"], 64); err == nil {
				rot = r
			}
			for _, sd := range s.SideData {
				if sd.Rotation != 0 {
					rot = sd.Rotation
				}
			}
			if int(math.Abs(math.Round(rot)))%180 == 90 {
				info.Width, info.Height = info.Height, info.Width
			}
			info.FPS = rate(s.AvgFrameRate)
			if info.FPS <= 0 || info.FPS > 240 {
				info.FPS = rate(s.RFrameRate)
			}
			if d, err := strconv.ParseFloat(s.Duration, 64); err == nil {
				info.Duration = d
			}
		}
	}
	if !video {
		if info.HasAudio {
			return Info{}, errors.New("has no video stream (it is audio only)")
		}
		return Info{}, errors.New("has no video stream")
	}
	if d, err := strconv.ParseFloat(pj.Format.Duration, 64); err == nil && d > 0 {
		info.Duration = d
	}
	if math.IsNaN(info.Duration) || info.Duration <= 0 {
		return Info{}, errors.New("has zero length (no duration)")
	}
	if info.Duration < 1 {
		return Info{}, fmt.Errorf("is too short to clip (%.2f s)", info.Duration)
	}
	if info.FPS <= 0 || info.FPS > 240 {
		info.FPS = 30
	}
	for k, v := range pj.Format.Tags {
		if strings.EqualFold(k, "title") {
			info.Title = strings.TrimSpace(v)
		}
	}
	return info, nil
}

func rate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err1 := strconv.ParseFloat(num, 64)
	if !ok {
		if err1 != nil {
			return 0
		}
		return n
	}
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 {
		return 0
	}
	return n / d
}

// checkTail decodes the last seconds of the video: a file cut short in
// transit still probes (its index is at the front) but fails here.
func checkTail(ctx context.Context, bin ffmpeg.Binaries, p string, dur float64) error {
	start := math.Max(0, dur-1.5)
	err := bin.Run(ctx, time.Minute, "-nostdin", "-v", "error", "-xerror",
		"-ss", ffmpeg.Seconds(start), "-i", p, "-map", "0:v:0", "-f", "null", "-")
	if err == nil {
		return nil
	}
	var fe *ffmpeg.Error
	if errors.As(err, &fe) && fe.TimedOut {
		return errors.New("could not be decoded in time")
	}
	return fmt.Errorf("is truncated or damaged: its last seconds cannot be decoded")
}

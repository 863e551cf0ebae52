package local

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/heygen"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// The test binary doubles as `clipmill local`, so that a test can kill a
// real process (as the os/exec tests in the Go tree fake a subprocess).
func TestMain(m *testing.M) {
	if data := os.Getenv("CLIPMILL_LOCAL_DATA"); data != "" {
		if err := child(data, os.Getenv("CLIPMILL_LOCAL_S3"), os.Getenv("CLIPMILL_LOCAL_ONCE") != ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs the pipeline on a data folder, prints the API's URL, and
// runs until killed, or with once until it is idle.
func child(data, s3Addr string, once bool) error {
	ctx := context.Background()
	l, err := Start(ctx, Config{
		DataDir: data, S3Addr: s3Addr,
		Defaults: clipping.CreateRequest{OutputSettings: clipping.OutputSettings{DurationTypes: []clipping.DurationType{clipping.Duration30}, AspectRatio: clipping.AspectSquare, Captions: true}},
		PollMin:  200 * time.Millisecond, PollMax: time.Second, MaxAttempts: 2000, JobTimeout: 5 * time.Minute,
		Scan: 200 * time.Millisecond, Encoder: render.Encoder{Preset: "ultrafast"},
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return err
	}
	fmt.Printf("api %s\n", l.APIURL)
	if !once {
		select {}
	}
	if err := l.Idle(ctx); err != nil {
		return err
	}
	return l.Close()
}

// startChild starts the test binary as `clipmill local` and returns it
// with its API's URL. Its log goes to log.
func startChild(t *testing.T, data, s3Addr string, once bool, log *os.File) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CLIPMILL_LOCAL_DATA="+data, "CLIPMILL_LOCAL_S3="+s3Addr)
	if once {
		cmd.Env = append(cmd.Env, "CLIPMILL_LOCAL_ONCE=1")
	}
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	line, err := bufio.NewReader(out).ReadString('\n')
	api, ok := strings.CutPrefix(strings.TrimSpace(line), "api ")
	if err != nil || !ok {
		t.Fatalf("the child said %q: %v", line, err)
	}
	return cmd, api
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// executions reads what executions.json keeps.
func executions(t *testing.T, data string) map[string]execution {
	t.Helper()
	out := map[string]execution{}
	b, err := os.ReadFile(filepath.Join(data+".state", "executions.json"))
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("executions.json: %v", err)
	}
	return out
}

// Killed mid-job: `clipmill local` gets SIGKILL while the job runs, starts
// again on the same folder, and the video ends with exactly one manifest
// and one set of clips.
func TestKilledMidJob(t *testing.T) {
	sampletest.EndToEnd(t)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "bucket")
	if err := os.MkdirAll(filepath.Join(data, "inbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	sampletest.Talk(t, sample.Options{Seconds: 35, Out: filepath.Join(data, "inbox", "talk.mp4")})
	log, err := os.Create(filepath.Join(tmp, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("the children's log:\n%s", b)
		}
	}()
	// The same S3 address across restarts, as --s3-addr gives: the job
	// holds a presigned URL to it.
	s3Addr := freeAddr(t)

	first, api := startChild(t, data, s3Addr, false, log)
	key, err := os.ReadFile(filepath.Join(data+".state", "server", "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	// Killed after transcription, while the clip is made (progress 50).
	backend := &heygen.Client{BaseURL: api, APIKey: strings.TrimSpace(string(key))}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatal("the job never got going")
		}
		time.Sleep(100 * time.Millisecond)
		var job clipping.Job
		for _, ex := range executions(t, data) {
			job, err = backend.Get(context.Background(), ex.Input.JobID)
		}
		if err == nil && job.Status == clipping.JobRunning && job.Progress >= 50 {
			break
		}
		if job.Status == clipping.JobCompleted || job.Status == clipping.JobFailed {
			t.Fatalf("the job ended (%s) before it could be killed", job.Status)
		}
	}
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	first.Wait()
	manifest := filepath.Join(data, pipeline.ManifestKey("talk"))
	if _, err := os.Stat(manifest); err == nil {
		t.Fatal("the manifest was written before the kill")
	}

	second, _ := startChild(t, data, s3Addr, true, log)
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the second run: %v", err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("the second run did not finish")
	}

	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Status != "completed" || len(m.Clips) == 0 {
		t.Fatalf("manifest %s: %v", b, err)
	}
	// Exactly one manifest, and in its folder nothing but its clips' files.
	want := []string{"talk/manifest.json"}
	for _, c := range m.Clips {
		for _, f := range c.Files {
			want = append(want, strings.TrimPrefix(f, "s3://"+Bucket+"/clips/"))
		}
	}
	var got []string
	filepath.WalkDir(filepath.Join(data, "clips"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(data, "clips"), p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("clips/ holds %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(data, pipeline.FailureKey("talk"))); err == nil {
		t.Error("a failure record was written too")
	}
	exs := executions(t, data)
	for name, ex := range exs {
		if !ex.Done || path.Base(ex.Input.Source.Key) != "talk.mp4" {
			t.Errorf("execution %s: %+v", name, ex)
		}
	}
	if len(exs) != 1 {
		t.Errorf("%d executions, want the one resumed", len(exs))
	}
}

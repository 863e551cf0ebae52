package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/clipmill/clipmill/internal/engine/llm"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/netguard"
	"github.com/clipmill/clipmill/internal/server"
)

func serveCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var (
		addr        = fs.String("addr", "127.0.0.1:8080", "HOST:PORT to listen on")
		data        = fs.String("data", "clipmill-data", "folder for the database, uploads, clips and secrets")
		rateLimit   = fs.Float64("rate-limit", 10, "requests per second per API key (burst: twice that); 0 turns it off")
		maxUpload   = fs.Int64("max-upload", 2<<30, "largest asset upload, in bytes")
		workers     = fs.Int("workers", 1, "jobs to run at once (each job already uses every core)")
		jobTimeout  = fs.Duration("job-timeout", 2*time.Hour, "fail a job that runs longer than this")
		publicURL   = fs.String("public-url", "", "base URL of this server in the links it hands out (default http://ADDR)")
		urlTTL      = fs.Duration("url-ttl", 7*24*time.Hour, "how long clip links stay valid")
		allow       = fs.String("allow", "", "comma-separated hosts that sources and webhooks may reach even on private addresses, and \"http\" to permit plain http (for local use)")
		maxDownload = fs.Int64("max-download", 20<<30, "largest source to download from a URL, in bytes")
		dlTimeout   = fs.Duration("download-timeout", time.Hour, "longest a source download may take")
		preset      = fs.String("x264-preset", "veryfast", "x264 preset for the clips")
		llmURL      = fs.String("llm-url", "", "base URL of an OpenAI-compatible chat-completions API (Ollama, llama.cpp, vLLM, OpenAI) to choose the clips and write titles and hashtags; empty: off. The key is read from CLIPMILL_LLM_KEY")
		llmModel    = fs.String("llm-model", llm.DefaultModel, "model name for --llm-url")
		verbose     = fs.Bool("v", false, "log every request")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: clipmill serve [flags]\n\nServes the AI Clipping API (HeyGen-compatible). API keys come from\nCLIPMILL_API_KEYS (comma-separated); with none, a key is generated and kept\nin the data folder. The webhook signing secret comes from\nCLIPMILL_WEBHOOK_SECRET, or is generated and kept there too.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"serve takes no arguments; see clipmill serve -h"}
	}
	model, err := llmClient(*llmURL, *llmModel)
	if err != nil {
		return err
	}
	policy := netguard.Policy{}
	for _, h := range strings.Split(*allow, ",") {
		switch h = strings.TrimSpace(h); {
		case h == "":
		case strings.EqualFold(h, "http"):
			policy.AllowHTTP = true
		default:
			policy.AllowHosts = append(policy.AllowHosts, h)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var keys []string
	for _, k := range strings.Split(os.Getenv("CLIPMILL_API_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usageError{fmt.Sprintf("--addr: %v", err)}
	}
	if *publicURL == "" {
		*publicURL = "http://" + ln.Addr().String()
	}
	srv, err := server.Open(server.Config{
		DataDir: *data, PublicURL: *publicURL, Keys: keys, RateLimit: *rateLimit, MaxUpload: *maxUpload,
		Workers: *workers, JobTimeout: *jobTimeout, URLTTL: *urlTTL, Guard: policy,
		MaxDownload: *maxDownload, DownloadTimeout: *dlTimeout,
		WebhookSecret: []byte(os.Getenv("CLIPMILL_WEBHOOK_SECRET")),
		Encoder:       render.Encoder{Preset: *preset}, LLM: model, Log: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	work, cancelWork := context.WithCancel(context.Background())
	if err := srv.Start(work); err != nil {
		cancelWork()
		srv.Close()
		return err
	}
	if srv.GeneratedKey != "" {
		// Printed once, here; it stays in the key file.
		fmt.Fprintf(stdout, "No CLIPMILL_API_KEYS set: generated an API key (kept in %s):\n  %s\n", srv.KeyFile, srv.GeneratedKey)
	} else if len(keys) == 0 {
		fmt.Fprintf(stdout, "Using the API key kept in %s\n", srv.KeyFile)
	}
	fmt.Fprintf(stdout, "clipmill serve: listening on %s (data in %s)\n", *publicURL, *data)

	hs := srv.HTTPServer() // with the timeouts for slow clients
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	// Running jobs stop here and are picked up again at the next start.
	cancelWork()
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/clipmill/clipmill/internal/heygen"
)

// The environment of each backend, as template.yaml sets it, makes the
// pipeline the functions run: the api backend reads its key from where
// API_KEY_SOURCE and API_KEY_ID say; the engine backend reads none (the
// stack has no key then) and starts the engine with RENDER_CONCURRENCY.
func TestFromEnv(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	clear := func(t *testing.T) {
		for _, k := range []string{"BACKEND", "BACKEND_URL", "API_KEY_SOURCE", "API_KEY_ID", "BUCKET_NAME", "STATE_MACHINE_ARN",
			"DEFAULT_SETTINGS", "SOURCE_MODE", "RENDER_CONCURRENCY", "MAX_POLL_ATTEMPTS"} {
			t.Setenv(k, "")
		}
		t.Setenv("BUCKET_NAME", "clipmill-123456789012-eu-west-1")
		t.Setenv("STATE_MACHINE_ARN", "arn:aws:states:eu-west-1:123456789012:stateMachine:m")
	}

	t.Run("engine", func(t *testing.T) {
		clear(t)
		t.Setenv("BACKEND", "engine")
		t.Setenv("RENDER_CONCURRENCY", "7")
		t.Setenv("API_KEY_ID", "") // as the template leaves it in engine mode
		p, err := fromConfig(context.Background(), cfg, func(context.Context, aws.Config, string, string) (string, error) {
			t.Error("the engine backend read an API key")
			return "", errors.New("no key")
		})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Engine || p.RenderConcurrency != 7 || p.BackendURL != BackendEngine || p.Uploader != nil || p.Starter == nil {
			t.Errorf("pipeline = %+v", p)
		}
		if p.Bucket.Name() != "clipmill-123456789012-eu-west-1" {
			t.Errorf("bucket %q", p.Bucket.Name())
		}
		// An execution of the api backend, left from before the switch,
		// is refused, not a nil pointer.
		_, err = p.Backend.Get(context.Background(), "job")
		var te *TerminalError
		if !errors.As(err, &te) {
			t.Errorf("Backend.Get = %v, want a TerminalError", err)
		}

		t.Setenv("RENDER_CONCURRENCY", "")
		if p, _ = fromConfig(context.Background(), cfg, nil); p.RenderConcurrency != 10 {
			t.Errorf("RenderConcurrency without RENDER_CONCURRENCY = %d, want 10", p.RenderConcurrency)
		}
	})

	t.Run("api", func(t *testing.T) {
		clear(t)
		t.Setenv("BACKEND", "api")
		t.Setenv("API_KEY_SOURCE", "ssm")
		t.Setenv("API_KEY_ID", "/clipmill/key")
		t.Setenv("BACKEND_URL", "https://clips.example.com")
		t.Setenv("SOURCE_MODE", "asset")
		var asked []string
		p, err := fromConfig(context.Background(), cfg, func(_ context.Context, _ aws.Config, src, id string) (string, error) {
			asked = append(asked, src+" "+id)
			return "the-key", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(asked, ",") != "ssm /clipmill/key" {
			t.Errorf("key read from %v", asked)
		}
		c, ok := p.Backend.(*heygen.Client)
		if !ok || c.APIKey != "the-key" || c.BaseURL != "https://clips.example.com" || p.Engine || p.Uploader == nil {
			t.Errorf("pipeline = %+v, backend %+v", p, p.Backend)
		}

		// BACKEND unset is the api backend, as before it existed.
		t.Setenv("BACKEND", "")
		if _, err := fromConfig(context.Background(), cfg, func(context.Context, aws.Config, string, string) (string, error) {
			return "", errors.New("secret not found")
		}); err == nil || !strings.Contains(err.Error(), "secret not found") {
			t.Errorf("a key that cannot be read: err = %v", err)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		clear(t)
		t.Setenv("BACKEND", "heygen")
		if _, err := fromConfig(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), `BACKEND "heygen"`) {
			t.Errorf("err = %v", err)
		}
	})
}

// A function without a variable it needs fails at init, naming it.
func TestFromEnvNamesAMissingVariable(t *testing.T) {
	t.Setenv("BUCKET_NAME", "")
	t.Setenv("STATE_MACHINE_ARN", "")
	_, err := FromEnv(context.Background(), "BUCKET_NAME")
	if err == nil || err.Error() != "BUCKET_NAME is not set: the function's Environment in template.yaml must set it" {
		t.Errorf("err = %v", err)
	}
	err = RequireEnv("BUCKET_NAME", "STATE_MACHINE_ARN")
	if err == nil || !strings.HasPrefix(err.Error(), "BUCKET_NAME, STATE_MACHINE_ARN are not set") {
		t.Errorf("err = %v", err)
	}
	t.Setenv("BUCKET_NAME", "b")
	if err := RequireEnv("BUCKET_NAME"); err != nil {
		t.Error(err)
	}
}

// An S3 endpoint override is an S3-compatible server: path-style
// addressing, which clipmill local's endpoint needs.
func TestS3ClientPathStyleWithAnEndpoint(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1"}
	if NewS3Client(cfg).Options().UsePathStyle {
		t.Error("path style without an endpoint override")
	}
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:9000")
	if !NewS3Client(cfg).Options().UsePathStyle {
		t.Error("virtual-hosted style with an endpoint override")
	}
}

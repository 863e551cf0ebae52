package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/heygen"
)

// FromEnv builds the pipeline a Lambda function runs, from the environment
// that template.yaml sets. With BACKEND=api (the default) the functions
// talk to a HeyGen-compatible API, whose key is read once, at cold start,
// from Secrets Manager or an SSM SecureString: never from a plain variable.
// With BACKEND=engine the stack's own engine clips the videos: submit
// starts the engine state machine (STATE_MACHINE_ARN) and no key is read.
//
// required names the variables the calling function cannot run without
// (submit: BUCKET_NAME and STATE_MACHINE_ARN; store: BUCKET_NAME): one
// that is unset fails here, at init, with its name, rather than as a
// puzzling S3 or Step Functions error at the first event.
func FromEnv(ctx context.Context, required ...string) (*Pipeline, error) {
	if err := RequireEnv(required...); err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return fromConfig(ctx, cfg, apiKey)
}

// keyReader reads the API key from where API_KEY_SOURCE and API_KEY_ID say.
type keyReader func(ctx context.Context, cfg aws.Config, src, id string) (string, error)

// Backends, as the template's Backend parameter names them (env BACKEND).
const (
	backendAPI    = "api"
	backendEngine = "engine"
)

func fromConfig(ctx context.Context, cfg aws.Config, readKey keyReader) (*Pipeline, error) {
	p := &Pipeline{
		Bucket:      &S3Bucket{Client: NewS3Client(cfg), Bucket: os.Getenv("BUCKET_NAME")},
		MaxAttempts: envInt("MAX_POLL_ATTEMPTS", 200),
		JobTimeout:  time.Duration(envInt("JOB_TIMEOUT_SECONDS", 14400)) * time.Second,
		PollMin:     time.Duration(envInt("POLL_MIN_SECONDS", 10)) * time.Second,
		PollMax:     time.Duration(envInt("POLL_MAX_SECONDS", 120)) * time.Second,
		URLExpiry:   time.Duration(envInt("URL_EXPIRY_SECONDS", 7*24*3600)) * time.Second,
		Retries:     3,
	}
	switch b := env("BACKEND", backendAPI); b {
	case backendEngine:
		// The key parameters are the api backend's: nothing to read.
		p.Engine, p.RenderConcurrency = true, envInt("RENDER_CONCURRENCY", 10)
		p.Backend, p.BackendURL = noBackend{}, BackendEngine
	case backendAPI:
		key, err := readKey(ctx, cfg, os.Getenv("API_KEY_SOURCE"), os.Getenv("API_KEY_ID"))
		if err != nil {
			return nil, err
		}
		backendURL := env("BACKEND_URL", heygen.DefaultBaseURL)
		backend := &heygen.Client{BaseURL: backendURL, APIKey: key}
		p.Backend, p.BackendURL = backend, backendURL
		if env("SOURCE_MODE", "url") == "asset" {
			p.Uploader = backend
		}
	default:
		return nil, fmt.Errorf("BACKEND %q: want %s or %s", b, backendAPI, backendEngine)
	}
	if arn := os.Getenv("STATE_MACHINE_ARN"); arn != "" {
		p.Starter = &SFNStarter{Client: sfn.NewFromConfig(cfg), StateMachineARN: arn}
	}
	p.Defaults = clipping.CreateRequest{OutputSettings: clipping.DefaultOutputSettings()}
	if s := os.Getenv("DEFAULT_SETTINGS"); s != "" {
		// The stack's defaults are output_settings, as the template's
		// parameter holds them.
		var err error
		if p.Defaults, err = clipping.DecodeSettings([]byte(`{"output_settings":`+s+`}`), clipping.Options{}); err != nil {
			return nil, fmt.Errorf("DEFAULT_SETTINGS: %w", err)
		}
	}
	return p, nil
}

// noBackend is the backend of a stack that runs the engine: its
// executions never ask an API (Store tells them by their Backend), so a
// call here is an execution of the other backend, left from before the
// stack switched, and no retry mends it.
type noBackend struct{}

func (noBackend) Create(context.Context, clipping.CreateRequest, string) (string, error) {
	return "", &TerminalError{Msg: "this stack runs Backend=engine: it has no clipping API to submit to"}
}

func (noBackend) Get(_ context.Context, id string) (clipping.Job, error) {
	return clipping.Job{}, &TerminalError{Msg: "job " + id + " belongs to a clipping API, and this stack now runs Backend=engine"}
}

// RequireEnv fails, naming them, when any of the variables is unset or
// empty.
func RequireEnv(names ...string) error {
	var missing []string
	for _, k := range names {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s is not set: the function's Environment in template.yaml must set it", missing[0])
	}
	return fmt.Errorf("%s are not set: the function's Environment in template.yaml must set them", strings.Join(missing, ", "))
}

// NewS3Client is the functions' S3 client. An endpoint override
// (AWS_ENDPOINT_URL_S3, or AWS_ENDPOINT_URL) points it at an S3-compatible
// server, such as clipmill local's, which serves buckets by path rather
// than as host names: path-style addressing then.
func NewS3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

func apiKey(ctx context.Context, cfg aws.Config, src, id string) (string, error) {
	if id == "" {
		return "", errors.New("API_KEY_ID is not set")
	}
	switch src {
	case "ssm":
		out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: &id, WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("read the API key from SSM: %w", err)
		}
		return strings.TrimSpace(aws.ToString(out.Parameter.Value)), nil
	case "secretsmanager", "":
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
		if err != nil {
			return "", fmt.Errorf("read the API key from Secrets Manager: %w", err)
		}
		return secretValue(aws.ToString(out.SecretString)), nil
	}
	return "", fmt.Errorf("API_KEY_SOURCE %q: want secretsmanager or ssm", src)
}

// secretValue takes a secret as the key itself, or as JSON with an
// "api_key" field (how the console stores key/value secrets).
func secretValue(s string) string {
	var kv map[string]string
	if json.Unmarshal([]byte(s), &kv) == nil {
		for _, k := range []string{"api_key", "apiKey", "API_KEY", "key"} {
			if v := kv[k]; v != "" {
				return strings.TrimSpace(v)
			}
		}
	}
	return strings.TrimSpace(s)
}

// SFNStarter starts Step Functions executions.
type SFNStarter struct {
	Client          *sfn.Client
	StateMachineARN string
}

// Start treats ExecutionAlreadyExists as success: the name is derived from
// the upload, so a redelivered event finds its execution already there.
func (s *SFNStarter) Start(ctx context.Context, name string, input Execution) error {
	b, err := json.Marshal(input)
	if err != nil {
		return err
	}
	_, err = s.Client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: &s.StateMachineARN, Name: &name, Input: aws.String(string(b)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

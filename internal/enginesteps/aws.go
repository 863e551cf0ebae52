package enginesteps

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/pipeline"
)

// FromEnv builds the steps of the engine's Lambda functions (the image
// function, functions/engine, and the transcribe function,
// functions/transcribe) from the environment template.yaml sets:
// BUCKET_NAME, and X264_PRESET for the clips (default veryfast). Their
// files go to Lambda's /tmp. The AWS configuration is returned for the
// clients a function adds (the transcribe function's Amazon Transcribe).
func FromEnv(ctx context.Context) (*Steps, aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, cfg, fmt.Errorf("aws config: %w", err)
	}
	s, err := fromConfig(cfg)
	return s, cfg, err
}

func fromConfig(cfg aws.Config) (*Steps, error) {
	if err := pipeline.RequireEnv("BUCKET_NAME"); err != nil {
		return nil, err
	}
	bucket := os.Getenv("BUCKET_NAME")
	scratch := os.Getenv("TMPDIR")
	if scratch == "" {
		scratch = "/tmp" // the only place a Lambda function may write
	}
	return &Steps{
		Bucket:  &pipeline.S3Bucket{Client: pipeline.NewS3Client(cfg), Bucket: bucket},
		Engine:  &engine.Engine{Encoder: render.Encoder{Preset: os.Getenv("X264_PRESET")}},
		Scratch: scratch,
	}, nil
}

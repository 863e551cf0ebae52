package enginesteps

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	bucket := os.Getenv("BUCKET_NAME")
	if bucket == "" {
		return nil, errors.New("BUCKET_NAME is not set")
	}
	scratch := os.Getenv("TMPDIR")
	if scratch == "" {
		scratch = "/tmp" // the only place a Lambda function may write
	}
	return &Steps{
		Bucket:  &pipeline.S3Bucket{Client: s3.NewFromConfig(cfg), Bucket: bucket},
		Engine:  &engine.Engine{Encoder: render.Encoder{Preset: os.Getenv("X264_PRESET")}},
		Scratch: scratch,
	}, nil
}

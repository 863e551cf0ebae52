// Command transcribe is the engine state machine's transcription function
// (statemachine/engine.asl.json): it starts an Amazon Transcribe job on the
// audio the prepare step wrote, named after the execution so that a
// replayed step finds the job it started, and checks it once per turn of
// the wait/poll loop. Transcribe reads the audio and writes its words
// under the execution's work/ prefix with this function's permissions.
// See internal/enginesteps.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"

	"github.com/clipmill/clipmill/internal/engine/speech"
	"github.com/clipmill/clipmill/internal/enginesteps"
	"github.com/clipmill/clipmill/internal/lambdafn"
	"github.com/clipmill/clipmill/internal/pipeline"
)

func main() {
	steps, cfg, err := enginesteps.FromEnv(context.Background())
	if err != nil {
		lambdafn.InitFailed(err)
	}
	steps.Recogniser = speech.Transcribe{Client: transcribe.NewFromConfig(cfg), S3: pipeline.NewS3Client(cfg), Bucket: steps.Bucket.Name()}
	lambda.Start(steps.Handle)
}

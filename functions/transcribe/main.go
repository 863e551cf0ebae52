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
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"

	"github.com/clipmill/clipmill/internal/engine/speech"
	"github.com/clipmill/clipmill/internal/enginesteps"
)

func main() {
	steps, cfg, err := enginesteps.FromEnv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	steps.Recogniser = speech.Transcribe{Client: transcribe.NewFromConfig(cfg), S3: s3.NewFromConfig(cfg), Bucket: steps.Bucket.Name()}
	lambda.Start(steps.Handle)
}

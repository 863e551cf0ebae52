// Command engine is the engine state machine's image Lambda function
// (statemachine/engine.asl.json): the steps that need ffmpeg. Prepare
// probes the source and extracts its audio, Select makes the plan, and
// Render renders one clip of it. It runs from the container image that
// functions/engine/Dockerfile builds, with the packages of
// scripts/packages.txt. See internal/enginesteps.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clipmill/clipmill/internal/enginesteps"
	"github.com/clipmill/clipmill/internal/lambdafn"
)

func main() {
	steps, _, err := enginesteps.FromEnv(context.Background())
	if err != nil {
		lambdafn.InitFailed(err)
	}
	lambda.Start(steps.Handle)
}

// Command store is the Lambda function of the state machine's Store and
// StoreFailure states: it copies a finished job's clips into the bucket and
// writes clips/<video name>/manifest.json, or failed/<video name>.json.
// See internal/pipeline.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clipmill/clipmill/internal/lambdafn"
	"github.com/clipmill/clipmill/internal/pipeline"
)

func main() {
	p, err := pipeline.FromEnv(context.Background(), "BUCKET_NAME")
	if err != nil {
		lambdafn.InitFailed(err)
	}
	lambda.Start(p.Store)
}

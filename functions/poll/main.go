// Command poll is the Lambda function of the state machine's Poll state: it
// looks at the job once and says how long to wait before looking again.
// See internal/pipeline.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clipmill/clipmill/internal/lambdafn"
	"github.com/clipmill/clipmill/internal/pipeline"
)

func main() {
	p, err := pipeline.FromEnv(context.Background())
	if err != nil {
		lambdafn.InitFailed(err)
	}
	lambda.Start(p.Poll)
}

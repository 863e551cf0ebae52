// Command submit is the Lambda function behind the bucket's inbox/: each
// uploaded video is submitted as a clipping job and followed by an
// execution of the state machine. See internal/pipeline.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clipmill/clipmill/internal/lambdafn"
	"github.com/clipmill/clipmill/internal/pipeline"
)

func main() {
	p, err := pipeline.FromEnv(context.Background(), "BUCKET_NAME", "STATE_MACHINE_ARN")
	if err != nil {
		lambdafn.InitFailed(err)
	}
	lambda.Start(func(ctx context.Context, ev events.S3Event) ([]pipeline.Submitted, error) {
		recs := make([]pipeline.S3Record, len(ev.Records))
		for i, r := range ev.Records {
			recs[i] = pipeline.S3Record{Bucket: r.S3.Bucket.Name, Key: r.S3.Object.Key,
				Version: r.S3.Object.VersionID, ETag: r.S3.Object.ETag}
		}
		return p.SubmitRecords(ctx, recs)
	})
}

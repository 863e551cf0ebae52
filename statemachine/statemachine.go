// Package statemachine holds the pipeline's state machine definitions, as
// data: SAM deploys pipeline.asl.json to Step Functions, and `clipmill
// local` runs the same bytes with package asl.
package statemachine

import _ "embed"

// Pipeline is pipeline.asl.json, with its ${...} placeholders.
//
//go:embed pipeline.asl.json
var Pipeline []byte

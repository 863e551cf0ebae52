// Package statemachine holds the pipeline's state machine definitions, as
// data: SAM deploys pipeline.asl.json (a backend clips) or engine.asl.json
// (the stack's own engine clips) to Step Functions, and `clipmill local`
// runs the same bytes with package asl.
package statemachine

import _ "embed"

// Pipeline is pipeline.asl.json, with its ${...} placeholders.
//
//go:embed pipeline.asl.json
var Pipeline []byte

// Engine is engine.asl.json: the stack's own engine, with its ${...}
// placeholders.
//
//go:embed engine.asl.json
var Engine []byte

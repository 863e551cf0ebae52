// Package deploy has no code of its own: its tests check the AWS SAM bundle
// offline, where no AWS account, sam, Docker or cfn-lint is at hand.
//
// They read template.yaml with package cfn, which keeps CloudFormation's
// short tags (!Ref, !Sub, !GetAtt, !If) and evaluates its intrinsics, for
// each value of its Backend parameter (api: a HeyGen-compatible API;
// engine: clipmill's engine in the stack), resolving its Conditions: which
// resources each backend creates, that nothing refers to a resource its
// backend leaves out, which state machine submit starts, and what each role
// may do (each function only the S3 prefixes it touches, Amazon Transcribe
// for the transcribe function alone, each state machine only its own
// functions, the API key read only by the api backend). They check that
// every zip function is built by the root Makefile for provided.al2023 on
// arm64, that the engine's image function is built by its Dockerfile for
// arm64 from the package list make setup installs, with a build context
// that .dockerignore keeps small, that each state machine's
// DefinitionSubstitutions are exactly its ASL's placeholders, that IAM
// policies name the bucket by the same !Sub string as the bucket itself (so
// the S3 event adds no circular dependency, which a dependency graph of the
// resources also checks), that no parameter holds the API key, and that
// the sample events in events/ decode into the types the functions use.
// With node_modules installed (npm ci), they also run asl-validator on
// statemachine/*.asl.json and execute the api definition with
// aws-local-stepfunctions; where cfn-lint is installed, they run it too.
package deploy

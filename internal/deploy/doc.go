// Package deploy has no code of its own: its tests check the AWS SAM bundle
// offline, where no AWS account, sam or cfn-lint is at hand.
//
// They read template.yaml with gopkg.in/yaml.v3's Node API, which keeps
// CloudFormation's short tags (!Ref, !Sub, !GetAtt, !If), and check that
// every function is built by the root Makefile for provided.al2023 on arm64,
// that the state machine's DefinitionSubstitutions are exactly the ASL's
// placeholders, that IAM policies name the bucket by the same !Sub string as
// the bucket itself (so the S3 event adds no circular dependency, which a
// dependency graph of the resources also checks), that no parameter holds
// the API key, and that the sample events in events/ decode into the types
// the functions use. With node_modules installed (npm ci), they also run
// asl-validator on statemachine/*.asl.json and execute the definition with
// aws-local-stepfunctions; where cfn-lint is installed, they run it too.
package deploy

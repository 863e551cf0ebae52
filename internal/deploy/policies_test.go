package deploy

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/cfn"
	"gopkg.in/yaml.v3"
)

// Policies must name the bucket with the same !Sub string as the bucket's
// BucketName, never with !Ref or !GetAtt ClipBucket: the S3 event already
// makes the bucket depend on SubmitFunction.
func TestPoliciesNameTheBucketByItsSubString(t *testing.T) {
	st := loadTemplate(t)
	bucketName := path(st.props(bucketID), "BucketName")
	_, nameArg := cfn.Intrinsic(bucketName)
	bucketARN := "arn:${AWS::Partition}:s3:::" + nameArg.Value

	for _, id := range append(st.ofType(functionType), st.ofType(stateMachineType)...) {
		props := st.props(id)
		// Nothing in a function or the state machine refers to the bucket
		// resource, except the S3 event's own Bucket.
		for _, k := range keys(props) {
			v := cfn.Get(props, k)
			if k == "Events" {
				continue
			}
			cfn.Refs(v, func(name string) {
				if name == bucketID {
					t.Errorf("%s.%s refers to the %s resource (by !Ref, !GetAtt or !Sub); name it by %s instead", id, k, bucketID, show(bucketName))
				}
			})
		}
		pols := cfn.Get(props, "Policies")
		if pols == nil {
			continue
		}
		walk(pols, func(n *yaml.Node) {
			if n.Kind != yaml.MappingNode {
				return
			}
			for _, tmpl := range []string{"S3ReadPolicy", "S3WritePolicy", "S3CrudPolicy", "S3FullAccessPolicy"} {
				if p := cfn.Get(n, tmpl); p != nil {
					if b := cfn.Get(p, "BucketName"); !same(b, bucketName) {
						t.Errorf("%s: %s BucketName = %s, want %s", id, tmpl, show(b), show(bucketName))
					}
				}
			}
			actions, resources := cfn.Get(n, "Action"), cfn.Get(n, "Resource")
			if actions == nil || resources == nil || !mentionsS3(actions) {
				return
			}
			list := []*yaml.Node{resources}
			if resources.Kind == yaml.SequenceNode && !isIntrinsic(resources) {
				list = resources.Content
			}
			for _, r := range list {
				name, arg := cfn.Intrinsic(r)
				if name != "Sub" || arg.Kind != yaml.ScalarNode {
					t.Errorf("%s: S3 resource %s, want !Sub %q (or %q + \"/<prefix>*\")", id, show(r), bucketARN, bucketARN)
					continue
				}
				rest, ok := strings.CutPrefix(arg.Value, bucketARN)
				if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
					t.Errorf("%s: S3 resource %q does not start with the bucket's ARN %q", id, arg.Value, bucketARN)
				}
			}
		})
	}
}

func mentionsS3(actions *yaml.Node) bool {
	found := false
	walk(actions, func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, "s3:") {
			found = true
		}
	})
	return found
}

// What each role may do, evaluated for each backend: each function gets
// the S3 keys it touches and nothing else (no function may touch every key
// of the bucket), submit may start only its backend's state machine, and
// each state machine may invoke only its own functions.
func TestLeastPrivilege(t *testing.T) {
	st := loadTemplate(t)
	b := "arn:aws:s3:::clipmill-123456789012-eu-west-1"
	sm := "arn:aws:states:eu-west-1:123456789012:stateMachine:"
	fn := "arn:aws:lambda:eu-west-1:123456789012:function:"
	services := []string{"s3:", "states:", "lambda:", "transcribe:"}
	storeS3 := []string{"s3:GetObject " + b + "/clips/*", "s3:GetObject " + b + "/failed/*",
		"s3:PutObject " + b + "/clips/*", "s3:PutObject " + b + "/failed/*",
		"s3:AbortMultipartUpload " + b + "/clips/*", "s3:AbortMultipartUpload " + b + "/failed/*",
		"s3:ListBucket " + b}
	submitS3 := []string{"s3:GetObject " + b + "/inbox/*", "s3:GetObjectVersion " + b + "/inbox/*", "s3:ListBucket " + b,
		"s3:PutObject " + b + "/failed/*"}
	want := map[string]map[string]map[string][]string{
		"api": {
			"SubmitFunction": {
				"s3:":     submitS3,
				"states:": {"states:StartExecution " + sm + "<PipelineStateMachine.Name>"},
			},
			"PollFunction":  {},
			"StoreFunction": {"s3:": storeS3},
			stateMachineID: {
				"lambda:": {"lambda:InvokeFunction " + fn + "<PollFunction>*", "lambda:InvokeFunction " + fn + "<StoreFunction>*"},
			},
		},
		"engine": {
			"SubmitFunction": {
				// work/<execution>/request.json: the settings it resolved.
				"s3:":     append(slices.Clone(submitS3), "s3:PutObject "+b+"/work/*"),
				"states:": {"states:StartExecution " + sm + "<EngineStateMachine.Name>"},
			},
			// The job and clip resources, and the audio it deletes.
			"StoreFunction": {"s3:": append(slices.Clone(storeS3), "s3:GetObject "+b+"/work/*", "s3:DeleteObject "+b+"/work/*")},
			imageFunctionID: {
				"s3:": {"s3:GetObject " + b + "/inbox/*", "s3:GetObjectVersion " + b + "/inbox/*", "s3:ListBucket " + b,
					"s3:GetObject " + b + "/work/*",
					"s3:PutObject " + b + "/work/*", "s3:AbortMultipartUpload " + b + "/work/*",
					"s3:PutObject " + b + "/clips/*", "s3:AbortMultipartUpload " + b + "/clips/*"},
			},
			"TranscribeFunction": {
				// Transcribe reads the audio and writes the words with the
				// caller's permissions. The jobs are clipmill-<execution>
				// (enginesteps' TestJobNamesMatchThePolicy).
				"s3:": {"s3:GetObject " + b + "/work/*", "s3:PutObject " + b + "/work/*"},
				"transcribe:": {"transcribe:StartTranscriptionJob *",
					"transcribe:GetTranscriptionJob arn:aws:transcribe:eu-west-1:123456789012:transcription-job/clipmill-*"},
			},
			engineMachineID: {
				"lambda:": {"lambda:InvokeFunction " + fn + "<EngineFunction>*", "lambda:InvokeFunction " + fn + "<TranscribeFunction>*",
					"lambda:InvokeFunction " + fn + "<StoreFunction>*"},
			},
		},
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := backendStack(t, st, backend, nil)
			live := append(s.live(t, functionType), s.live(t, stateMachineType)...)
			var ids []string
			for id := range want[backend] {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			sort.Strings(live)
			if !slices.Equal(ids, live) {
				t.Errorf("functions and state machines = %v; the test knows %v", live, ids)
			}
			for id, byService := range want[backend] {
				stmts := s.policyStatements(t, cfn.Get(st.props(id), "Policies"))
				for _, st := range stmts {
					for _, a := range st.Actions {
						if strings.HasSuffix(a, ":*") || a == "*" {
							t.Errorf("%s: action %s: name the actions", id, a)
						}
					}
				}
				for _, g := range grants(stmts, "s3:") {
					if strings.HasSuffix(g, " "+b+"/*") || strings.HasSuffix(g, " *") {
						t.Errorf("%s may %s: name the prefixes it touches", id, g)
					}
				}
				for _, prefix := range services {
					got := grants(stmts, prefix)
					sort.Strings(got)
					w := slices.Clone(byService[prefix])
					sort.Strings(w)
					if !slices.Equal(got, w) {
						t.Errorf("%s may %s\n got: %q\nwant: %q", id, prefix+"*", got, w)
					}
				}
			}
		})
	}
}

// Every function reads the key from where ApiKeySource says, and only
// there: the secret's ARN (from its ARN or its name), or the parameter's
// ARN (its name with or without the leading slash), plus kms:Decrypt when a
// customer managed key encrypts it.
func TestKeyReadPolicies(t *testing.T) {
	st := loadTemplate(t)
	const kmsKey = "1234abcd-12ab-34cd-56ef-1234567890ab"
	cases := []struct {
		name     string
		params   map[string]string
		sm, ssm  []string
		kms      []string
		describe bool
	}{
		{
			name:   "secret by name",
			params: map[string]string{"ApiKeySource": "secretsmanager", "ApiKeyId": "clipmill/heygen-api-key"},
			sm:     []string{"secretsmanager:GetSecretValue arn:aws:secretsmanager:eu-west-1:123456789012:secret:clipmill/heygen-api-key-??????"},
		},
		{
			name:   "secret by ARN",
			params: map[string]string{"ApiKeySource": "secretsmanager", "ApiKeyId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:clipmill/heygen-api-key-AbCdEf"},
			sm:     []string{"secretsmanager:GetSecretValue arn:aws:secretsmanager:eu-west-1:123456789012:secret:clipmill/heygen-api-key-AbCdEf"},
		},
		{
			name:   "parameter with its leading slash",
			params: map[string]string{"ApiKeySource": "ssm", "ApiKeyId": "/clipmill/heygen-api-key"},
			ssm: []string{"ssm:GetParameter arn:aws:ssm:eu-west-1:123456789012:parameter/clipmill/heygen-api-key",
				"ssm:GetParameters arn:aws:ssm:eu-west-1:123456789012:parameter/clipmill/heygen-api-key",
				"ssm:GetParametersByPath arn:aws:ssm:eu-west-1:123456789012:parameter/clipmill/heygen-api-key"},
			describe: true,
		},
		{
			name:   "parameter without a slash",
			params: map[string]string{"ApiKeySource": "ssm", "ApiKeyId": "clipmill-heygen-api-key"},
			ssm: []string{"ssm:GetParameter arn:aws:ssm:eu-west-1:123456789012:parameter/clipmill-heygen-api-key",
				"ssm:GetParameters arn:aws:ssm:eu-west-1:123456789012:parameter/clipmill-heygen-api-key",
				"ssm:GetParametersByPath arn:aws:ssm:eu-west-1:123456789012:parameter/clipmill-heygen-api-key"},
			describe: true,
		},
		{
			name:   "secret under a customer managed key",
			params: map[string]string{"ApiKeySource": "secretsmanager", "ApiKeyId": "clipmill/heygen-api-key", "ApiKeyKmsKeyId": kmsKey},
			sm:     []string{"secretsmanager:GetSecretValue arn:aws:secretsmanager:eu-west-1:123456789012:secret:clipmill/heygen-api-key-??????"},
			kms:    []string{"kms:Decrypt arn:aws:kms:eu-west-1:123456789012:key/" + kmsKey},
		},
		// The engine has no key: none is read, whatever the key
		// parameters say.
		{
			name:   "engine",
			params: map[string]string{"Backend": "engine", "ApiKeyId": ""},
		},
		{
			name: "engine with key parameters set",
			params: map[string]string{"Backend": "engine", "ApiKeySource": "ssm", "ApiKeyId": "/clipmill/heygen-api-key",
				"ApiKeyKmsKeyId": kmsKey},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStack(t, st, c.params)
			for _, id := range s.live(t, functionType) {
				stmts := s.policyStatements(t, cfn.Get(st.props(id), "Policies"))
				check := func(prefix string, want []string) {
					got := grants(stmts, prefix)
					got = slices.DeleteFunc(got, func(g string) bool { return strings.HasPrefix(g, "ssm:DescribeParameters ") })
					sort.Strings(got)
					sort.Strings(want)
					if !slices.Equal(got, want) {
						t.Errorf("%s may %s\n got: %q\nwant: %q", id, prefix+"*", got, want)
					}
				}
				check("secretsmanager:", c.sm)
				check("ssm:", c.ssm)
				check("kms:", c.kms)
				if d := slices.Contains(grants(stmts, "ssm:"), "ssm:DescribeParameters *"); d != c.describe {
					t.Errorf("%s: ssm:DescribeParameters on * = %v, want %v (SAM's SSM templates grant it)", id, d, c.describe)
				}
			}
		})
	}
}

package lambdaruntime

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// The repository's template, resolved as a stack with the parameters'
// defaults: each function's Timeout, MemorySize and Environment.
func TestTemplateFunctions(t *testing.T) {
	tpl, err := ReadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl.Region = "eu-west-1"
	for _, c := range []struct {
		id       string
		timeout  time.Duration
		memory   int
		env      map[string]string
		deployed []string
	}{
		// Timeout: !If [SourceIsAsset, 900, 60], SourceMode url by default.
		{"SubmitFunction", time.Minute, 256, map[string]string{"BACKEND": "api", "BUCKET_NAME": "clipmill-123456789012-eu-west-1",
			"SOURCE_MODE": "url", "API_KEY_ID": "", "RENDER_CONCURRENCY": "10"}, []string{"STATE_MACHINE_ARN"}},
		{"PollFunction", 30 * time.Second, 128, map[string]string{"BACKEND_URL": "https://api.heygen.com", "POLL_MAX_SECONDS": "120"}, nil},
		{"StoreFunction", 900 * time.Second, 1024, map[string]string{"URL_EXPIRY_SECONDS": "604800"}, nil},
		// !Ref RenderTimeoutSeconds and RenderMemorySize.
		{"EngineFunction", 900 * time.Second, 6144, map[string]string{"X264_PRESET": "veryfast"}, nil},
		{"TranscribeFunction", 30 * time.Second, 256, map[string]string{"BUCKET_NAME": "clipmill-123456789012-eu-west-1"}, nil},
	} {
		fn, deployed, err := tpl.Function(c.id)
		if err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		if fn.Name != c.id || fn.Timeout != c.timeout || fn.MemoryMB != c.memory || fn.Region != "eu-west-1" {
			t.Errorf("%s: name %q, timeout %v, memory %d, region %q; want %v, %d", c.id, fn.Name, fn.Timeout, fn.MemoryMB, fn.Region, c.timeout, c.memory)
		}
		for k, want := range c.env {
			if got, ok := fn.Env[k]; !ok || got != want {
				t.Errorf("%s: %s = %q, want %q", c.id, k, got, want)
			}
		}
		if !slices.Equal(deployed, c.deployed) {
			t.Errorf("%s: left out %v, want %v", c.id, deployed, c.deployed)
		}
	}

	// Parameters other than the defaults.
	tpl.Params = map[string]string{"SourceMode": "asset", "RenderTimeoutSeconds": "120"}
	if fn, _, _ := tpl.Function("SubmitFunction"); fn.Timeout != 900*time.Second || fn.Env["SOURCE_MODE"] != "asset" {
		t.Errorf("asset mode: timeout %v, env %v", fn.Timeout, fn.Env)
	}
	if fn, _, _ := tpl.Function("EngineFunction"); fn.Timeout != 2*time.Minute {
		t.Errorf("RenderTimeoutSeconds 120: timeout %v", fn.Timeout)
	}
	if _, _, err := tpl.Function("ClipBucket"); err == nil {
		t.Error("ClipBucket is a function")
	}
}

// Globals under the function's own settings, and the variables left out:
// those only a deployed stack knows, and AWS::NoValue. Package cfn tests
// the intrinsics.
func TestTemplateFunction(t *testing.T) {
	tpl, err := ParseTemplate([]byte(`
Parameters:
  NoDefault: {Type: String}
Globals:
  Function:
    Timeout: 5
    MemorySize: 512
    Environment:
      Variables: {GLOBAL: g, OVERRIDDEN: global}
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 7
      Environment:
        Variables: {OVERRIDDEN: own, REGION: !Ref AWS::Region, NONE: !Ref AWS::NoValue, ARN: !GetAtt Queue.Arn, URL: !Ref Queue}
  Bad:
    Type: AWS::Serverless::Function
    Properties: {Timeout: !Ref NoDefault}
`))
	if err != nil {
		t.Fatal(err)
	}
	fn, deployed, err := tpl.Function("Fn")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"GLOBAL": "g", "OVERRIDDEN": "own", "REGION": "us-east-1"}
	if !maps.Equal(fn.Env, want) || fn.Timeout != 7*time.Second || fn.MemoryMB != 512 || fn.Region != "us-east-1" || fn.Account != "123456789012" {
		t.Errorf("env %v, timeout %v, memory %d, region %s, account %s", fn.Env, fn.Timeout, fn.MemoryMB, fn.Region, fn.Account)
	}
	if !slices.Equal(deployed, []string{"ARN", "URL"}) {
		t.Errorf("deployed %v", deployed)
	}
	if _, _, err := tpl.Function("Bad"); err == nil || !strings.Contains(err.Error(), "NoDefault") {
		t.Errorf("a parameter without a default: %v", err)
	}
}

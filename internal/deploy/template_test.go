package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clipmill/clipmill/internal/cfn"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/pipeline"
)

const (
	functionType     = "AWS::Serverless::Function"
	stateMachineType = "AWS::Serverless::StateMachine"
	bucketID         = "ClipBucket"
	stateMachineID   = "PipelineStateMachine" // Backend=api's
	engineMachineID  = "EngineStateMachine"   // Backend=engine's
	imageFunctionID  = "EngineFunction"       // the one function in a container image
)

func TestTemplateIsSAM(t *testing.T) {
	st := loadTemplate(t)
	if got := cfn.Scalar(cfn.Get(st.Doc, "Transform")); got != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %q, want AWS::Serverless-2016-10-31", got)
	}
	if got := cfn.Scalar(cfn.Get(st.Doc, "AWSTemplateFormatVersion")); got != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion = %q, want 2010-09-09", got)
	}
	sections := []string{"AWSTemplateFormatVersion", "Transform", "Description", "Metadata", "Parameters",
		"Rules", "Mappings", "Conditions", "Globals", "Resources", "Outputs"}
	for _, k := range keys(st.Doc) {
		if !slices.Contains(sections, k) {
			t.Errorf("unknown top-level section %q", k)
		}
	}
	for _, id := range st.ids {
		if !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(id) {
			t.Errorf("logical id %q: CloudFormation allows only letters and digits", id)
		}
		if st.resourceType(id) == "" {
			t.Errorf("resource %s has no Type", id)
		}
	}
	for _, want := range []string{bucketID, stateMachineID, "SubmitFunction", "PollFunction", "StoreFunction",
		engineMachineID, imageFunctionID, "TranscribeFunction"} {
		if st.resources[want] == nil {
			t.Errorf("no resource %s", want)
		}
	}
	if got := st.resourceType(bucketID); got != "AWS::S3::Bucket" {
		t.Errorf("%s is %q, want AWS::S3::Bucket", bucketID, got)
	}
	for _, id := range []string{stateMachineID, engineMachineID} {
		if got := st.resourceType(id); got != stateMachineType {
			t.Errorf("%s is %q, want %s", id, got, stateMachineType)
		}
	}
}

// Each backend creates its own resources and the shared ones, and nothing
// a resource of a backend refers to (on the branches of !If it takes) is
// missing from that backend's stack: what CloudFormation would refuse.
func TestBackendsSelectTheirResources(t *testing.T) {
	st := loadTemplate(t)
	if av := path(st.Doc, "Parameters", "Backend", "AllowedValues"); av == nil || show(av) != "[api, engine]" {
		t.Fatalf("Backend AllowedValues = %s, want [api, engine]", show(av))
	}
	if d := cfn.Scalar(path(st.Doc, "Parameters", "Backend", "Default")); d != "api" {
		t.Errorf("Backend default = %q, want api (today's stacks keep their flow)", d)
	}
	only := map[string][]string{
		"api": {"PollFunction", stateMachineID, "PollLogGroup", "PipelineLogGroup"},
		"engine": {imageFunctionID, "TranscribeFunction", engineMachineID, "EngineLogGroup", "TranscribeLogGroup",
			"EngineStateMachineLogGroup"},
	}
	shared := []string{bucketID, "ClipBucketPolicy", "SubmitFunction", "StoreFunction", "SubmitDeadLetterQueue",
		"SubmitLogGroup", "StoreLogGroup"}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := backendStack(t, st, backend, nil)
			var want []string
			want = append(want, shared...)
			want = append(want, only[backend]...)
			var got []string
			for _, id := range st.ids {
				if s.exists(t, id) {
					got = append(got, id)
				}
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("resources\n got: %v\nwant: %v", got, want)
			}
			check := func(where string, n *yaml.Node) {
				err := s.Refs(n, func(name string) {
					if cfn.Get(cfn.Get(st.Doc, "Parameters"), name) == nil && st.resources[name] != nil && !s.exists(t, name) {
						t.Errorf("%s refers to %s, which Backend=%s does not create", where, name, backend)
					}
				})
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
			}
			for _, id := range got {
				check(id, st.resources[id])
				if st.resourceType(id) == functionType {
					check(id+" (with Globals)", cfn.Get(cfn.Get(st.Doc, "Globals"), "Function"))
				}
			}
			for _, o := range keys(cfn.Get(st.Doc, "Outputs")) {
				check("output "+o, path(st.Doc, "Outputs", o))
			}
		})
	}
}

// ApiKeyId may be empty, since Backend=engine has no key, but a Rule
// refuses an api stack without one, before anything is created.
func TestApiBackendNeedsAKey(t *testing.T) {
	st := loadTemplate(t)
	rules := cfn.Get(st.Doc, "Rules")
	if len(keys(rules)) == 0 {
		t.Fatal("template.yaml has no Rules")
	}
	if d := path(st.Doc, "Parameters", "ApiKeyId", "Default"); d == nil || d.Value != "" {
		t.Errorf("ApiKeyId's Default = %s, want \"\" (Backend=engine needs no key)", show(d))
	}
	cases := []struct {
		backend, key string
		ok           bool
	}{
		{"api", "", false},
		{"api", "clipmill/heygen-api-key", true},
		{"engine", "", true},
		{"engine", "clipmill/heygen-api-key", true},
	}
	for _, c := range cases {
		s := newStack(t, st, map[string]string{"Backend": c.backend, "ApiKeyId": c.key})
		ok := true
		for _, name := range keys(rules) {
			r := cfn.Get(rules, name)
			applies := true
			if rc := cfn.Get(r, "RuleCondition"); rc != nil {
				v, err := s.EvalBool(rc)
				if err != nil {
					t.Fatalf("rule %s: RuleCondition: %v", name, err)
				}
				applies = v
			}
			if !applies {
				continue
			}
			for _, a := range cfn.Get(r, "Assertions").Content {
				v, err := s.EvalBool(cfn.Get(a, "Assert"))
				if err != nil {
					t.Fatalf("rule %s: Assert: %v", name, err)
				}
				if cfn.Scalar(cfn.Get(a, "AssertDescription")) == "" {
					t.Errorf("rule %s: an assertion without AssertDescription", name)
				}
				ok = ok && v
			}
		}
		if ok != c.ok {
			t.Errorf("Backend=%s ApiKeyId=%q: the rules pass = %v, want %v", c.backend, c.key, ok, c.ok)
		}
	}
}

// Every name an intrinsic function uses must exist: a parameter, a
// resource, a pseudo parameter or a !Sub's own variable; every condition an
// !If names must be declared, and every declared condition used. This is
// what cfn-lint's E1012, E1019, E8002 and W8001 would say.
func TestReferencesResolve(t *testing.T) {
	st := loadTemplate(t)
	params := cfn.Get(st.Doc, "Parameters")
	conds := cfn.Get(st.Doc, "Conditions")
	known := func(name string) bool {
		return strings.HasPrefix(name, "AWS::") || cfn.Get(params, name) != nil || st.resources[name] != nil
	}
	usedConds := map[string]bool{}
	usedParams := map[string]bool{}
	check := func(where string, root *yaml.Node) {
		walk(root, func(n *yaml.Node) {
			name, arg := cfn.Intrinsic(n)
			switch name {
			case "Ref":
				usedParams[arg.Value] = true
				if !known(arg.Value) {
					t.Errorf("%s: !Ref %s: no such parameter or resource", where, arg.Value)
				}
				if strings.HasPrefix(arg.Value, "AWS::") && !slices.Contains([]string{"AWS::AccountId", "AWS::Region",
					"AWS::Partition", "AWS::StackName", "AWS::StackId", "AWS::URLSuffix", "AWS::NoValue", "AWS::NotificationARNs"}, arg.Value) {
					t.Errorf("%s: !Ref %s: no such pseudo parameter", where, arg.Value)
				}
			case "GetAtt":
				if target, _ := cfn.GetAtt(arg); st.resources[target] == nil {
					t.Errorf("%s: !GetAtt %s: no such resource", where, show(arg))
				}
			case "Sub":
				for _, name := range cfn.SubRefs(arg) {
					usedParams[name] = true
					if !known(name) {
						t.Errorf("%s: !Sub ${%s}: no such parameter or resource", where, name)
					}
				}
			case "If":
				if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
					t.Errorf("%s: !If takes [condition, then, else]: %s", where, show(n))
					return
				}
				usedConds[arg.Content[0].Value] = true
				if cfn.Get(conds, arg.Content[0].Value) == nil {
					t.Errorf("%s: !If %s: no such condition", where, arg.Content[0].Value)
				}
			case "Condition":
				usedConds[arg.Value] = true
			}
		})
	}
	for _, section := range []string{"Globals", "Resources", "Outputs", "Conditions"} {
		check(section, cfn.Get(st.Doc, section))
	}
	for _, c := range keys(conds) {
		if !usedConds[c] {
			t.Errorf("condition %s is never used", c)
		}
	}
	for _, p := range keys(params) {
		if !usedParams[p] {
			t.Errorf("parameter %s is never used", p)
		}
	}
}

// SAM runs `make build-<LogicalId>` in a copy of CodeUri with ARTIFACTS_DIR
// set; with CodeUri "." the root Makefile builds every zip function, and
// each target must leave $(ARTIFACTS_DIR)/bootstrap for provided.al2023 on
// arm64. (The image function is TestImageFunction's.)
func TestFunctionsAreBuiltByTheRootMakefile(t *testing.T) {
	st := loadTemplate(t)
	root := repoRoot(t)
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatalf("Makefile: %v", err)
	}
	functions := st.ofType(functionType)
	if len(functions) == 0 {
		t.Fatal("no AWS::Serverless::Function in template.yaml")
	}
	for _, id := range functions {
		if cfn.Scalar(cfn.Get(st.FunctionProperties(id), "PackageType")) == "Image" {
			if id != imageFunctionID {
				t.Errorf("%s is a container image; only %s is", id, imageFunctionID)
			}
			continue
		}
		t.Run(id, func(t *testing.T) {
			p := st.FunctionProperties(id)
			for key, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap", "CodeUri": "."} {
				if got := cfn.Scalar(cfn.Get(p, key)); got != want {
					t.Errorf("%s = %s, want %s", key, show(cfn.Get(p, key)), want)
				}
			}
			if a := cfn.Get(p, "Architectures"); a == nil || a.Kind != yaml.SequenceNode || len(a.Content) != 1 || cfn.Scalar(a.Content[0]) != "arm64" {
				t.Errorf("Architectures = %s, want [arm64] (set once: SAM concatenates Globals and function lists)", show(a))
			}
			if got := cfn.Scalar(path(st.resources[id], "Metadata", "BuildMethod")); got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %q, want makefile", got)
			}
			if p := cfn.Get(p, "PackageType"); p != nil && cfn.Scalar(p) != "Zip" {
				t.Errorf("PackageType = %s, want Zip (the default)", show(p))
			}

			dir := functionDir(id)
			main := filepath.Join(root, dir, "main.go")
			src, err := os.ReadFile(main)
			switch {
			case os.IsNotExist(err):
				t.Errorf("%s/main.go is missing: %s builds %s's `bootstrap` from it", dir, "the Makefile", id)
			case err != nil:
				t.Error(err)
			case !regexp.MustCompile(`(?m)^package main\s*$`).Match(src):
				t.Errorf("%s/main.go is not `package main`", dir)
			}

			target := "build-" + id
			if !hasMakeTarget(string(makefile), target) {
				t.Errorf("the root Makefile has no %s target; sam build runs `make %s` with ARTIFACTS_DIR set. For example:\n"+
					"%s:\n\tGOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap ./%s",
					target, target, target, dir)
				return
			}
			// What make would run, without running it.
			if _, err := exec.LookPath("make"); err != nil {
				t.Logf("make is not installed: only checked that %s exists", target)
				return
			}
			artifacts := filepath.Join(t.TempDir(), "artifacts")
			cmd := exec.Command("make", "--no-print-directory", "-n", target, "ARTIFACTS_DIR="+artifacts)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n %s: %v\n%s", target, err, out)
			}
			recipe := string(out)
			for _, want := range []struct{ text, why string }{
				{artifacts + "/bootstrap", "write the binary to $(ARTIFACTS_DIR)/bootstrap"},
				{"./" + dir, "build ./" + dir},
				{"GOOS=linux", "build for Linux (GOOS=linux)"},
				{"GOARCH=arm64", "build for arm64 (GOARCH=arm64), as Architectures says"},
				{"CGO_ENABLED=0", "build a static binary (CGO_ENABLED=0)"},
				{"lambda.norpc", "build with -tags lambda.norpc (no RPC shim: provided.al2023 speaks the Runtime API)"},
			} {
				if !strings.Contains(recipe, want.text) {
					t.Errorf("`make %s` should %s; it runs:\n%s", target, want.why, recipe)
				}
			}
		})
	}
}

// hasMakeTarget finds "target:" as an explicit rule, in a multi-target rule
// or as a pattern rule that matches it (build-%, build-%Function).
func hasMakeTarget(makefile, target string) bool {
	rule := regexp.MustCompile(`(?m)^([^\s:#=][^:#=]*?)\s*::?(?:[^=]|$)`)
	for _, m := range rule.FindAllStringSubmatch(makefile, -1) {
		for _, name := range strings.Fields(m[1]) {
			if name == target {
				return true
			}
			if i := strings.IndexByte(name, '%'); i >= 0 {
				pre, suf := name[:i], name[i+1:]
				if strings.HasPrefix(target, pre) && strings.HasSuffix(target, suf) && len(target) > len(pre)+len(suf) {
					return true
				}
			}
		}
	}
	return false
}

func TestHasMakeTarget(t *testing.T) {
	mk := "GO ?= go\nbuild:\n\tgo build\nbuild-SubmitFunction build-PollFunction:\n\ttrue\nbuild-%Layer: x\n\ttrue\n"
	for target, want := range map[string]bool{
		"build-SubmitFunction": true, "build-PollFunction": true, "build-StoreFunction": false,
		"build-ThingLayer": true, "build": true, "GO": false,
	} {
		if got := hasMakeTarget(mk, target); got != want {
			t.Errorf("hasMakeTarget(%s) = %v, want %v", target, got, want)
		}
	}
}

// The environment each function reads, as the functions' main.go files
// expect it.
// pipeline.FromEnv builds every function's backend client from
// BACKEND_URL, and its bucket from BUCKET_NAME (submit reads settings files
// and presigns the video there), so those go beyond the lists.
// BACKEND tells submit and store which backend the stack runs (the engine
// reads no key); the engine's functions get their bucket and preset from
// enginesteps.FromEnv.
var functionEnv = map[string][]string{
	"SubmitFunction": {"BACKEND", "API_KEY_SOURCE", "API_KEY_ID", "BACKEND_URL", "BUCKET_NAME", "STATE_MACHINE_ARN", "DEFAULT_SETTINGS",
		"SOURCE_MODE", "MAX_POLL_ATTEMPTS", "JOB_TIMEOUT_SECONDS", "POLL_MIN_SECONDS", "RENDER_CONCURRENCY"},
	"PollFunction":       {"API_KEY_SOURCE", "API_KEY_ID", "BACKEND_URL", "POLL_MIN_SECONDS", "POLL_MAX_SECONDS"},
	"StoreFunction":      {"BACKEND", "API_KEY_SOURCE", "API_KEY_ID", "BACKEND_URL", "BUCKET_NAME", "URL_EXPIRY_SECONDS"},
	"EngineFunction":     {"BUCKET_NAME", "X264_PRESET"},
	"TranscribeFunction": {"BUCKET_NAME"},
}

func TestFunctionSettings(t *testing.T) {
	st := loadTemplate(t)
	if got, want := st.ofType(functionType), []string{"EngineFunction", "PollFunction", "StoreFunction", "SubmitFunction", "TranscribeFunction"}; !slices.Equal(got, want) {
		t.Fatalf("functions = %v, want %v", got, want)
	}
	bucketName := path(st.props(bucketID), "BucketName")
	params := cfn.Get(st.Doc, "Parameters")
	for _, id := range st.ofType(functionType) {
		p := st.FunctionProperties(id)
		if got := cfn.Scalar(path(p, "LoggingConfig", "LogFormat")); got != "JSON" {
			t.Errorf("%s: LoggingConfig.LogFormat = %q, want JSON", id, got)
		}
		if lg := path(p, "LoggingConfig", "LogGroup"); lg != nil {
			name, arg := cfn.Intrinsic(lg)
			if name != "Ref" || st.resourceType(arg.Value) != "AWS::Logs::LogGroup" {
				t.Errorf("%s: LoggingConfig.LogGroup = %s, want !Ref to a log group of this stack", id, show(lg))
			} else if r := path(st.props(arg.Value), "RetentionInDays"); r == nil {
				t.Errorf("%s: log group %s has no RetentionInDays", id, arg.Value)
			}
		}
		for _, k := range []string{"Timeout", "MemorySize"} {
			if cfn.Get(p, k) == nil {
				t.Errorf("%s: no %s", id, k)
			}
		}
		vars := path(p, "Environment", "Variables")
		got := keys(vars)
		sort.Strings(got)
		want := slices.Clone(functionEnv[id])
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: environment = %v, want %v", id, got, want)
		}
		// Values from parameters: !Ref an existing parameter.
		for _, k := range got {
			v := cfn.Get(vars, k)
			if name, arg := cfn.Intrinsic(v); name == "Ref" && cfn.Get(params, arg.Value) == nil && st.resources[arg.Value] == nil {
				t.Errorf("%s: %s = %s: no such parameter", id, k, show(v))
			}
		}
		// Submit starts the state machine of the stack's backend.
		if v := cfn.Get(vars, "STATE_MACHINE_ARN"); v != nil {
			for backend, want := range map[string]string{"api": stateMachineID, "engine": engineMachineID} {
				if got := backendStack(t, st, backend, nil).str(t, v); got != "<"+want+">" {
					t.Errorf("%s: STATE_MACHINE_ARN with Backend=%s = %s, want !Ref %s", id, backend, got, want)
				}
			}
		}
		if v := cfn.Get(vars, "BACKEND"); v != nil {
			if name, arg := cfn.Intrinsic(v); name != "Ref" || arg.Value != "Backend" {
				t.Errorf("%s: BACKEND = %s, want !Ref Backend", id, show(v))
			}
		}
		if v := cfn.Get(vars, "RENDER_CONCURRENCY"); v != nil {
			if name, arg := cfn.Intrinsic(v); name != "Ref" || arg.Value != "RenderConcurrency" {
				t.Errorf("%s: RENDER_CONCURRENCY = %s, want !Ref RenderConcurrency", id, show(v))
			}
		}
		if v := cfn.Get(vars, "BUCKET_NAME"); v != nil && !same(v, bucketName) {
			t.Errorf("%s: BUCKET_NAME = %s, want the bucket's own BucketName %s (never !Ref %s: that would be a cycle)",
				id, show(v), show(bucketName), bucketID)
		}
	}
	timeouts := map[string]int{}
	s := newStack(t, st, nil)
	for _, id := range st.ofType(functionType) {
		timeouts[id], _ = strconv.Atoi(s.str(t, cfn.Get(st.FunctionProperties(id), "Timeout")))
	}
	if timeouts["PollFunction"] > 60 || timeouts["SubmitFunction"] > 900 || timeouts["StoreFunction"] != 900 ||
		timeouts["TranscribeFunction"] > 60 || timeouts["EngineFunction"] != 900 {
		t.Errorf("timeouts = %v: poll and transcribe should be short, store and the engine get Lambda's 900 s", timeouts)
	}
	asset := newStack(t, st, map[string]string{"SourceMode": "asset"})
	if got := asset.str(t, cfn.Get(st.FunctionProperties("SubmitFunction"), "Timeout")); got != "900" {
		t.Errorf("SubmitFunction's timeout in asset mode = %s, want 900: it uploads the whole video", got)
	}
}

func TestBucket(t *testing.T) {
	st := loadTemplate(t)
	b := st.props(bucketID)
	if got := cfn.Scalar(path(b, "VersioningConfiguration", "Status")); got != "Enabled" {
		t.Errorf("versioning = %q, want Enabled", got)
	}
	pab := cfn.Get(b, "PublicAccessBlockConfiguration")
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if cfn.Scalar(cfn.Get(pab, k)) != "true" {
			t.Errorf("PublicAccessBlockConfiguration.%s is not true", k)
		}
	}
	sse := path(b, "BucketEncryption", "ServerSideEncryptionConfiguration")
	if sse == nil || len(sse.Content) != 1 || cfn.Scalar(path(sse.Content[0], "ServerSideEncryptionByDefault", "SSEAlgorithm")) != "AES256" {
		t.Errorf("encryption = %s, want SSE-S3 (AES256)", show(sse))
	}
	abort := false
	if rules := path(b, "LifecycleConfiguration", "Rules"); rules != nil {
		for _, r := range rules.Content {
			if cfn.Scalar(cfn.Get(r, "Status")) == "Enabled" && cfn.Scalar(path(r, "AbortIncompleteMultipartUpload", "DaysAfterInitiation")) == "1" {
				abort = true
			}
		}
	}
	if !abort {
		t.Error("no enabled lifecycle rule aborts incomplete multipart uploads after 1 day")
	}

	name := cfn.Get(b, "BucketName")
	if fn, arg := cfn.Intrinsic(name); fn != "Sub" || arg.Kind != yaml.ScalarNode ||
		!strings.Contains(arg.Value, "${BucketPrefix}") || !strings.Contains(arg.Value, "${AWS::AccountId}") || !strings.Contains(arg.Value, "${AWS::Region}") {
		t.Fatalf("BucketName = %s, want !Sub of ${BucketPrefix}, ${AWS::AccountId} and ${AWS::Region}", show(name))
	}
	s := newStack(t, st, nil)
	if got, want := s.str(t, name), "clipmill-123456789012-eu-west-1"; got != want {
		t.Errorf("bucket name with the defaults = %q, want %q", got, want)
	}

	// BucketPrefix's pattern admits only names S3 accepts, even in the
	// region with the longest name.
	prefix := path(st.Doc, "Parameters", "BucketPrefix")
	re, err := regexp.Compile(cfn.Scalar(cfn.Get(prefix, "AllowedPattern")))
	if err != nil {
		t.Fatalf("BucketPrefix AllowedPattern: %v", err)
	}
	for p, ok := range map[string]bool{"clipmill": true, "my-clips2": true, "ClipMill": false, "clip_mill": false,
		"-clipmill": false, "clipmill-": false, "c": false, strings.Repeat("a", 30): true, strings.Repeat("a", 31): false} {
		if re.MatchString(p) != ok {
			t.Errorf("BucketPrefix %q accepted = %v, want %v", p, !ok, ok)
		}
	}
	long := newStack(t, st, map[string]string{"BucketPrefix": strings.Repeat("a", 30)})
	long.Region = "ap-southeast-5"
	if n := s.str(t, name); len(long.str(t, name)) > 63 || n != strings.ToLower(n) {
		t.Errorf("bucket name %q: S3 wants at most 63 lower-case characters", long.str(t, name))
	}
}

// Only inbox/ starts jobs, and what the pipeline writes (clips/, failed/)
// lies outside it, so no write triggers another run.
func TestS3EventFiltersTheInbox(t *testing.T) {
	st := loadTemplate(t)
	var found []string
	for _, id := range st.ofType(functionType) {
		events := cfn.Get(st.props(id), "Events")
		for _, name := range keys(events) {
			ev := cfn.Get(events, name)
			if cfn.Scalar(cfn.Get(ev, "Type")) != "S3" {
				continue
			}
			found = append(found, id+"."+name)
			p := cfn.Get(ev, "Properties")
			if fn, arg := cfn.Intrinsic(cfn.Get(p, "Bucket")); fn != "Ref" || arg.Value != bucketID {
				t.Errorf("%s.%s: Bucket = %s, want !Ref %s (SAM wants the bucket of this template)", id, name, show(cfn.Get(p, "Bucket")), bucketID)
			}
			evs := cfn.Get(p, "Events")
			if cfn.Scalar(evs) != "s3:ObjectCreated:*" && !(evs != nil && len(evs.Content) == 1 && cfn.Scalar(evs.Content[0]) == "s3:ObjectCreated:*") {
				t.Errorf("%s.%s: Events = %s, want s3:ObjectCreated:*", id, name, show(evs))
			}
			rules := path(p, "Filter", "S3Key", "Rules")
			var prefix []string
			if rules != nil {
				for _, r := range rules.Content {
					switch strings.ToLower(cfn.Scalar(cfn.Get(r, "Name"))) {
					case "prefix":
						prefix = append(prefix, cfn.Scalar(cfn.Get(r, "Value")))
					case "suffix":
						t.Errorf("%s.%s: a suffix rule is case-sensitive and takes one suffix: the function filters video suffixes itself", id, name)
					}
				}
			}
			if !slices.Equal(prefix, []string{pipeline.Inbox}) {
				t.Errorf("%s.%s: prefix rules = %v, want [%s]", id, name, prefix, pipeline.Inbox)
			}
		}
	}
	if !slices.Equal(found, []string{"SubmitFunction.VideoUploaded"}) {
		t.Errorf("S3 events = %v, want one on SubmitFunction", found)
	}
	for _, key := range []string{pipeline.ManifestKey("talk"), pipeline.FailureKey("talk"), "work/talk-1/" + pipeline.RequestFile} {
		if strings.HasPrefix(key, pipeline.Inbox) {
			t.Errorf("the pipeline writes %s, inside the event's prefix: every result would start a new job", key)
		}
	}
}

// Step Functions fills DefinitionSubstitutions into the ASL file: a key with
// no placeholder is dead, a placeholder with no key stays a literal
// "${...}" and fails at run time.
func TestDefinitionSubstitutionsMatchTheASL(t *testing.T) {
	st := loadTemplate(t)
	root := repoRoot(t)
	files := aslFiles(t)
	deployed := map[string]bool{}
	for _, id := range st.ofType(stateMachineType) {
		p := st.props(id)
		uri := cfn.Scalar(cfn.Get(p, "DefinitionUri"))
		if uri == "" {
			t.Errorf("%s: DefinitionUri = %s, want a path under statemachine/", id, show(cfn.Get(p, "DefinitionUri")))
			continue
		}
		deployed[filepath.Clean(uri)] = true
		placeholders := aslPlaceholders(t, filepath.Join(root, uri))
		subs := keys(cfn.Get(p, "DefinitionSubstitutions"))
		sort.Strings(subs)
		if !slices.Equal(subs, placeholders) {
			t.Errorf("%s: DefinitionSubstitutions %v != placeholders in %s %v", id, subs, uri, placeholders)
		}
		// PollFunctionArn is !GetAtt PollFunction.Arn.
		for _, k := range subs {
			v := path(p, "DefinitionSubstitutions", k)
			res, isArn := strings.CutSuffix(k, "Arn")
			if !isArn {
				continue
			}
			name, arg := cfn.Intrinsic(v)
			if r, a := cfn.GetAtt(arg); name != "GetAtt" || r != res || a != "Arn" {
				t.Errorf("%s: %s = %s, want !GetAtt %s.Arn", id, k, show(v), res)
			}
		}
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		if !deployed[rel] {
			t.Errorf("%s is not any state machine's DefinitionUri", rel)
		}
	}
}

// aslPlaceholders lists the ${...} names in an ASL file, keys included,
// leaving out ${AWS::...}.
func aslPlaceholders(t testing.TB, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range cfn.SubNames(string(b)) {
		if !strings.HasPrefix(name, "AWS::") && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func readJSON(t testing.TB, file string) any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// aslStates is the top-level States of an ASL definition.
func aslStates(t testing.TB, file string) (def map[string]any, states map[string]map[string]any) {
	t.Helper()
	def, _ = readJSON(t, file).(map[string]any)
	raw, _ := def["States"].(map[string]any)
	states = map[string]map[string]any{}
	for name, s := range raw {
		states[name], _ = s.(map[string]any)
	}
	return def, states
}

// aslTasks collects the Task states of a definition, the states of Map
// (ItemProcessor, Iterator) and Parallel (Branches) states included.
func aslTasks(states map[string]any, out map[string]map[string]any) {
	for name, v := range states {
		s, _ := v.(map[string]any)
		if s["Type"] == "Task" {
			out[name] = s
		}
		var subs []any
		for _, k := range []string{"ItemProcessor", "Iterator"} {
			if sub, ok := s[k].(map[string]any); ok {
				subs = append(subs, sub)
			}
		}
		if br, ok := s["Branches"].([]any); ok {
			subs = append(subs, br...)
		}
		for _, sub := range subs {
			inner, _ := sub.(map[string]any)["States"].(map[string]any)
			aslTasks(inner, out)
		}
	}
}

// Each state machine may invoke exactly the functions its Task states name
// (those nested in a Map included), every Task has a timeout (a lesson paid
// for), and no function's own timeout outlasts the longest Task that runs
// it, even at its parameter's largest value.
func TestStateMachineInvokesItsFunctions(t *testing.T) {
	st := loadTemplate(t)
	want := map[string][]string{
		stateMachineID:  {"PollFunction", "StoreFunction"},
		engineMachineID: {imageFunctionID, "StoreFunction", "TranscribeFunction"},
	}
	if got := st.ofType(stateMachineType); !slices.Equal(got, []string{engineMachineID, stateMachineID}) {
		t.Errorf("state machines = %v", got)
	}
	for _, id := range st.ofType(stateMachineType) {
		t.Run(id, func(t *testing.T) {
			p := st.props(id)
			if got := cfn.Scalar(cfn.Get(p, "Type")); got != "STANDARD" {
				t.Errorf("Type = %q, want STANDARD", got)
			}
			file := filepath.Join(repoRoot(t), cfn.Scalar(cfn.Get(p, "DefinitionUri")))
			def, _ := readJSON(t, file).(map[string]any)
			top, _ := def["States"].(map[string]any)
			tasks := map[string]map[string]any{}
			aslTasks(top, tasks)

			invoked := map[string]int{} // function id -> longest task timeout
			for name, s := range tasks {
				timeout, ok := s["TimeoutSeconds"].(float64)
				if !ok && s["TimeoutSecondsPath"] == nil {
					t.Errorf("Task %s has no TimeoutSeconds", name)
				}
				params, _ := s["Parameters"].(map[string]any)
				fn, _ := params["FunctionName"].(string)
				names := cfn.SubNames(fn)
				if s["Resource"] != "arn:aws:states:::lambda:invoke" || len(names) == 0 {
					t.Errorf("Task %s: want Resource arn:aws:states:::lambda:invoke with FunctionName ${<Function>Arn}", name)
					continue
				}
				fid := strings.TrimSuffix(names[0], "Arn")
				invoked[fid] = max(invoked[fid], int(timeout))
			}

			var allowed []string
			for _, pol := range cfn.Get(p, "Policies").Content {
				if li := cfn.Get(pol, "LambdaInvokePolicy"); li != nil {
					fn := cfn.Get(li, "FunctionName")
					if name, arg := cfn.Intrinsic(fn); name != "Ref" || st.resourceType(arg.Value) != functionType {
						t.Errorf("LambdaInvokePolicy FunctionName = %s, want !Ref of a function", show(fn))
					} else {
						allowed = append(allowed, arg.Value)
					}
				}
			}
			var names []string
			for fid := range invoked {
				names = append(names, fid)
			}
			sort.Strings(allowed)
			sort.Strings(names)
			if !slices.Equal(allowed, names) {
				t.Errorf("LambdaInvokePolicy covers %v; the Task states invoke %v", allowed, names)
			}
			if !slices.Equal(names, want[id]) {
				t.Errorf("the Task states invoke %v, want %v", names, want[id])
			}

			// At the defaults, and with every Number parameter at its largest.
			params := cfn.Get(st.Doc, "Parameters")
			largest := map[string]string{}
			for _, name := range keys(params) {
				if v := cfn.Scalar(path(params, name, "MaxValue")); v != "" {
					largest[name] = v
				}
			}
			backend := map[string]string{stateMachineID: "api", engineMachineID: "engine"}[id]
			for _, s := range []*stack{backendStack(t, st, backend, nil), backendStack(t, st, backend, largest)} {
				for fid, taskTimeout := range invoked {
					if st.resourceType(fid) != functionType {
						t.Errorf("the ASL invokes ${%sArn}, but %s is not a function of this template", fid, fid)
						continue
					}
					if !s.exists(t, fid) {
						t.Errorf("%s invokes %s, which Backend=%s does not create", id, fid, backend)
					}
					fnTimeout, _ := strconv.Atoi(s.str(t, cfn.Get(st.FunctionProperties(fid), "Timeout")))
					if fnTimeout > taskTimeout {
						t.Errorf("%s's Timeout %d s outlasts every Task that runs it (longest %d s)", fid, fnTimeout, taskTimeout)
					}
				}
			}

			logging := cfn.Get(p, "Logging")
			dests := cfn.Get(logging, "Destinations")
			if dests == nil || len(dests.Content) != 1 {
				t.Fatalf("Logging = %s, want one CloudWatch Logs destination", show(logging))
			}
			arn := path(dests.Content[0], "CloudWatchLogsLogGroup", "LogGroupArn")
			name, arg := cfn.Intrinsic(arn)
			if group, attr := cfn.GetAtt(arg); name != "GetAtt" || attr != "Arn" || st.resourceType(group) != "AWS::Logs::LogGroup" {
				t.Errorf("LogGroupArn = %s, want !GetAtt <a log group>.Arn", show(arn))
			} else if r := path(st.props(group), "RetentionInDays"); r == nil {
				t.Errorf("the state machine's log group has no RetentionInDays")
			}
		})
	}
}

// Bounds that keep the loop inside Step Functions' limits: the job timeout
// plus one last wait and the store steps fit the execution's TimeoutSeconds,
// and the most polls allowed stay under the 25,000 events of history.
func TestLimitsFitTheStateMachine(t *testing.T) {
	st := loadTemplate(t)
	params := cfn.Get(st.Doc, "Parameters")
	num := func(param, field string) int {
		n := path(params, param, field)
		v, err := strconv.Atoi(cfn.Scalar(n))
		if err != nil {
			t.Fatalf("%s.%s = %s, want a number", param, field, show(n))
		}
		return v
	}
	for _, p := range []string{"PollMinSeconds", "PollMaxSeconds", "MaxPollAttempts", "JobTimeoutSeconds", "UrlExpirySeconds"} {
		if cfn.Scalar(path(params, p, "Type")) != "Number" {
			t.Errorf("%s: Type should be Number", p)
		}
		if d, lo, hi := num(p, "Default"), num(p, "MinValue"), num(p, "MaxValue"); d < lo || d > hi {
			t.Errorf("%s: default %d outside [%d, %d]", p, d, lo, hi)
		}
	}
	wantDefaults := map[string]string{"BackendUrl": "https://api.heygen.com", "SourceMode": "url", "BucketPrefix": "clipmill",
		"PollMinSeconds": "10", "PollMaxSeconds": "120", "MaxPollAttempts": "200", "JobTimeoutSeconds": "14400",
		"DefaultOutputSettings": `{"duration_types":["60"],"aspect_ratio":"portrait","captions":true}`}
	for p, want := range wantDefaults {
		if got := cfn.Scalar(path(params, p, "Default")); got != want {
			t.Errorf("%s default = %q, want %q", p, got, want)
		}
	}
	// DEFAULT_SETTINGS is decoded at cold start as pipeline.FromEnv does.
	if _, err := clipping.DecodeSettings([]byte(`{"output_settings":`+wantDefaults["DefaultOutputSettings"]+`}`), clipping.Options{}); err != nil {
		t.Errorf("DefaultOutputSettings' default is refused: %v", err)
	}
	if ret := path(params, "LogRetentionDays"); !slices.ContainsFunc(cfn.Get(ret, "AllowedValues").Content, func(n *yaml.Node) bool {
		return n.Value == cfn.Scalar(cfn.Get(ret, "Default"))
	}) {
		t.Error("LogRetentionDays' default is not one of its AllowedValues")
	}

	file := filepath.Join(repoRoot(t), cfn.Scalar(path(st.props(stateMachineID), "DefinitionUri")))
	def, states := aslStates(t, file)
	execTimeout, _ := def["TimeoutSeconds"].(float64)
	if execTimeout <= 0 {
		t.Fatal("the ASL has no top-level TimeoutSeconds")
	}
	tail := 0
	for _, name := range []string{"Store", "StoreFailure"} {
		v, _ := states[name]["TimeoutSeconds"].(float64)
		tail += int(v)
	}
	worst := num("JobTimeoutSeconds", "MaxValue") + num("PollMaxSeconds", "MaxValue") + tail
	if worst >= int(execTimeout) {
		t.Errorf("JobTimeoutSeconds max + PollMaxSeconds max + the store steps = %d s, not under the execution's TimeoutSeconds %d", worst, int(execTimeout))
	}
	// Wait (2 events) + Task (5) + Choice (2) per turn.
	if n := num("MaxPollAttempts", "MaxValue") * 9; n > 20000 {
		t.Errorf("MaxPollAttempts max makes %d history events, too close to Step Functions' 25,000", n)
	}
}

// The key is read at cold start from Secrets Manager or an SSM SecureString:
// no parameter may carry it, and nothing may put it into the environment.
func TestNoParameterHoldsTheKey(t *testing.T) {
	st := loadTemplate(t)
	params := cfn.Get(st.Doc, "Parameters")
	secretish := regexp.MustCompile(`(?i)secret|token|password|passwd|credential|apikey$|_key$`)
	for _, p := range keys(params) {
		if cfn.Scalar(path(params, p, "NoEcho")) == "true" {
			t.Errorf("parameter %s is NoEcho: a secret passed as a parameter ends up in the stack's history; read it from Secrets Manager or SSM", p)
		}
		if secretish.MatchString(p) {
			t.Errorf("parameter %s looks like it holds a secret", p)
		}
	}
	if d := path(params, "ApiKeyId", "Description"); !strings.Contains(cfn.Scalar(d), "never the key") {
		t.Errorf("ApiKeyId's description should say it is never the key itself")
	}
	raw := string(readRepoFile(t, "template.yaml"))
	if strings.Contains(raw, "{{resolve:") {
		t.Error("template.yaml uses a {{resolve:...}} dynamic reference: resolved secrets land in plain text in the function's configuration")
	}
	for _, id := range st.ofType(functionType) {
		vars := path(st.FunctionProperties(id), "Environment", "Variables")
		for _, k := range keys(vars) {
			if strings.Contains(k, "KEY") && k != "API_KEY_SOURCE" && k != "API_KEY_ID" {
				t.Errorf("%s: environment variable %s looks like a key", id, k)
			}
		}
		if v := cfn.Get(vars, "API_KEY_ID"); v != nil {
			if name, arg := cfn.Intrinsic(v); name != "Ref" || arg.Value != "ApiKeyId" {
				t.Errorf("%s: API_KEY_ID = %s, want !Ref ApiKeyId", id, show(v))
			}
		}
		if v := cfn.Get(vars, "API_KEY_SOURCE"); v != nil {
			if name, arg := cfn.Intrinsic(v); name != "Ref" || arg.Value != "ApiKeySource" {
				t.Errorf("%s: API_KEY_SOURCE = %s, want !Ref ApiKeySource", id, show(v))
			}
		}
	}
	src := path(params, "ApiKeySource", "AllowedValues")
	var allowed []string
	for _, v := range src.Content {
		allowed = append(allowed, v.Value)
	}
	if sort.Strings(allowed); !slices.Equal(allowed, []string{"secretsmanager", "ssm"}) {
		t.Errorf("ApiKeySource AllowedValues = %v, want [secretsmanager ssm]", allowed)
	}
	re := regexp.MustCompile(cfn.Scalar(path(params, "ApiKeyId", "AllowedPattern")))
	for _, id := range []string{"clipmill/heygen-api-key", "/clipmill/heygen-api-key",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:clipmill/heygen-api-key-AbCdEf"} {
		if !re.MatchString(id) {
			t.Errorf("ApiKeyId's AllowedPattern refuses %q", id)
		}
	}
}

// The outputs keep their names whatever the backend; StateMachineArn is
// the state machine the stack's backend runs.
func TestOutputs(t *testing.T) {
	st := loadTemplate(t)
	out := cfn.Get(st.Doc, "Outputs")
	if got, want := keys(out), []string{"BucketName", "InboxUri", "StateMachineArn", "SubmitFunctionName", "SubmitDeadLetterQueueUrl"}; !slices.Equal(got, want) {
		t.Errorf("outputs = %v, want %v", got, want)
	}
	for _, backend := range backends {
		s := backendStack(t, st, backend, nil)
		machine := map[string]string{"api": stateMachineID, "engine": engineMachineID}[backend]
		for name, want := range map[string]string{"BucketName": bucketID, "StateMachineArn": machine, "SubmitFunctionName": "SubmitFunction"} {
			if got := s.str(t, path(out, name, "Value")); got != "<"+want+">" {
				t.Errorf("Backend=%s: output %s = %s, want !Ref %s", backend, name, got, want)
			}
		}
	}
}

// samconfig.toml is small enough to check line by line without a TOML
// parser: the keys the deploy relies on, and no region pinned.
func TestSamconfig(t *testing.T) {
	text := string(readRepoFile(t, "samconfig.toml"))
	tables := map[string]map[string]string{}
	table := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			table = strings.Trim(line, "[]")
			tables[table] = map[string]string{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("samconfig.toml:%d: %q", i+1, line)
		}
		if tables[table] == nil {
			tables[table] = map[string]string{}
		}
		tables[table][strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	want := map[string]map[string]string{
		"":                          {"version": "0.1"},
		"default.global.parameters": {"stack_name": `"clipmill"`},
		"default.build.parameters":  {"cached": "true", "parallel": "true"},
		"default.deploy.parameters": {"capabilities": `"CAPABILITY_IAM"`, "confirm_changeset": "true", "resolve_s3": "true"},
	}
	for tbl, kv := range want {
		for k, v := range kv {
			if got := tables[tbl][k]; got != v {
				t.Errorf("samconfig.toml [%s] %s = %q, want %q", tbl, k, got, v)
			}
		}
	}
	for tbl, kv := range tables {
		if _, ok := kv["region"]; ok {
			t.Errorf("samconfig.toml [%s] pins a region", tbl)
		}
	}
	overrides := tables["default.deploy.parameters"]["parameter_overrides"]
	for _, p := range []string{"ApiKeyId=", "BackendUrl="} {
		if !strings.Contains(overrides, p) {
			t.Errorf("samconfig.toml deploy parameter_overrides should show how to set %s", strings.TrimSuffix(p, "="))
		}
	}
	// Every override names a parameter of the template.
	st := loadTemplate(t)
	for _, tbl := range []string{"default.deploy.parameters", "default.local_invoke.parameters"} {
		ov, _ := strconv.Unquote(tables[tbl]["parameter_overrides"])
		for _, f := range strings.Fields(ov) {
			name, _, _ := strings.Cut(f, "=")
			if path(st.Doc, "Parameters", name) == nil {
				t.Errorf("samconfig.toml [%s] overrides %s, which template.yaml does not declare", tbl, name)
			}
		}
	}
	if env := tables["default.local_invoke.parameters"]["env_vars"]; env != "" {
		f, _ := strconv.Unquote(env)
		if _, err := os.Stat(filepath.Join(repoRoot(t), f)); err != nil {
			t.Errorf("samconfig.toml local_invoke env_vars: %v", err)
		}
	}
}

// Every variable the template sets is one the functions read (a typo would
// leave the function on its default silently).
func TestEnvironmentIsRead(t *testing.T) {
	root := repoRoot(t)
	var files []string
	for _, pkg := range []string{"pipeline", "enginesteps"} {
		f, _ := filepath.Glob(filepath.Join(root, "internal", pkg, "*.go"))
		files = append(files, f...)
	}
	read := map[string]bool{}
	getenv := regexp.MustCompile(`(?:Getenv|LookupEnv|env|envInt)\("([A-Z][A-Z0-9_]*)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range getenv.FindAllStringSubmatch(string(src), -1) {
			read[m[1]] = true
		}
	}
	if len(read) == 0 {
		t.Fatal("found no environment variables read in internal/pipeline and internal/enginesteps")
	}
	st := loadTemplate(t)
	for _, id := range st.ofType(functionType) {
		for _, k := range keys(path(st.FunctionProperties(id), "Environment", "Variables")) {
			if !read[k] {
				t.Errorf("%s sets %s, which neither internal/pipeline nor internal/enginesteps reads", id, k)
			}
		}
	}
}

// Each parameter's default passes its own constraints, as CloudFormation
// checks them at deploy time (AllowedPattern must match the whole value).
func TestParameterDefaultsAreAllowed(t *testing.T) {
	st := loadTemplate(t)
	params := cfn.Get(st.Doc, "Parameters")
	for _, name := range keys(params) {
		p := cfn.Get(params, name)
		typ := cfn.Scalar(cfn.Get(p, "Type"))
		if typ != "String" && typ != "Number" {
			t.Errorf("%s: Type %q", name, typ)
		}
		if cfn.Scalar(cfn.Get(p, "Description")) == "" {
			t.Errorf("%s has no Description", name)
		}
		d := cfn.Get(p, "Default")
		if d == nil {
			continue
		}
		v := d.Value
		if pat := cfn.Scalar(cfn.Get(p, "AllowedPattern")); pat != "" {
			re, err := regexp.Compile(pat)
			if err != nil {
				t.Errorf("%s: AllowedPattern: %v", name, err)
			} else if loc := re.FindStringIndex(v); loc == nil || loc[0] != 0 || loc[1] != len(v) {
				t.Errorf("%s: default %q does not match AllowedPattern %s", name, v, pat)
			}
		}
		if av := cfn.Get(p, "AllowedValues"); av != nil && !slices.ContainsFunc(av.Content, func(n *yaml.Node) bool { return n.Value == v }) {
			t.Errorf("%s: default %q is not one of AllowedValues", name, v)
		}
		if n := cfn.Scalar(cfn.Get(p, "MinLength")); n != "" {
			if min, _ := strconv.Atoi(n); len(v) < min {
				t.Errorf("%s: default %q is shorter than MinLength %d", name, v, min)
			}
		}
		if n := cfn.Scalar(cfn.Get(p, "MaxLength")); n != "" {
			if max, _ := strconv.Atoi(n); len(v) > max {
				t.Errorf("%s: default %q is longer than MaxLength %d", name, v, max)
			}
		}
		if typ == "Number" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Errorf("%s: default %q is not a number", name, v)
			}
			if n := cfn.Scalar(cfn.Get(p, "MinValue")); n != "" {
				if lo, _ := strconv.ParseFloat(n, 64); x < lo {
					t.Errorf("%s: default %v < MinValue %v", name, x, lo)
				}
			}
			if n := cfn.Scalar(cfn.Get(p, "MaxValue")); n != "" {
				if hi, _ := strconv.ParseFloat(n, 64); x > hi {
					t.Errorf("%s: default %v > MaxValue %v", name, x, hi)
				}
			}
		}
	}
}

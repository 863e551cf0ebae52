package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cfn-lint (Python; it runs the SAM transform itself, offline) is not a
// requirement of this repository, but where it is installed it checks
// template.yaml against CloudFormation's resource schemas, and it must see
// the classic bucket cycle in a broken copy just as dependencies() does.
func TestCfnLint(t *testing.T) {
	if testing.Short() {
		t.Skip("an external tool (cfn-lint, asl-validator, aws-local-stepfunctions, the AWS CLI): the full run has it")
	}
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed (pip install cfn-lint): template.yaml checked by the Go tests only")
	}
	root := repoRoot(t)
	if out, err := runTool(t, root, lint, "--", "template.yaml"); err != nil {
		t.Errorf("cfn-lint template.yaml: %v\n%s", err, out)
	}

	dir := t.TempDir()
	src := string(readRepoFile(t, "template.yaml"))
	anchor := "        - StepFunctionsExecutionPolicy:\n"
	if !strings.Contains(src, anchor) {
		t.Fatalf("template.yaml has no %q to break a copy at", strings.TrimSpace(anchor))
	}
	broken := strings.Replace(src, anchor, "        - S3ReadPolicy:\n            BucketName: !Ref ClipBucket\n"+anchor, 1)
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, dir, lint, "--", "template.yaml")
	if err == nil || !strings.Contains(out, "E3004") {
		t.Errorf("cfn-lint on a copy with S3ReadPolicy on !Ref ClipBucket: want E3004 (circular dependency), got %v\n%s", err, out)
	}
}

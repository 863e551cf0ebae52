package enginesteps

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The functions' environment: the bucket is required, the preset and the
// scratch folder have defaults that suit Lambda.
func TestFromConfig(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1"}
	t.Setenv("BUCKET_NAME", "")
	if _, err := fromConfig(cfg); err == nil {
		t.Error("no BUCKET_NAME: no error")
	}
	t.Setenv("BUCKET_NAME", "clipmill-123456789012-eu-west-1")
	t.Setenv("X264_PRESET", "faster")
	t.Setenv("TMPDIR", "")
	s, err := fromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Bucket.Name() != "clipmill-123456789012-eu-west-1" || s.Engine.Encoder.Preset != "faster" || s.Scratch != "/tmp" || s.Recogniser != nil {
		t.Errorf("steps = %+v, engine %+v", s, s.Engine)
	}
}

// template.yaml lets the transcribe function check the jobs named
// clipmill-*, in the characters Transcribe allows.
func TestJobNamesMatchThePolicy(t *testing.T) {
	valid := regexp.MustCompile(`^clipmill-[0-9a-zA-Z._-]{1,190}$`)
	for _, work := range []string{"work/talk-1-0123456789abcdef/", "work/Ünïcode talk (2)-2-abc/"} {
		if n := jobName(work); !valid.MatchString(n) {
			t.Errorf("jobName(%q) = %q", work, n)
		}
	}
}

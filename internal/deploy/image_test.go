package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/cfn"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/selection"
)

// The engine's function (Backend=engine) runs in a container image: SAM
// builds it with Docker from its Metadata, for arm64, and it must carry
// none of a zip function's properties (SAM refuses Runtime and Handler on
// an image function, Globals included).
func TestImageFunction(t *testing.T) {
	st := loadTemplate(t)
	res := st.resources[imageFunctionID]
	p := st.FunctionProperties(imageFunctionID)
	if got := cfn.Scalar(cfn.Get(p, "PackageType")); got != "Image" {
		t.Fatalf("%s PackageType = %q, want Image", imageFunctionID, got)
	}
	for _, k := range []string{"Runtime", "Handler", "CodeUri", "Layers", "InlineCode"} {
		if v := cfn.Get(p, k); v != nil {
			t.Errorf("%s has %s = %s (from Globals or its own): SAM refuses it on an image function", imageFunctionID, k, show(v))
		}
	}
	if a := cfn.Get(p, "Architectures"); a == nil || len(a.Content) != 1 || cfn.Scalar(a.Content[0]) != "arm64" {
		t.Errorf("Architectures = %s, want [arm64]", show(a))
	}
	md := cfn.Get(res, "Metadata")
	if cfn.Get(md, "BuildMethod") != nil {
		t.Errorf("Metadata.BuildMethod is for zip functions; an image is built from Metadata.Dockerfile")
	}
	if got := cfn.Scalar(cfn.Get(md, "DockerContext")); got != "." {
		t.Errorf("Metadata.DockerContext = %q, want . (the Go module's root)", got)
	}
	if cfn.Scalar(cfn.Get(md, "DockerTag")) == "" {
		t.Error("Metadata.DockerTag is empty")
	}
	dockerfile := filepath.Join(cfn.Scalar(cfn.Get(md, "DockerContext")), cfn.Scalar(cfn.Get(md, "Dockerfile")))
	if dockerfile != filepath.Join(functionDir(imageFunctionID), "Dockerfile") {
		t.Errorf("Metadata: the Dockerfile is %s, want %s/Dockerfile", dockerfile, functionDir(imageFunctionID))
	}
	readRepoFile(t, dockerfile)

	for prop, param := range map[string]string{"MemorySize": "RenderMemorySize", "Timeout": "RenderTimeoutSeconds"} {
		if name, arg := cfn.Intrinsic(cfn.Get(p, prop)); name != "Ref" || arg.Value != param {
			t.Errorf("%s = %s, want !Ref %s", prop, show(cfn.Get(p, prop)), param)
		}
	}
	if name, arg := cfn.Intrinsic(path(p, "EphemeralStorage", "Size")); name != "Ref" || arg.Value != "RenderTmpSize" {
		t.Errorf("EphemeralStorage.Size = %s, want !Ref RenderTmpSize", show(path(p, "EphemeralStorage", "Size")))
	}
	if name, arg := cfn.Intrinsic(path(p, "Environment", "Variables", "X264_PRESET")); name != "Ref" || arg.Value != "RenderPreset" {
		t.Errorf("X264_PRESET = %s, want !Ref RenderPreset", show(path(p, "Environment", "Variables", "X264_PRESET")))
	}
}

// instruction is one Dockerfile instruction, its continuation lines joined.
type instruction struct {
	Cmd  string // FROM, RUN, COPY, ... in upper case
	Args string
}

func dockerfile(t *testing.T, file string) []instruction {
	t.Helper()
	var out []instruction
	var cur string
	for _, line := range strings.Split(string(readRepoFile(t, file)), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if more, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur += more + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur = ""
	}
	if cur != "" {
		t.Fatalf("%s ends inside a continued line", file)
	}
	return out
}

// The image is built in two stages: the Go binary for linux/arm64 with the
// Makefile's flags, then Debian 12 with the packages of
// scripts/packages.txt, installed by scripts/packages.sh as make setup
// installs them, and the binary as the entry point (aws-lambda-go speaks
// the Runtime API, so no AWS base image is needed).
func TestDockerfile(t *testing.T) {
	file := filepath.Join(functionDir(imageFunctionID), "Dockerfile")
	ins := dockerfile(t, file)
	var stages [][]instruction
	for _, in := range ins {
		if in.Cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) != 2 {
		t.Fatalf("%s has %d stages, want 2 (build, runtime)", file, len(stages))
	}
	build, runtime := stages[0], stages[1]
	from := regexp.MustCompile(`^(--platform=\S+\s+)?golang:[0-9.]+-bookworm\s+AS\s+build$`)
	if !from.MatchString(build[0].Args) {
		t.Errorf("build stage: FROM %s, want golang:<version>-bookworm AS build", build[0].Args)
	}
	goBuild := ""
	for _, in := range build {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			goBuild = in.Args
		}
	}
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-tags lambda.norpc", "./" + functionDir(imageFunctionID)} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("build stage: the go build (%q) lacks %s", goBuild, want)
		}
	}
	if got := runtime[0].Args; got != "debian:bookworm-slim" {
		t.Errorf("runtime stage: FROM %s, want debian:bookworm-slim (Debian 12, as make setup expects)", got)
	}
	var copied, install, entry string
	for _, in := range runtime {
		switch in.Cmd {
		case "COPY":
			copied += in.Args + "\n"
		case "RUN":
			if strings.Contains(in.Args, "apt-get install") {
				install = in.Args
			}
		case "ENTRYPOINT":
			entry = in.Args
		}
	}
	for _, f := range []string{"scripts/packages.sh", "scripts/packages.txt"} {
		if !strings.Contains(copied, f) {
			t.Errorf("runtime stage does not COPY %s", f)
		}
	}
	for _, want := range []string{"packages.sh", "apt-get update", "--no-install-recommends", "fc-cache", "rm -rf /var/lib/apt/lists"} {
		if !strings.Contains(install, want) {
			t.Errorf("runtime stage: the install step (%q) lacks %s", install, want)
		}
	}
	m := regexp.MustCompile(`--from=build\s+(\S+)\s+(\S+)`).FindStringSubmatch(copied)
	if m == nil {
		t.Fatal("runtime stage: no COPY --from=build of the binary")
	}
	if entry != `["`+m[2]+`"]` {
		t.Errorf("ENTRYPOINT %s, want [%q], the binary copied from the build stage", entry, m[2])
	}
}

// One package list: scripts/packages.sh reads scripts/packages.txt for
// both make setup and the image, so a laptop and AWS render with the same
// ffmpeg and fonts.
func TestOnePackageList(t *testing.T) {
	root := repoRoot(t)
	setup := string(readRepoFile(t, "scripts/setup.sh"))
	if !strings.Contains(setup, "scripts/packages.sh") {
		t.Error("scripts/setup.sh does not read its packages through scripts/packages.sh")
	}
	for _, dev := range []string{"ffmpeg", "pocketsphinx", "fonts-"} {
		if regexp.MustCompile(`(?m)^[^#]*\b` + dev).MatchString(setup) {
			t.Errorf("scripts/setup.sh names %s itself: the engine's packages belong in scripts/packages.txt", dev)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out, err := exec.Command(sh, filepath.Join(root, "scripts", "packages.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/packages.sh: %v", err)
	}
	list := strings.Fields(string(out))
	for _, want := range []string{"ffmpeg", "pocketsphinx", "pocketsphinx-en-us", "fonts-league-spartan", "fonts-inter",
		"fonts-dejavu-core", "fonts-noto-color-emoji"} {
		if !slices.Contains(list, want) {
			t.Errorf("the package list %v lacks %s", list, want)
		}
	}
	for _, dev := range []string{"espeak-ng", "wrk", "curl"} {
		if slices.Contains(list, dev) {
			t.Errorf("the package list names %s, a development tool the image does not need", dev)
		}
	}
	// Comments, blank lines and stray spaces are not packages.
	f := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(f, []byte("# a comment\n\n  ffmpeg  # the encoder\n\tfonts-inter\n#last\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sh, filepath.Join(root, "scripts", "packages.sh"), f).Output(); err != nil || string(out) != "ffmpeg\nfonts-inter\n" {
		t.Errorf("scripts/packages.sh on a list with comments: %q, %v", out, err)
	}
	// Where make setup ran (Debian), each name is a package it installed.
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		for _, p := range list {
			if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", p).Output(); err != nil || !strings.Contains(string(out), "install ok installed") {
				t.Logf("%s is not installed here (run make setup): %s", p, out)
			}
		}
	}
}

// dockerignored says whether Docker leaves a path (relative to the build
// context, with slashes) out of the context: the last pattern of
// .dockerignore that matches the path or one of its parent folders
// decides, "!" patterns putting it back.
func dockerignored(patterns []string, rel string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/"), "/")
		re := regexp.MustCompile("^" + globRegexp(p) + "$")
		parts := strings.Split(rel, "/")
		for i := 1; i <= len(parts); i++ {
			if re.MatchString(strings.Join(parts[:i], "/")) {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}

// globRegexp turns a .dockerignore pattern into a regular expression:
// ** any number of folders, * and ? within one name.
func globRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return b.String()
}

// The image's build context is the repository root: .dockerignore keeps
// what the Dockerfile copies (the module files, the engine's Go packages
// and their embedded files, the package list) and leaves out the rest
// (node_modules/, demo/, .git, ...), which would make every build slow.
func TestDockerignore(t *testing.T) {
	root := repoRoot(t)
	var patterns []string
	for _, line := range strings.Split(string(readRepoFile(t, ".dockerignore")), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	if !dockerignored([]string{"*", "!internal/", "**/testdata"}, "node_modules/x/y.js") ||
		dockerignored([]string{"*", "!internal/", "**/testdata"}, "internal/a/b.go") ||
		!dockerignored([]string{"*", "!internal/", "**/testdata"}, "internal/a/testdata/c.mp4") {
		t.Fatal("dockerignored does not follow Docker's rules")
	}
	needed := []string{"go.mod", "go.sum", "scripts/packages.sh", "scripts/packages.txt"}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}\n{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}\n{{end}}{{end}}", "./"+functionDir(imageFunctionID))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if rel, err := filepath.Rel(root, f); err == nil && !strings.HasPrefix(rel, "..") {
			needed = append(needed, filepath.ToSlash(rel))
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, f := range needed {
		if dockerignored(patterns, f) {
			t.Errorf(".dockerignore leaves out %s, which the image's build needs", f)
		}
	}
	for _, f := range []string{"node_modules/asl-validator/package.json", ".git/HEAD", "demo/talk.mp4", "bench-out/x.json",
		"build/engine/bootstrap", "clipmill", "template.yaml", "README.md", "internal/engine/engine_test.go",
		"internal/server/testdata/x.mp4"} {
		if !dockerignored(patterns, f) {
			t.Errorf(".dockerignore sends %s into the image's build context", f)
		}
	}
}

// make build cross-builds the engine's binary for arm64 (so a change that
// breaks it shows without Docker), and make image runs the docker build
// that sam build would.
func TestMakeBuildsTheEngine(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root := repoRoot(t)
	run := func(target string) string {
		cmd := exec.Command("make", "--no-print-directory", "-n", target)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	build := run("build")
	engine := ""
	for _, line := range strings.Split(build, "\n") {
		if strings.Contains(line, "./"+functionDir(imageFunctionID)) {
			engine = line
		}
	}
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "lambda.norpc"} {
		if !strings.Contains(engine, want) {
			t.Errorf("make build's engine line %q lacks %s:\n%s", engine, want, build)
		}
	}
	for _, fn := range []string{"submit", "poll", "store", "transcribe"} {
		if !strings.Contains(build, "./functions/"+fn) {
			t.Errorf("make build does not build functions/%s:\n%s", fn, build)
		}
	}
	image := run("image")
	for _, want := range []string{"docker build", "--platform linux/arm64", "-f " + functionDir(imageFunctionID) + "/Dockerfile"} {
		if !strings.Contains(image, want) {
			t.Errorf("make image (%q) lacks %s", image, want)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(image), " .") {
		t.Errorf("make image (%q): the build context should be the repository root", image)
	}
}

// The defaults of the engine's function fit the longest clip the engine
// makes ("long": up to selection.Windows' maximum, 10 minutes) at 1080p:
//   - CPU: measured on two x86 cores, a 60 s 1080x1920 clip with captions
//     encodes in about 28 s with x264 veryfast, 0.93 core-seconds a second
//     of clip; Lambda gives one vCPU per 1769 MB. With Graviton cores taken
//     as 1.5 times slower and the reframe, excerpt and thumbnail passes as
//     30% more, the clip must render within half the timeout.
//   - /tmp: the clip's excerpt of the source (a 1080p source up to 25
//     Mbit/s, copied as it is) and the clip (about 8 Mbit/s at CRF 20).
func TestRenderDefaultsFitALongClip(t *testing.T) {
	st := loadTemplate(t)
	params := cfn.Get(st.Doc, "Parameters")
	num := func(name string) float64 {
		v, err := strconv.ParseFloat(cfn.Scalar(path(params, name, "Default")), 64)
		if err != nil {
			t.Fatalf("%s: Default: %v", name, err)
		}
		return v
	}
	long := selection.Windows[clipping.DurationLong].Max
	if long < 600 {
		t.Fatalf("the longest clip is %v s: update this sizing", long)
	}
	const coreSecondsPerSecond = 28.0 / 60 * 2
	vcpus := num("RenderMemorySize") / 1769
	render := long * coreSecondsPerSecond * 1.5 * 1.3 / vcpus
	if timeout := num("RenderTimeoutSeconds"); render > timeout/2 {
		t.Errorf("a %v s clip at %v MB (%.1f vCPUs) takes about %.0f s: more than half of RenderTimeoutSeconds %v",
			long, num("RenderMemorySize"), vcpus, render, timeout)
	} else {
		t.Logf("a %v s clip at %v MB (%.1f vCPUs): about %.0f s of %v", long, num("RenderMemorySize"), vcpus, render, timeout)
	}
	tmpMB := long * (25 + 8) / 8
	if size := num("RenderTmpSize"); tmpMB > size*0.8 {
		t.Errorf("a %v s excerpt and clip need about %.0f MB: more than 80%% of RenderTmpSize %v", long, tmpMB, size)
	}
}

// The engine's state machine renders $.limits.render_concurrency clips at
// once: the RenderConcurrency that submit passes on (pipeline.FromEnv puts
// it in the execution's limits), at most the 40 an inline Map runs.
func TestEngineMachineLimits(t *testing.T) {
	st := loadTemplate(t)
	file := filepath.Join(repoRoot(t), cfn.Scalar(path(st.props(engineMachineID), "DefinitionUri")))
	def, states := aslStates(t, file)
	var maps []string
	for name, s := range states {
		if s["Type"] == "Map" {
			maps = append(maps, name)
			if got := s["MaxConcurrencyPath"]; got != "$.limits.render_concurrency" {
				t.Errorf("Map %s: MaxConcurrencyPath = %v, want $.limits.render_concurrency", name, got)
			}
		}
	}
	if len(maps) != 1 {
		t.Errorf("Map states %v, want one (the render)", maps)
	}
	if to, _ := def["TimeoutSeconds"].(float64); to <= 0 || to > 86400 {
		t.Errorf("TimeoutSeconds = %v, want at most a day (WorkExpiryDays' lower bound counts on it)", def["TimeoutSeconds"])
	}
	params := cfn.Get(st.Doc, "Parameters")
	if n, err := strconv.Atoi(cfn.Scalar(path(params, "RenderConcurrency", "MaxValue"))); err != nil || n > 40 {
		t.Errorf("RenderConcurrency MaxValue = %s, want at most 40", show(path(params, "RenderConcurrency", "MaxValue")))
	}
	if n, _ := strconv.Atoi(cfn.Scalar(path(params, "WorkExpiryDays", "MinValue"))); n < 2 {
		t.Errorf("WorkExpiryDays MinValue = %d: work/ could expire under a running execution", n)
	}
	vars := path(st.props("SubmitFunction"), "Environment", "Variables")
	if name, arg := cfn.Intrinsic(cfn.Get(vars, "RENDER_CONCURRENCY")); name != "Ref" || arg.Value != "RenderConcurrency" {
		t.Error("submit does not pass RenderConcurrency on as RENDER_CONCURRENCY")
	}
}

// work/ expires: the store step deletes an execution's audio, but a crashed
// execution leaves it, and in a versioned bucket a deleted object lingers
// as a noncurrent version.
func TestWorkExpires(t *testing.T) {
	st := loadTemplate(t)
	found := false
	for _, r := range path(st.props(bucketID), "LifecycleConfiguration", "Rules").Content {
		if cfn.Scalar(cfn.Get(r, "Prefix")) != "work/" && cfn.Scalar(path(r, "Filter", "Prefix")) != "work/" {
			continue
		}
		found = true
		if cfn.Scalar(cfn.Get(r, "Status")) != "Enabled" {
			t.Error("the work/ rule is not Enabled")
		}
		if name, arg := cfn.Intrinsic(cfn.Get(r, "ExpirationInDays")); name != "Ref" || arg.Value != "WorkExpiryDays" {
			t.Errorf("work/ ExpirationInDays = %s, want !Ref WorkExpiryDays", show(cfn.Get(r, "ExpirationInDays")))
		}
		if d, _ := strconv.Atoi(cfn.Scalar(path(r, "NoncurrentVersionExpiration", "NoncurrentDays"))); d < 1 || d > 7 {
			t.Errorf("work/ NoncurrentVersionExpiration = %s, want a few days at most", show(cfn.Get(r, "NoncurrentVersionExpiration")))
		}
	}
	if !found {
		t.Error("no lifecycle rule expires work/")
	}
}

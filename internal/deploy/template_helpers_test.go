package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/cfn"
	"gopkg.in/yaml.v3"
)

// The tests read files relative to the repository root, found from the
// package directory by walking up to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func readRepoFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return b
}

// samTemplate is template.yaml, with its resources by logical id.
type samTemplate struct {
	*cfn.Template
	resources map[string]*yaml.Node
	ids       []string // logical ids in file order
}

func loadTemplate(t testing.TB) *samTemplate {
	t.Helper()
	return parseTemplate(t, readRepoFile(t, "template.yaml"))
}

func parseTemplate(t testing.TB, data []byte) *samTemplate {
	t.Helper()
	tpl, err := cfn.Parse(data)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	st := &samTemplate{Template: tpl, resources: map[string]*yaml.Node{}}
	res := cfn.Get(st.Doc, "Resources")
	if res == nil || res.Kind != yaml.MappingNode {
		t.Fatal("template.yaml: no Resources mapping")
	}
	for i := 0; i+1 < len(res.Content); i += 2 {
		id := res.Content[i].Value
		if _, dup := st.resources[id]; dup {
			t.Fatalf("template.yaml: resource %s is declared twice", id)
		}
		st.resources[id] = res.Content[i+1]
		st.ids = append(st.ids, id)
	}
	return st
}

// clone deep-copies the template, for tests that break a copy on purpose.
func (st *samTemplate) clone(t testing.TB) *samTemplate {
	t.Helper()
	out, err := yaml.Marshal(st.Doc)
	if err != nil {
		t.Fatal(err)
	}
	return parseTemplate(t, out)
}

func (st *samTemplate) resourceType(id string) string {
	return cfn.Scalar(cfn.Get(st.resources[id], "Type"))
}

// ofType lists the logical ids of a type, sorted.
func (st *samTemplate) ofType(typ string) []string {
	var ids []string
	for _, id := range st.ids {
		if st.resourceType(id) == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (st *samTemplate) props(id string) *yaml.Node { return cfn.Get(st.resources[id], "Properties") }

// path follows keys through nested mappings.
func path(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = cfn.Get(n, k)
	}
	return n
}

func keys(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var ks []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		ks = append(ks, n.Content[i].Value)
	}
	return ks
}

func isIntrinsic(n *yaml.Node) bool {
	name, _ := cfn.Intrinsic(n)
	return name != ""
}

// show renders a node as one line of YAML, for messages and for comparing
// two nodes by their meaning rather than their position.
func show(n *yaml.Node) string {
	if n == nil {
		return "<nothing>"
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	c := *n
	c.Style = yaml.FlowStyle
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	if err := enc.Encode(&c); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return strings.TrimSpace(buf.String())
}

// same compares two nodes by meaning: functions, kinds and values,
// ignoring syntax, style, comments and position.
func same(a, b *yaml.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if fa, argA := cfn.Intrinsic(a); fa != "" {
		fb, argB := cfn.Intrinsic(b)
		return fa == fb && same(argA, argB)
	}
	if isIntrinsic(b) || a.Kind != b.Kind {
		return false
	}
	if a.Kind == yaml.ScalarNode {
		return a.Value == b.Value
	}
	if len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !same(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

func mustParseNode(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return n.Content[0]
}

// walk visits every node under n, depth first.
func walk(n *yaml.Node, visit func(*yaml.Node)) {
	if n == nil {
		return
	}
	visit(n)
	for _, c := range n.Content {
		walk(c, visit)
	}
}

// functionDir is where a function's main package lives: SubmitFunction is
// functions/submit/.
func functionDir(id string) string {
	return "functions/" + strings.ToLower(strings.TrimSuffix(id, "Function"))
}

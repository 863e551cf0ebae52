package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

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

// samTemplate is template.yaml as yaml.v3 nodes.
type samTemplate struct {
	doc       *yaml.Node // the top-level mapping
	resources map[string]*yaml.Node
	ids       []string // logical ids in file order
}

func loadTemplate(t testing.TB) *samTemplate {
	t.Helper()
	return parseTemplate(t, readRepoFile(t, "template.yaml"))
}

func parseTemplate(t testing.TB, data []byte) *samTemplate {
	t.Helper()
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		t.Fatal("template.yaml: not a single YAML mapping")
	}
	st := &samTemplate{doc: root.Content[0], resources: map[string]*yaml.Node{}}
	res := get(st.doc, "Resources")
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
	out, err := yaml.Marshal(st.doc)
	if err != nil {
		t.Fatal(err)
	}
	return parseTemplate(t, out)
}

func (st *samTemplate) resourceType(id string) string {
	return scalar(get(st.resources[id], "Type"))
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

func (st *samTemplate) props(id string) *yaml.Node { return get(st.resources[id], "Properties") }

// functionProps is a function's Properties merged with Globals.Function the
// way SAM merges them: maps merge key by key with the function winning,
// lists concatenate, anything else (intrinsics included) is replaced.
func (st *samTemplate) functionProps(id string) *yaml.Node {
	global := get(get(st.doc, "Globals"), "Function")
	local := st.props(id)
	switch {
	case global == nil:
		return local
	case local == nil:
		return global
	}
	return samMerge(global, local)
}

func samMerge(global, local *yaml.Node) *yaml.Node {
	gMap := global.Kind == yaml.MappingNode && !isIntrinsic(global)
	lMap := local.Kind == yaml.MappingNode && !isIntrinsic(local)
	switch {
	case gMap && lMap:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		seen := map[string]bool{}
		for i := 0; i+1 < len(global.Content); i += 2 {
			k := global.Content[i].Value
			seen[k] = true
			v := global.Content[i+1]
			if lv := get(local, k); lv != nil {
				v = samMerge(v, lv)
			}
			out.Content = append(out.Content, global.Content[i], v)
		}
		for i := 0; i+1 < len(local.Content); i += 2 {
			if !seen[local.Content[i].Value] {
				out.Content = append(out.Content, local.Content[i], local.Content[i+1])
			}
		}
		return out
	case global.Kind == yaml.SequenceNode && local.Kind == yaml.SequenceNode && !isIntrinsic(global) && !isIntrinsic(local):
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		out.Content = append(append(out.Content, global.Content...), local.Content...)
		return out
	}
	return local
}

// get looks a key up in a mapping node; nil when n is not a mapping or has
// no such key.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// path follows keys through nested mappings.
func path(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = get(n, k)
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

// scalar is a plain scalar's value; "" for anything else, intrinsics
// included.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || shortTag(n) != "" {
		return ""
	}
	return n.Value
}

// shortTag is a CloudFormation short-form tag without its "!" ("Ref",
// "Sub", "GetAtt", ...), or "".
func shortTag(n *yaml.Node) string {
	if n == nil || !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return ""
	}
	return strings.TrimPrefix(n.Tag, "!")
}

// intrinsic says which intrinsic function a node is ("Ref", "Sub", "If",
// "GetAtt", "Equals", ...) and its argument, in either syntax: `!Sub x` or
// `Fn::Sub: x`, `!Ref x` or `Ref: x`. name is "" for anything else.
func intrinsic(n *yaml.Node) (name string, arg *yaml.Node) {
	if n == nil {
		return "", nil
	}
	if tag := shortTag(n); tag != "" {
		arg := *n
		arg.Tag = ""
		switch n.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		return tag, &arg
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		switch {
		case k == "Ref" || k == "Condition":
			return k, n.Content[1]
		case strings.HasPrefix(k, "Fn::"):
			return strings.TrimPrefix(k, "Fn::"), n.Content[1]
		}
	}
	return "", nil
}

func isIntrinsic(n *yaml.Node) bool {
	name, _ := intrinsic(n)
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

// same compares two nodes by meaning: tags, kinds and values, ignoring
// style, comments and position.
func same(a, b *yaml.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || shortTag(a) != shortTag(b) {
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

// The values of the template's Backend parameter: every test that depends
// on the backend runs for each.
var backends = []string{"api", "engine"}

// backendStack is the stack of one backend, with an API key where the api
// backend needs one (the rule ApiBackendNeedsAKey) and the other
// parameters at their defaults, overrides applied last.
func backendStack(t testing.TB, st *samTemplate, backend string, overrides map[string]string) *stack {
	t.Helper()
	params := map[string]string{"Backend": backend}
	if backend == "api" {
		params["ApiKeyId"] = "clipmill/heygen-api-key"
	}
	for k, v := range overrides {
		params[k] = v
	}
	return newStack(t, st, params)
}

// exists says whether a resource is created in this stack: it has no
// Condition, or its Condition holds.
func (s *stack) exists(t testing.TB, id string) bool {
	t.Helper()
	res := s.st.resources[id]
	if res == nil {
		return false
	}
	c := get(res, "Condition")
	if c == nil {
		return true
	}
	ok, err := s.condition(scalar(c))
	if err != nil {
		t.Fatalf("%s: Condition: %v", id, err)
	}
	return ok
}

// live lists the logical ids of a type that this stack creates, sorted.
func (s *stack) live(t testing.TB, typ string) []string {
	t.Helper()
	var out []string
	for _, id := range s.st.ofType(typ) {
		if s.exists(t, id) {
			out = append(out, id)
		}
	}
	return out
}

// liveRefs reports the names n refers to (!Ref, !GetAtt, !Sub) on the
// branches of its !If functions that this stack takes: what CloudFormation
// resolves, so each must be a parameter or a resource that exists.
func (s *stack) liveRefs(t testing.TB, n *yaml.Node, ref func(string)) {
	t.Helper()
	if n == nil {
		return
	}
	name, arg := intrinsic(n)
	if name == "If" && arg.Kind == yaml.SequenceNode && len(arg.Content) == 3 {
		ok, err := s.condition(arg.Content[0].Value)
		if err != nil {
			t.Fatalf("!If %s: %v", arg.Content[0].Value, err)
		}
		if ok {
			s.liveRefs(t, arg.Content[1], ref)
		} else {
			s.liveRefs(t, arg.Content[2], ref)
		}
		return
	}
	switch name {
	case "Ref", "GetAtt", "Sub":
		refsIn(n, ref)
		return
	}
	for _, c := range n.Content {
		s.liveRefs(t, c, ref)
	}
}

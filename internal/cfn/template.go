// Package cfn reads an AWS SAM or CloudFormation template with its short
// tags (!Ref, !Sub, !If, ...) and evaluates its intrinsic functions the
// way CloudFormation would for one set of parameter values, offline. The
// local Lambda runtime takes a function's configuration from it, and the
// deploy tests the conditions and ARNs of each backend.
package cfn

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a template as yaml.v3 nodes, which keep the short tags.
type Template struct {
	Doc *yaml.Node // the top-level mapping
}

// Read reads a template file.
func Read(file string) (*Template, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return t, nil
}

// Parse parses a template's YAML.
func Parse(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a single YAML mapping")
	}
	return &Template{Doc: root.Content[0]}, nil
}

// Resource is the resource with logical id id, or nil.
func (t *Template) Resource(id string) *yaml.Node {
	return Get(Get(t.Doc, "Resources"), id)
}

// FunctionProperties is a function's Properties merged with
// Globals.Function the way SAM merges them: maps merge key by key with the
// function winning, lists concatenate, anything else (intrinsics included)
// is replaced.
func (t *Template) FunctionProperties(id string) *yaml.Node {
	global := Get(Get(t.Doc, "Globals"), "Function")
	local := Get(t.Resource(id), "Properties")
	switch {
	case global == nil:
		return local
	case local == nil:
		return global
	}
	return samMerge(global, local)
}

func samMerge(global, local *yaml.Node) *yaml.Node {
	gName, _ := Intrinsic(global)
	lName, _ := Intrinsic(local)
	plain := gName == "" && lName == ""
	switch {
	case plain && global.Kind == yaml.MappingNode && local.Kind == yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		seen := map[string]bool{}
		for i := 0; i+1 < len(global.Content); i += 2 {
			k := global.Content[i].Value
			seen[k] = true
			v := global.Content[i+1]
			if lv := Get(local, k); lv != nil {
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
	case plain && global.Kind == yaml.SequenceNode && local.Kind == yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		out.Content = append(append(out.Content, global.Content...), local.Content...)
		return out
	}
	return local
}

// Get looks a key up in a mapping node (or a document of one); nil when n
// is not a mapping or has no such key.
func Get(n *yaml.Node, key string) *yaml.Node {
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

// Scalar is a plain scalar's value; "" for anything else, intrinsics
// included.
func Scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || shortTag(n) != "" {
		return ""
	}
	return n.Value
}

// shortTag is a short-form tag without its "!" ("Ref", "Sub", ...), or "".
func shortTag(n *yaml.Node) string {
	if n == nil || !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return ""
	}
	return n.Tag[1:]
}

// Intrinsic says which intrinsic function a node calls ("Ref", "Sub",
// "If", "GetAtt", "Equals", "Condition", ...) and its argument, in either
// syntax: `!Sub x` or `Fn::Sub: x`, `!Ref x` or `Ref: x`. name is "" for
// anything else.
func Intrinsic(n *yaml.Node) (name string, arg *yaml.Node) {
	if n == nil {
		return "", nil
	}
	if tag := shortTag(n); tag != "" {
		// The short form's argument is the node itself, untagged.
		arg := *n
		arg.Tag = map[yaml.Kind]string{yaml.ScalarNode: "!!str", yaml.SequenceNode: "!!seq", yaml.MappingNode: "!!map"}[n.Kind]
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

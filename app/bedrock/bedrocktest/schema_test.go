package bedrocktest

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/smithy-go"
)

// TestRequestTypesMatchSDKSchema walks the SDK's own ConverseRequest schema
// next to the emulator's wire types: every member the SDK can send must be
// accepted, no invented member may be, and unions must be unions. This keeps
// the unknown-member check honest when the SDK grows.
func TestRequestTypesMatchSDKSchema(t *testing.T) {
	compareShape(t, schemas.ConverseRequest, reflect.TypeFor[converseRequest](), "ConverseRequest", map[string]bool{"modelId": true})
}

func compareShape(t *testing.T, s *smithy.Schema, typ reflect.Type, path string, skip map[string]bool) {
	t.Helper()
	s, typ = elem(s, typ)
	if typ == reflect.TypeFor[json.RawMessage]() {
		if s.Type() != smithy.ShapeTypeDocument {
			t.Errorf("%s: Go type is a JSON document, SDK shape type is %v", path, s.Type())
		}
		return
	}
	if s.Type() != smithy.ShapeTypeStructure && s.Type() != smithy.ShapeTypeUnion {
		return
	}
	if typ.Kind() != reflect.Struct {
		t.Errorf("%s: SDK shape is a structure or union, Go type is %v", path, typ)
		return
	}
	isUnion := reflect.PointerTo(typ).Implements(reflect.TypeFor[union]())
	if want := s.Type() == smithy.ShapeTypeUnion; isUnion != want {
		t.Errorf("%s: Go type union=%v, SDK union=%v", path, isUnion, want)
	}
	fields := jsonFields(typ)
	for name, m := range s.Members() {
		if skip[name] {
			continue
		}
		ft, ok := fields[name]
		if !ok {
			t.Errorf("%s: SDK member %q missing from %v", path, name, typ)
			continue
		}
		compareShape(t, m, ft, path+"."+name, nil)
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if s.Member(name) == nil {
			t.Errorf("%s: Go field %q is not an SDK member", path, name)
		}
	}
}

// elem steps through lists, maps and pointers in step on both sides.
func elem(s *smithy.Schema, typ reflect.Type) (*smithy.Schema, reflect.Type) {
	for {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch {
		case s.Type() == smithy.ShapeTypeList && typ.Kind() == reflect.Slice:
			s, typ = s.ListMember(), typ.Elem()
		case s.Type() == smithy.ShapeTypeMap && typ.Kind() == reflect.Map:
			s, typ = s.MapValue(), typ.Elem()
		default:
			return s, typ
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown top-level member", `{"messages":[],"foo":1}`, "extraneous key [foo]"},
		{"unknown nested member", `{"messages":[{"role":"user","content":[{"text":"hi","x":1}]}]}`, "extraneous key [messages.0.content.0.x]"},
		{"members are case-sensitive", `{"Messages":[]}`, "extraneous key [Messages]"},
		{"union with two members", `{"messages":[{"role":"user","content":[{"text":"hi","cachePoint":{"type":"default"}}]}]}`, "messages.0.content.0 must set exactly one member"},
		{"empty union", `{"messages":[{"role":"user","content":[{}]}]}`, "found 0"},
		{"malformed JSON", `{"messages":`, "parse JSON"},
		{"not an object", `[1]`, "must be a JSON object"},
		{"wrong type", `{"inferenceConfig":{"maxTokens":"ten"}}`, "inferenceConfig.maxTokens"},
		{"documents take anything", `{"additionalModelRequestFields":{"Any":{"thing":[1]}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req converseRequest
			err := decodeStrict([]byte(tt.body), &req)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

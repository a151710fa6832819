package iam

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// statement is one IAM policy statement; Action and Resource may be a
// string or a list.
type statement struct {
	Sid         string
	Effect      string
	Action      stringOrList
	Resource    stringOrList
	Condition   map[string]map[string]string
	NotAction   any
	NotResource any
	Principal   any
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

type policy struct {
	Version   string
	Statement []statement
}

func loadPolicy(tb testing.TB, name string) policy {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p policy
	if err := dec.Decode(&p); err != nil {
		tb.Fatalf("%s is not a policy document: %v", name, err)
	}
	return p
}

// listActions are the only actions allowed on Resource "*": they do not
// support resource-level permissions (GetInferenceProfile is kept with them
// for discovery of any profile).
var listActions = []string{"bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles", "bedrock:GetInferenceProfile"}

// needed are the calls the gateway makes with the on-prem user's keys.
var needed = []string{
	"ssm:GetParameter",
	"secretsmanager:GetSecretValue",
	"kms:Decrypt",
	"bedrock:InvokeModel",                   // Converse and InvokeModel (embeddings)
	"bedrock:InvokeModelWithResponseStream", // ConverseStream
	"bedrock:ListFoundationModels",
	"bedrock:ListInferenceProfiles",
}

func TestOnPremUserPolicyIsLeastPrivilege(t *testing.T) {
	p := loadPolicy(t, "onprem-user-policy.json")
	if p.Version != "2012-10-17" {
		t.Errorf("Version = %q, want 2012-10-17", p.Version)
	}
	placeholder := regexp.MustCompile(`\$\{([A-Za-z]+)\}`)
	known := []string{"AccountId", "Region", "ParameterName", "SecretName", "KmsKeyId"}
	arn := regexp.MustCompile(`^arn:aws:[a-z0-9-]+:[^:]*:[^:]*:.+$`)

	var granted []string
	for _, s := range p.Statement {
		if s.Effect != "Allow" || s.NotAction != nil || s.NotResource != nil || s.Principal != nil {
			t.Errorf("%s: only plain Allow statements expected", s.Sid)
		}
		if len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("%s: no action or resource", s.Sid)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %q", s.Sid, a)
			}
			granted = append(granted, a)
		}
		for _, r := range s.Resource {
			if r == "*" {
				for _, a := range s.Action {
					if !slices.Contains(listActions, a) {
						t.Errorf("%s: %s on Resource \"*\"; only %v may be", s.Sid, a, listActions)
					}
				}
				continue
			}
			if !arn.MatchString(r) {
				t.Errorf("%s: resource %q is not an ARN", s.Sid, r)
			}
			for _, m := range placeholder.FindAllStringSubmatch(r, -1) {
				if !slices.Contains(known, m[1]) {
					t.Errorf("%s: unknown placeholder %s", s.Sid, m[0])
				}
			}
		}
		if slices.Contains(s.Action, "kms:Decrypt") {
			if got := s.Condition["StringEquals"]["kms:ViaService"]; got != "secretsmanager.${Region}.amazonaws.com" {
				t.Errorf("%s: kms:Decrypt must be limited to Secrets Manager (kms:ViaService), got %q", s.Sid, got)
			}
			if slices.Contains(s.Resource, "*") {
				t.Errorf("%s: kms:Decrypt on every key", s.Sid)
			}
		}
	}
	for _, a := range needed {
		if !slices.Contains(granted, a) {
			t.Errorf("the policy does not grant %s, which the gateway calls", a)
		}
	}
}

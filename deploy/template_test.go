package deploy

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// samTemplate is the V1 SAM template at the repository root.
const samTemplate = "../template.yaml"

// cfnTemplate is a CloudFormation template with every short-form tag
// (!Ref, !Sub, !GetAtt, ...) turned into its long JSON form, which is what
// CloudFormation itself sees: {"Ref": "X"}, {"Fn::Sub": "..."},
// {"Fn::GetAtt": ["X", "Arn"]}.
type cfnTemplate struct {
	Parameters map[string]any
	Conditions map[string]any
	Resources  map[string]any
	Outputs    map[string]any
}

// loadCFN parses a template file.
func loadCFN(tb testing.TB, path string) cfnTemplate {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := parseCFN(b)
	if err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
	return t
}

func parseCFN(b []byte) (cfnTemplate, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		return cfnTemplate{}, err
	}
	v, err := cfnValue(&doc)
	if err != nil {
		return cfnTemplate{}, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return cfnTemplate{}, fmt.Errorf("template is a %T, want a mapping", v)
	}
	section := func(name string) map[string]any {
		m, _ := top[name].(map[string]any)
		return m
	}
	t := cfnTemplate{
		Parameters: section("Parameters"), Conditions: section("Conditions"),
		Resources: section("Resources"), Outputs: section("Outputs"),
	}
	if len(t.Resources) == 0 {
		return cfnTemplate{}, fmt.Errorf("template has no Resources")
	}
	return t, nil
}

// cfnValue converts a YAML node into maps, slices and scalars, rewriting
// CloudFormation short tags into their long form.
func cfnValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("empty document")
		}
		return cfnValue(n.Content[0])
	case yaml.AliasNode:
		return cfnValue(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", n.Content[i].Line, k)
			}
			val, err := cfnValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := cfnValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		if isShortTag(n.Tag) {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !isShortTag(n.Tag) {
		return v, nil
	}
	switch name := strings.TrimPrefix(n.Tag, "!"); name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + name: v}, nil
	}
}

// isShortTag reports a CloudFormation tag such as !Ref (YAML's own tags
// start with !!).
func isShortTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }

func getAtt(res, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{res, attr}}
}

func sub(s string) map[string]any { return map[string]any{"Fn::Sub": s} }

// field walks nested maps; a missing key gives nil.
func field(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// list returns v as a list: a scalar or map becomes a list of one, nil an
// empty list.
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// branches returns every value v can take: each Fn::If yields both of its
// branches, and AWS::NoValue disappears.
func branches(v any) []any {
	if reflect.DeepEqual(v, ref("AWS::NoValue")) {
		return nil
	}
	if args, ok := field(v, "Fn::If").([]any); ok && len(args) == 3 {
		return append(branches(args[1]), branches(args[2])...)
	}
	return []any{v}
}

// items flattens a list property, expanding conditional items and
// conditional whole lists.
func items(v any) []any {
	var out []any
	for _, b := range branches(v) {
		for _, it := range list(b) {
			out = append(out, branches(it)...)
		}
	}
	return out
}

// cfnResource is one resource of a template.
type cfnResource struct {
	Name       string
	Type       string
	Condition  string
	Props      map[string]any
	Metadata   map[string]any
	DependsOn  []any
	Definition map[string]any
}

// ofType returns the template's resources of the given types, by name.
func (t cfnTemplate) ofType(types ...string) []cfnResource {
	var out []cfnResource
	for name, v := range t.Resources {
		def, _ := v.(map[string]any)
		typ, _ := def["Type"].(string)
		if !slices.Contains(types, typ) {
			continue
		}
		r := cfnResource{Name: name, Type: typ, Definition: def, DependsOn: list(def["DependsOn"])}
		r.Props, _ = def["Properties"].(map[string]any)
		r.Metadata, _ = def["Metadata"].(map[string]any)
		r.Condition, _ = def["Condition"].(string)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b cfnResource) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// resource returns the named resource and whether it exists.
func (t cfnTemplate) resource(name string) (cfnResource, bool) {
	def, ok := t.Resources[name].(map[string]any)
	if !ok {
		return cfnResource{}, false
	}
	typ, _ := def["Type"].(string)
	for _, r := range t.ofType(typ) {
		if r.Name == name {
			return r, true
		}
	}
	return cfnResource{}, false
}

// refersTo reports whether v is a Ref to, or GetAtt of, a resource of one
// of the given types.
func (t cfnTemplate) refersTo(v any, types ...string) bool {
	name, _ := field(v, "Ref").(string)
	if ga, ok := field(v, "Fn::GetAtt").([]any); ok && len(ga) == 2 {
		name, _ = ga[0].(string)
	}
	r, ok := t.resource(name)
	return ok && slices.Contains(types, r.Type)
}

// tlsPolicies are the ALB security policies that refuse TLS below 1.2.
var tlsPolicies = []string{
	"ELBSecurityPolicy-TLS13-1-2-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
	"ELBSecurityPolicy-TLS13-1-3-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
	"ELBSecurityPolicy-FS-1-2-Res-2020-10",
	"ELBSecurityPolicy-FS-1-2-Res-2019-08",
	"ELBSecurityPolicy-FS-1-2-2019-08",
	"ELBSecurityPolicy-TLS-1-2-2017-01",
	"ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
}

// cfnHTTPSProblems: an HTTPS :443 listener with the certificate parameter
// and a TLS 1.2+ policy forwards to the Lambda target group.
func cfnHTTPSProblems(t cfnTemplate) []string {
	var problems []string
	found := false
	for _, l := range t.ofType("AWS::ElasticLoadBalancingV2::Listener") {
		if field(l.Props, "Protocol") != "HTTPS" {
			continue
		}
		found = true
		if p := field(l.Props, "Port"); p != 443 {
			problems = append(problems, fmt.Sprintf("%s: port %v, want 443", l.Name, p))
		}
		if p, _ := field(l.Props, "SslPolicy").(string); !slices.Contains(tlsPolicies, p) {
			problems = append(problems, fmt.Sprintf("%s: SslPolicy %q allows TLS below 1.2 or is unknown", l.Name, p))
		}
		certs := items(field(l.Props, "Certificates"))
		if len(certs) != 1 || !reflect.DeepEqual(field(certs[0], "CertificateArn"), ref("CertificateArn")) {
			problems = append(problems, fmt.Sprintf("%s: certificates %v, want the CertificateArn parameter", l.Name, certs))
		}
		for _, a := range items(field(l.Props, "DefaultActions")) {
			tg := field(a, "TargetGroupArn")
			if field(a, "Type") != "forward" || !t.refersTo(tg, "AWS::ElasticLoadBalancingV2::TargetGroup") {
				problems = append(problems, fmt.Sprintf("%s: action %v, want forward to the template's target group", l.Name, a))
			}
		}
	}
	if !found {
		problems = append(problems, "no HTTPS listener")
	}
	if _, ok := t.Parameters["CertificateArn"]; !ok {
		problems = append(problems, "no CertificateArn parameter")
	} else if _, hasDefault := field(t.Parameters, "CertificateArn").(map[string]any)["Default"]; hasDefault {
		problems = append(problems, "CertificateArn has a default; it must be the user's")
	}
	return problems
}

// cfnHTTPRedirectProblems: every plain-HTTP listener only redirects (301) to
// HTTPS on 443; nothing is served over HTTP.
func cfnHTTPRedirectProblems(t cfnTemplate) []string {
	var problems []string
	found := false
	for _, l := range t.ofType("AWS::ElasticLoadBalancingV2::Listener") {
		if field(l.Props, "Protocol") == "HTTPS" {
			continue
		}
		found = true
		if field(l.Props, "Protocol") != "HTTP" || field(l.Props, "Port") != 80 {
			problems = append(problems, fmt.Sprintf("%s: %v on %v, want HTTP on 80", l.Name, field(l.Props, "Protocol"), field(l.Props, "Port")))
		}
		actions := items(field(l.Props, "DefaultActions"))
		if len(actions) != 1 {
			problems = append(problems, fmt.Sprintf("%s: %d actions, want one redirect", l.Name, len(actions)))
		}
		for _, a := range actions {
			rc := field(a, "RedirectConfig")
			if field(a, "Type") != "redirect" || field(rc, "Protocol") != "HTTPS" || field(rc, "Port") != "443" || field(rc, "StatusCode") != "HTTP_301" {
				problems = append(problems, fmt.Sprintf("%s: action %v, want a 301 redirect to HTTPS:443", l.Name, a))
			}
		}
	}
	if !found {
		problems = append(problems, "no HTTP listener redirecting to HTTPS")
	}
	if n := len(t.ofType("AWS::ElasticLoadBalancingV2::ListenerRule")); n > 0 {
		problems = append(problems, fmt.Sprintf("%d listener rules could serve HTTP; the checks here cover default actions only", n))
	}
	return problems
}

// cfnIngressProblems: security groups admit only 80 and 443 and only from
// the AllowedCidr parameter or the optional prefix list; never 0.0.0.0/0 or
// ::/0, and AllowedCidr has no default.
func cfnIngressProblems(t cfnTemplate) []string {
	var problems []string
	var rules []any
	for _, sg := range t.ofType("AWS::EC2::SecurityGroup") {
		rules = append(rules, items(field(sg.Props, "SecurityGroupIngress"))...)
	}
	for _, r := range t.ofType("AWS::EC2::SecurityGroupIngress") {
		rules = append(rules, r.Props)
	}
	if len(rules) == 0 {
		problems = append(problems, "no ingress rules")
	}
	for _, r := range rules {
		for _, k := range []string{"CidrIp", "CidrIpv6"} {
			if v := field(r, k); v == "0.0.0.0/0" || v == "::/0" {
				problems = append(problems, fmt.Sprintf("ingress %v is open to the world", r))
			}
		}
		okSource := reflect.DeepEqual(field(r, "CidrIp"), ref("AllowedCidr")) ||
			reflect.DeepEqual(field(r, "SourcePrefixListId"), ref("AllowedPrefixListId"))
		if !okSource || field(r, "CidrIpv6") != nil || field(r, "SourceSecurityGroupId") != nil {
			problems = append(problems, fmt.Sprintf("ingress %v: source is not AllowedCidr or AllowedPrefixListId", r))
		}
		from, to := field(r, "FromPort"), field(r, "ToPort")
		if from != to || (from != 443 && from != 80) || field(r, "IpProtocol") != "tcp" {
			problems = append(problems, fmt.Sprintf("ingress %v: want tcp 443 or 80 only", r))
		}
	}
	p, _ := t.Parameters["AllowedCidr"].(map[string]any)
	if p == nil {
		return append(problems, "no AllowedCidr parameter")
	}
	if d, ok := p["Default"]; ok {
		problems = append(problems, fmt.Sprintf("AllowedCidr has default %v; it must be the user's choice", d))
	}
	if s, _ := p["AllowedPattern"].(string); s == "" {
		problems = append(problems, "AllowedCidr has no AllowedPattern")
	}
	return problems
}

// cfnCanaryScheduleProblems: the canary runs on an EventBridge schedule
// taken from a parameter whose default is rate(5 minutes).
func cfnCanaryScheduleProblems(t cfnTemplate) []string {
	var problems []string
	if d := field(t.Parameters, "CanarySchedule", "Default"); d != "rate(5 minutes)" {
		problems = append(problems, fmt.Sprintf("CanarySchedule default %v, want rate(5 minutes)", d))
	}
	canary, ok := t.resource("CanaryFunction")
	if !ok {
		return append(problems, "no CanaryFunction")
	}
	scheduled := false
	events, _ := field(canary.Props, "Events").(map[string]any)
	for name, ev := range events {
		if field(ev, "Type") == "Schedule" || field(ev, "Type") == "ScheduleV2" {
			scheduled = true
			if s := field(ev, "Properties", "Schedule"); !reflect.DeepEqual(s, ref("CanarySchedule")) {
				problems = append(problems, fmt.Sprintf("CanaryFunction event %s: schedule %v, want the CanarySchedule parameter", name, s))
			}
		}
	}
	if !scheduled {
		problems = append(problems, "CanaryFunction has no schedule event")
	}
	return problems
}

// iamStatement is one statement of an identity policy, with where it was.
type iamStatement struct {
	where string
	stmt  map[string]any
}

// cfnIAMStatements collects the identity-policy statements of roles and
// policies (trust policies excluded).
func cfnIAMStatements(t cfnTemplate) []iamStatement {
	var out []iamStatement
	add := func(where string, doc any) {
		for i, s := range items(field(doc, "Statement")) {
			m, _ := s.(map[string]any)
			out = append(out, iamStatement{fmt.Sprintf("%s statement %d", where, i), m})
		}
	}
	for _, r := range t.ofType("AWS::IAM::Role") {
		for _, p := range items(field(r.Props, "Policies")) {
			add(fmt.Sprintf("%s policy %v", r.Name, field(p, "PolicyName")), field(p, "PolicyDocument"))
		}
	}
	for _, r := range t.ofType("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy") {
		add(r.Name, field(r.Props, "PolicyDocument"))
	}
	return out
}

// gatewayImage is the gateway function deployed from the container image
// when GatewayImageUri is set; GatewayFunction (the zip) otherwise.
const gatewayImage = "GatewayImageFunction"

// albGateway is what the template uses wherever it names the gateway
// function behind the ALB: the image function or the zip, by condition.
func albGateway(f func(name string) any) any {
	return map[string]any{"Fn::If": []any{"UseGatewayImage", f(gatewayImage), f("GatewayFunction")}}
}

// listOnlyActions are the actions that support no resource-level
// permissions and so need Resource "*": Bedrock's two List actions, and
// X-Ray's writes (the collector layer's, when OtelCollectorLayerArn is set).
var listOnlyActions = []string{"bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles",
	"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

// cfnIAMProblems: no wildcard actions; Resource "*" only for the
// listOnlyActions; each permitted action scoped to the resource it needs; no
// managed policies or SAM policy templates that could widen this.
func cfnIAMProblems(t cfnTemplate) []string {
	var problems []string
	for _, r := range t.ofType("AWS::IAM::Role") {
		if v := field(r.Props, "ManagedPolicyArns"); v != nil {
			problems = append(problems, fmt.Sprintf("%s: managed policies %v are not scoped by this template", r.Name, v))
		}
	}
	for _, f := range t.ofType("AWS::Serverless::Function", "AWS::Lambda::Function") {
		if field(f.Props, "Policies") != nil || field(f.Props, "Role") == nil {
			problems = append(problems, fmt.Sprintf("%s: want an explicit Role and no SAM Policies (which add AWSLambdaBasicExecutionRole on *)", f.Name))
		}
	}
	gateway, ok := t.resource("GatewayFunction")
	if !ok {
		return append(problems, "no GatewayFunction")
	}
	secretParam := "parameter/${SecretArnParameterName}"
	scoped := map[string]func(stmt map[string]any, res any) bool{
		"ssm:GetParameter": func(_ map[string]any, r any) bool {
			s, _ := field(r, "Fn::Sub").(string)
			return strings.HasSuffix(s, secretParam) && !strings.Contains(s, "*")
		},
		"secretsmanager:GetSecretValue": func(_ map[string]any, r any) bool {
			return reflect.DeepEqual(r, ref("ApiKeySecret")) && t.refersTo(r, "AWS::SecretsManager::Secret")
		},
		"kms:Decrypt": func(s map[string]any, r any) bool {
			via := field(s, "Condition", "StringEquals", "kms:ViaService")
			return t.refersTo(r, "AWS::KMS::Key") && reflect.DeepEqual(r, getAtt("ApiKeyEncryptionKey", "Arn")) &&
				reflect.DeepEqual(via, sub("secretsmanager.${AWS::Region}.amazonaws.com"))
		},
		"bedrock:InvokeModel":                   bedrockModelARN,
		"bedrock:InvokeModelWithResponseStream": bedrockModelARN,
		"logs:CreateLogStream": func(_ map[string]any, r any) bool {
			return t.refersTo(r, "AWS::Logs::LogGroup")
		},
		"logs:PutLogEvents": func(_ map[string]any, r any) bool {
			return t.refersTo(r, "AWS::Logs::LogGroup")
		},
		"bedrock:ApplyGuardrail": func(_ map[string]any, r any) bool {
			s, _ := field(r, "Fn::Sub").(string)
			return s == "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:guardrail/${GuardrailId}"
		},
		"lambda:InvokeFunction": func(_ map[string]any, r any) bool {
			return reflect.DeepEqual(r, getAtt(gateway.Name, "Arn")) || reflect.DeepEqual(r, getAtt(gatewayImage, "Arn"))
		},
	}
	granted := map[string]bool{}
	for _, st := range cfnIAMStatements(t) {
		s := st.stmt
		if field(s, "Effect") != "Allow" {
			continue
		}
		if field(s, "NotAction") != nil || field(s, "NotResource") != nil {
			problems = append(problems, st.where+": NotAction/NotResource grants everything else")
			continue
		}
		var actions []string
		for _, a := range items(field(s, "Action")) {
			as, _ := a.(string)
			actions = append(actions, as)
			granted[as] = true
			if strings.Contains(as, "*") {
				problems = append(problems, fmt.Sprintf("%s: wildcard action %q", st.where, as))
			}
		}
		for _, r := range items(field(s, "Resource")) {
			if r == "*" {
				for _, a := range actions {
					if !slices.Contains(listOnlyActions, a) {
						problems = append(problems, fmt.Sprintf("%s: %s on Resource \"*\"", st.where, a))
					}
				}
				continue
			}
			for _, a := range actions {
				check, known := scoped[a]
				switch {
				case slices.Contains(listOnlyActions, a):
					// Anything narrower than "*" is fine (and would not work).
				case !known:
					problems = append(problems, fmt.Sprintf("%s: unexpected action %s", st.where, a))
				case !check(s, r):
					problems = append(problems, fmt.Sprintf("%s: %s on %v is not the resource it needs", st.where, a, r))
				}
			}
		}
	}
	for _, need := range []string{"ssm:GetParameter", "secretsmanager:GetSecretValue", "kms:Decrypt",
		"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles"} {
		if !granted[need] {
			problems = append(problems, "the gateway is not granted "+need)
		}
	}
	return problems
}

// bedrockModelARN accepts foundation-model, inference-profile and
// application-inference-profile ARNs.
func bedrockModelARN(_ map[string]any, r any) bool {
	s, _ := field(r, "Fn::Sub").(string)
	for _, kind := range []string{"::foundation-model/", ":inference-profile/", ":application-inference-profile/"} {
		if strings.HasPrefix(s, "arn:${AWS::Partition}:bedrock:") && strings.Contains(s, kind) {
			return true
		}
	}
	return false
}

// cfnKMSProblems: every customer-managed key rotates and no key policy
// names an anonymous principal.
func cfnKMSProblems(t cfnTemplate) []string {
	var problems []string
	keys := t.ofType("AWS::KMS::Key")
	if len(keys) == 0 {
		problems = append(problems, "no KMS key")
	}
	for _, k := range keys {
		if field(k.Props, "EnableKeyRotation") != true {
			problems = append(problems, k.Name+": key rotation is off")
		}
		for _, s := range items(field(k.Props, "KeyPolicy", "Statement")) {
			if p := field(s, "Principal"); p == "*" || field(p, "AWS") == "*" {
				problems = append(problems, fmt.Sprintf("%s: key policy statement for principal *", k.Name))
			}
		}
	}
	return problems
}

// cfnSecretProblems: every secret is generated and encrypted with the
// template's CMK; the SSM parameter holds its ARN under the parameter name.
func cfnSecretProblems(t cfnTemplate) []string {
	var problems []string
	secrets := t.ofType("AWS::SecretsManager::Secret")
	if len(secrets) == 0 {
		problems = append(problems, "no secret")
	}
	for _, s := range secrets {
		if !t.refersTo(field(s.Props, "KmsKeyId"), "AWS::KMS::Key") {
			problems = append(problems, fmt.Sprintf("%s: KmsKeyId %v is not the template's CMK", s.Name, field(s.Props, "KmsKeyId")))
		}
		if field(s.Props, "GenerateSecretString") == nil || field(s.Props, "SecretString") != nil {
			problems = append(problems, s.Name+": the key must be generated, never written in the template")
		}
	}
	params := t.ofType("AWS::SSM::Parameter")
	if len(params) != 1 {
		return append(problems, fmt.Sprintf("%d SSM parameters, want 1", len(params)))
	}
	p := params[0].Props
	if !reflect.DeepEqual(field(p, "Name"), ref("SecretArnParameterName")) || field(p, "Type") != "String" ||
		!t.refersTo(field(p, "Value"), "AWS::SecretsManager::Secret") {
		problems = append(problems, fmt.Sprintf("SSM parameter %v, want String named by SecretArnParameterName holding the secret ARN", p))
	}
	return problems
}

// cfnLogProblems: every log group has a retention, and every function logs
// to one of them.
func cfnLogProblems(t cfnTemplate) []string {
	var problems []string
	for _, g := range t.ofType("AWS::Logs::LogGroup") {
		if field(g.Props, "RetentionInDays") == nil {
			problems = append(problems, g.Name+": no RetentionInDays (logs kept forever)")
		}
	}
	for _, f := range t.ofType("AWS::Serverless::Function", "AWS::Lambda::Function") {
		if !t.refersTo(field(f.Props, "LoggingConfig", "LogGroup"), "AWS::Logs::LogGroup") {
			problems = append(problems, f.Name+": does not log to a log group of the template (its default group has no retention)")
		}
	}
	return problems
}

// securityChecks are the properties issue 5 asks the template to hold.
var securityChecks = []struct {
	name  string
	check func(cfnTemplate) []string
}{
	{"HTTPS listener with the certificate and TLS 1.2+", cfnHTTPSProblems},
	{"HTTP listener only redirects to HTTPS", cfnHTTPRedirectProblems},
	{"no open ingress", cfnIngressProblems},
	{"canary schedule", cfnCanaryScheduleProblems},
	{"IAM scoped to the named resources", cfnIAMProblems},
	{"KMS key rotation", cfnKMSProblems},
	{"secret encrypted with the CMK", cfnSecretProblems},
	{"log retention", cfnLogProblems},
}

func TestTemplateSecurity(t *testing.T) {
	tmpl := loadCFN(t, samTemplate)
	for _, c := range securityChecks {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.check(tmpl) {
				t.Error(p)
			}
		})
	}
}

// TestTemplateChecksCatchInsecureTemplate runs every check on a template
// that breaks each property, so a check that can never fail fails here.
func TestTemplateChecksCatchInsecureTemplate(t *testing.T) {
	bad := loadCFN(t, "testdata/template-insecure.yaml")
	for _, c := range securityChecks {
		t.Run(c.name, func(t *testing.T) {
			p := c.check(bad)
			if len(p) == 0 {
				t.Error("got no problems in the insecure template, want at least one")
			}
			t.Logf("found, as expected:\n%s", strings.Join(p, "\n"))
		})
	}
}

func TestAllowedCidrPattern(t *testing.T) {
	pattern, _ := field(loadCFN(t, samTemplate).Parameters, "AllowedCidr", "AllowedPattern").(string)
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("AllowedPattern %q: %v", pattern, err)
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"203.0.113.7/32", true},
		{"10.0.0.0/8", true},
		{"192.168.100.0/24", true},
		{"0.0.0.0/0", true}, // allowed as a deliberate choice, never a default
		{"203.0.113.7", false},
		{"256.0.0.1/32", false},
		{"10.0.0.0/33", false},
		{"10.0.0/8", false},
		{"::/0", false},
		{"", false},
		{"10.0.0.0/8,0.0.0.0/0", false},
	}
	for _, tt := range tests {
		if got := re.MatchString(tt.in); got != tt.want {
			t.Errorf("AllowedCidr pattern on %q: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestGatewayFunction(t *testing.T) {
	tmpl := loadCFN(t, samTemplate)
	fn, ok := tmpl.resource("GatewayFunction")
	if !ok {
		t.Fatal("no GatewayFunction")
	}
	img, ok := tmpl.resource(gatewayImage)
	if !ok {
		t.Fatalf("no %s", gatewayImage)
	}
	tests := []struct {
		what string
		got  any
		want any
	}{
		{"zip condition", fn.Condition, "UseGatewayZip"},
		{"build method", field(fn.Metadata, "BuildMethod"), "makefile"},
		{"runtime", field(fn.Props, "Runtime"), "provided.al2023"},
		{"handler", field(fn.Props, "Handler"), "bootstrap"},
		{"architecture values", field(tmpl.Parameters, "Architecture", "AllowedValues"), []any{"arm64", "x86_64"}},
		{"architecture default", field(tmpl.Parameters, "Architecture", "Default"), "arm64"},
		{"image condition", img.Condition, "UseGatewayImage"},
		{"image package type", field(img.Props, "PackageType"), "Image"},
		{"image URI", field(img.Props, "ImageUri"), ref("GatewayImageUri")},
		{"image runtime", field(img.Props, "Runtime"), nil},
		{"image handler", field(img.Props, "Handler"), nil},
		{"image code", field(img.Props, "CodeUri"), nil},
		{"image URI default", field(tmpl.Parameters, "GatewayImageUri", "Default"), ""},
		{"UseGatewayImage", tmpl.Conditions["UseGatewayImage"], map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{ref("GatewayImageUri"), ""}}}}},
		{"UseGatewayZip", tmpl.Conditions["UseGatewayZip"], map[string]any{"Fn::Equals": []any{ref("GatewayImageUri"), ""}}},
	}
	// Zip or image, the function is configured alike.
	for _, key := range []string{"Architectures", "MemorySize", "Timeout", "Role", "LoggingConfig", "Environment"} {
		tests = append(tests, struct {
			what string
			got  any
			want any
		}{"image " + key + " as the zip's", field(img.Props, key), field(fn.Props, key)})
	}
	tests = append(tests, []struct {
		what string
		got  any
		want any
	}{
		{"architectures", field(fn.Props, "Architectures"), []any{ref("Architecture")}},
		{"SECRET_ARN_PARAMETER", field(fn.Props, "Environment", "Variables", "SECRET_ARN_PARAMETER"), ref("SecretArnParameterName")},
		{"DEFAULT_MODEL", field(fn.Props, "Environment", "Variables", "DEFAULT_MODEL"), ref("DefaultModel")},
		{"API_ROUTE_PREFIX", field(fn.Props, "Environment", "Variables", "API_ROUTE_PREFIX"), "/api/v1"},
		{"LAMBDA_MODE", field(fn.Props, "Environment", "Variables", "LAMBDA_MODE"), "alb"},
		{"canary target", field(tmpl.Resources, "CanaryFunction", "Properties", "Environment", "Variables", "CANARY_TARGETS"),
			map[string]any{"Fn::If": []any{"HasCanaryTargets", ref("CanaryTargets"),
				albGateway(func(n string) any { return sub("lambda://${" + n + "}") })}}},
		{"GatewayFunctionName output", field(tmpl.Outputs, "GatewayFunctionName", "Value"), albGateway(func(n string) any { return ref(n) })},
	}...)
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.what, tt.got, tt.want)
		}
	}
	arn := albGateway(func(n string) any { return getAtt(n, "Arn") })

	tgs := tmpl.ofType("AWS::ElasticLoadBalancingV2::TargetGroup")
	if len(tgs) != 1 {
		t.Fatalf("got %d target groups, want 1", len(tgs))
	}
	tg := tgs[0]
	if targets := list(field(tg.Props, "Targets")); field(tg.Props, "TargetType") != "lambda" || len(targets) != 1 || !reflect.DeepEqual(field(targets[0], "Id"), arn) {
		t.Errorf("target group %v, want a lambda target group for the gateway function, image or zip", tg.Props)
	}
	multi := false
	for _, a := range items(field(tg.Props, "TargetGroupAttributes")) {
		if field(a, "Key") == "lambda.multi_value_headers.enabled" && field(a, "Value") == "true" {
			multi = true
		}
	}
	if !multi {
		t.Error("target group lacks lambda.multi_value_headers.enabled=true")
	}
	elbMayInvoke := false
	for _, p := range tmpl.ofType("AWS::Lambda::Permission") {
		if field(p.Props, "Principal") == "elasticloadbalancing.amazonaws.com" &&
			reflect.DeepEqual(field(p.Props, "FunctionName"), arn) && field(p.Props, "SourceArn") != nil {
			elbMayInvoke = true
			if !slices.Contains(tg.DependsOn, any(p.Name)) {
				t.Errorf("target group does not depend on %s; registration can fail before the permission exists", p.Name)
			}
		}
	}
	if !elbMayInvoke {
		t.Error("no permission for elasticloadbalancing.amazonaws.com to invoke GatewayFunction from a source ARN")
	}
	lb := tmpl.ofType("AWS::ElasticLoadBalancingV2::LoadBalancer")
	if len(lb) != 1 || field(lb[0].Props, "Scheme") != "internet-facing" {
		t.Errorf("load balancers %v, want one internet-facing", lb)
	}
}

func TestStreamingFunctionURLIsOptional(t *testing.T) {
	tmpl := loadCFN(t, samTemplate)
	if d := field(tmpl.Parameters, "EnableStreamingFunctionUrl", "Default"); d != "false" {
		t.Errorf("EnableStreamingFunctionUrl default %v, want \"false\"", d)
	}
	urls := tmpl.ofType("AWS::Lambda::Url")
	if len(urls) != 1 {
		t.Fatalf("got %d function URLs, want 1", len(urls))
	}
	u := urls[0]
	if u.Condition != "EnableStreaming" || field(u.Props, "InvokeMode") != "RESPONSE_STREAM" {
		t.Errorf("function URL %v (condition %q), want RESPONSE_STREAM under EnableStreaming", u.Props, u.Condition)
	}
	target, _ := field(u.Props, "TargetFunctionArn", "Fn::GetAtt").([]any)
	if len(target) != 2 {
		t.Fatalf("function URL target %v, want a GetAtt of a function", field(u.Props, "TargetFunctionArn"))
	}
	fn, ok := tmpl.resource(target[0].(string))
	if !ok || fn.Condition != "EnableStreaming" || field(fn.Props, "Environment", "Variables", "LAMBDA_MODE") != "function-url" {
		t.Errorf("function URL target %v, want a conditional function with LAMBDA_MODE=function-url", target[0])
	}
	for _, p := range tmpl.ofType("AWS::Lambda::Permission") {
		if field(p.Props, "Principal") == "*" && p.Condition != "EnableStreaming" {
			t.Errorf("%s: public permission outside the EnableStreaming condition", p.Name)
		}
	}
	if c, _ := field(tmpl.Outputs, "StreamingFunctionUrl", "Condition").(string); c != "EnableStreaming" {
		t.Errorf("StreamingFunctionUrl output condition %q, want EnableStreaming", c)
	}
}

func TestOutputs(t *testing.T) {
	tmpl := loadCFN(t, samTemplate)
	tests := []struct {
		output string
		want   any
	}{
		{"ApiKeySecretArn", ref("ApiKeySecret")},
		{"SecretArnParameterName", ref("ApiKeySecretArnParameter")},
	}
	for _, tt := range tests {
		if got := field(tmpl.Outputs, tt.output, "Value"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("output %s: got %v, want %v", tt.output, got, tt.want)
		}
	}
	if url := fmt.Sprint(field(tmpl.Outputs, "ApiUrl", "Value")); !strings.Contains(url, "https://${DomainName}/api/v1") ||
		!strings.Contains(url, "https://${LoadBalancer.DNSName}/api/v1") {
		t.Errorf("ApiUrl %s, want https:// with DomainName or the ALB's DNS name", url)
	}
}

func TestParseCFNShortTags(t *testing.T) {
	src := []byte(`
Resources:
  A:
    Type: X
    Properties:
      R: !Ref P
      G: !GetAtt B.Arn
      S: !Sub "x-${P}"
      L: !Join ["-", [!Ref P, "y"]]
      I: !If [C, 1, !Ref AWS::NoValue]
      N: 443
      T: "443"
      F: true
`)
	tmpl, err := parseCFN(src)
	if err != nil {
		t.Fatal(err)
	}
	props := field(tmpl.Resources, "A", "Properties")
	tests := []struct {
		key  string
		want any
	}{
		{"R", ref("P")},
		{"G", getAtt("B", "Arn")},
		{"S", sub("x-${P}")},
		{"L", map[string]any{"Fn::Join": []any{"-", []any{ref("P"), "y"}}}},
		{"I", map[string]any{"Fn::If": []any{"C", 1, ref("AWS::NoValue")}}},
		{"N", 443},
		{"T", "443"},
		{"F", true},
	}
	for _, tt := range tests {
		if got := field(props, tt.key); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.key, got, tt.want)
		}
	}
	if got := branches(field(props, "I")); !reflect.DeepEqual(got, []any{1}) {
		t.Errorf("branches of I: got %v, want [1]", got)
	}
	if _, err := parseCFN([]byte("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n")); err == nil {
		t.Error("duplicate resource: got no error")
	}
}

func TestGatewayImageUriPattern(t *testing.T) {
	pattern, _ := field(loadCFN(t, samTemplate).Parameters, "GatewayImageUri", "AllowedPattern").(string)
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("AllowedPattern %q: %v", pattern, err)
	}
	digest := "@sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		want bool
	}{
		{"", true}, // the zip
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/openbedrock/gateway:v1.4.0-lambda", true},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/gateway" + digest, true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/gateway:latest", true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/gateway", false}, // no tag or digest
		{"ghcr.io/openbedrock/gateway:v1", false},                       // Lambda pulls from ECR only
		{"public.ecr.aws/openbedrock/gateway:v1", false},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/Gateway:v1", false},
	}
	for _, tt := range tests {
		if got := re.MatchString(tt.in); got != tt.want {
			t.Errorf("GatewayImageUri pattern on %q: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// gatewaySettings are the gateway variables template.yaml takes from its
// parameters, on every gateway function (zip, image, streaming).
var gatewaySettings = map[string]string{
	"SERVICE_TIERS":         "ServiceTiers",
	"ENABLE_PROMPT_CACHING": "EnablePromptCaching",
	"PROMPT_CACHE_TTL":      "PromptCacheTtl",
	"GUARDRAIL_ID":          "GuardrailId",
	"GUARDRAIL_VERSION":     "GuardrailVersion",
	"HIDE_LEGACY_MODELS":    "HideLegacyModels",
	"KEY_LIMITS":            "KeyLimits",
	"METRICS_MAX_KEY_NAMES": "MetricsMaxKeyNames",
	"FALLBACK_REGIONS":      "FallbackRegions",
	"MODEL_FALLBACKS":       "ModelFallbacks",
	"BEDROCK_IDLE_TIMEOUT":  "BedrockIdleTimeout",
}

// TestGatewaySettings checks every gateway function passes the settings
// parameters on, that the README documents each variable, and that the
// guardrail, when set, is the only one the role may apply.
func TestGatewaySettings(t *testing.T) {
	tmpl := loadCFN(t, samTemplate)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"GatewayFunction", gatewayImage, "GatewayStreamFunction"} {
		fn, ok := tmpl.resource(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		for env, param := range gatewaySettings {
			if got := field(fn.Props, "Environment", "Variables", env); !reflect.DeepEqual(got, ref(param)) {
				t.Errorf("%s %s: got %v, want the %s parameter", name, env, got, param)
			}
		}
	}
	for env, param := range gatewaySettings {
		if _, ok := tmpl.Parameters[param].(map[string]any); !ok {
			t.Errorf("no parameter %s for %s", param, env)
		}
		if !strings.Contains(string(readme), "`"+env+"`") {
			t.Errorf("%s is not in the README's configuration table", env)
		}
	}
	if got := tmpl.Conditions["HasGuardrail"]; !reflect.DeepEqual(got, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{ref("GuardrailId"), ""}}}}) {
		t.Errorf("HasGuardrail %v, want GuardrailId not empty", got)
	}
	var apply []any
	for _, st := range field(tmpl.Resources, "GatewayRole", "Properties", "Policies").([]any) {
		for _, s := range list(field(st, "PolicyDocument", "Statement")) {
			if args, ok := field(s, "Fn::If").([]any); ok && len(args) == 3 && field(args[1], "Action") == "bedrock:ApplyGuardrail" {
				apply = args
			}
		}
	}
	if len(apply) != 3 || apply[0] != "HasGuardrail" || !reflect.DeepEqual(apply[2], ref("AWS::NoValue")) {
		t.Errorf("bedrock:ApplyGuardrail is %v, want it only under HasGuardrail", apply)
	}
}

// TestSettingsPatterns checks the parameters admit the README's forms of
// SERVICE_TIERS, KEY_LIMITS and GUARDRAIL_ID, and refuse what the gateway
// would refuse at start-up.
func TestSettingsPatterns(t *testing.T) {
	params := loadCFN(t, samTemplate).Parameters
	tests := []struct {
		param, in string
		want      bool
	}{
		{"ServiceTiers", "", true},
		{"ServiceTiers", "*=flex, us.anthropic.claude-haiku-4-5-20251001-v1:0=priority", true},
		{"ServiceTiers", "us.anthropic.claude-sonnet-4-6=default", true},
		{"ServiceTiers", "*=turbo", false},
		{"ServiceTiers", "flex", false},
		{"KeyLimits", "", true},
		{"KeyLimits", "team-a:rpm=60,tpm=100000,concurrent=4;*:rpm=600", true},
		{"KeyLimits", "team-a:rpm=60\nx", false},
		{"GuardrailId", "", true},
		{"GuardrailId", "abc123def456", true},
		{"GuardrailId", "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc", false},
		{"GuardrailVersion", "DRAFT", true},
		{"GuardrailVersion", "3", true},
		{"GuardrailVersion", "latest", false},
		{"FallbackRegions", "", true},
		{"FallbackRegions", "us-west-2,us-east-2", true},
		{"FallbackRegions", "us-west-2, eu-central-1", true},
		{"FallbackRegions", "us-west-2;eu-central-1", false},
		{"ModelFallbacks", "", true},
		{"ModelFallbacks", "us.anthropic.claude-sonnet-4-5-20250929-v1:0=global.anthropic.claude-sonnet-4-5-20250929-v1:0|us.amazon.nova-pro-v1:0", true},
		{"ModelFallbacks", "claude-sonnet-4-5=claude-haiku-4-5;gpt-4o=us.amazon.nova-pro-v1:0", true},
		{"ModelFallbacks", "claude-sonnet-4-5", false},
		{"BedrockIdleTimeout", "2m", true},
		{"BedrockIdleTimeout", "1m30s", true},
		{"BedrockIdleTimeout", "0", true},
		{"BedrockIdleTimeout", "two minutes", false},
	}
	for _, tt := range tests {
		pattern, _ := field(params, tt.param, "AllowedPattern").(string)
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Fatalf("%s AllowedPattern %q: %v", tt.param, pattern, err)
		}
		if got := re.MatchString(tt.in); got != tt.want {
			t.Errorf("%s pattern on %q: got %v, want %v", tt.param, tt.in, got, tt.want)
		}
	}
}

// TestOtelCollectorLayer checks the optional collector layer: with
// OtelCollectorLayerArn the zip functions carry it and trace to it
// (OTEL_TRACES_EXPORTER otlp, else none), the role may write to X-Ray only
// then, and the image function, which takes no layers, is left alone.
func TestOtelCollectorLayer(t *testing.T) {
	tmpl := loadCFN(t, samTemplate)
	if got := tmpl.Conditions["HasOtelCollector"]; !reflect.DeepEqual(got, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{ref("OtelCollectorLayerArn"), ""}}}}) {
		t.Errorf("HasOtelCollector %v, want OtelCollectorLayerArn not empty", got)
	}
	for _, name := range []string{"GatewayFunction", "GatewayStreamFunction", gatewayImage} {
		fn, ok := tmpl.resource(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		wantEnv := map[string]any{"Fn::If": []any{"HasOtelCollector", "otlp", "none"}}
		if got := field(fn.Props, "Environment", "Variables", "OTEL_TRACES_EXPORTER"); !reflect.DeepEqual(got, wantEnv) {
			t.Errorf("%s OTEL_TRACES_EXPORTER %v, want %v", name, got, wantEnv)
		}
		if name == gatewayImage {
			if field(fn.Props, "Layers") != nil {
				t.Errorf("%s has Layers; an image function takes none", name)
			}
			continue
		}
		wantLayers := map[string]any{"Fn::If": []any{"HasOtelCollector", []any{ref("OtelCollectorLayerArn")}, ref("AWS::NoValue")}}
		if got := field(fn.Props, "Layers"); !reflect.DeepEqual(got, wantLayers) {
			t.Errorf("%s Layers %v, want %v", name, got, wantLayers)
		}
	}
	var write []any
	for _, st := range field(tmpl.Resources, "GatewayRole", "Properties", "Policies").([]any) {
		for _, s := range list(field(st, "PolicyDocument", "Statement")) {
			if args, ok := field(s, "Fn::If").([]any); ok && len(args) == 3 && field(args[1], "Sid") == "WriteTraces" {
				write = args
			}
		}
	}
	if len(write) != 3 || write[0] != "HasOtelCollector" || !reflect.DeepEqual(write[2], ref("AWS::NoValue")) {
		t.Errorf("X-Ray writes are %v, want them only under HasOtelCollector", write)
	}
}

package topology

import (
	"errors"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Profile is a month of gateway use and the inputs of both topologies.
// Fields a profile file leaves out keep DefaultProfile's values.
type Profile struct {
	Name string `json:"name"`
	// Region selects regional price overrides; the embedded prices are us-east-1's.
	Region       string  `json:"region"`
	DaysPerMonth float64 `json:"days_per_month"`
	// RequestsPerDay counts the requests that call Bedrock: chat,
	// embeddings, Responses, Anthropic Messages, Bedrock's own API.
	RequestsPerDay float64 `json:"requests_per_day"`
	// AvgRequestSeconds is the mean request duration, Bedrock's time
	// included: Lambda bills it.
	AvgRequestSeconds float64 `json:"avg_request_seconds"`
	// RequestBytes and ResponseBytes are mean HTTP body sizes.
	RequestBytes  float64 `json:"request_bytes"`
	ResponseBytes float64 `json:"response_bytes"`
	// APIKeys is the number of key names (metric dimensions).
	APIKeys float64 `json:"api_keys"`
	// Models is the model mix; shares are normalised to sum to 1.
	Models []ModelUse `json:"models"`
	// Keys is the traffic per key name, for the report's "Usage per key"
	// section; ProfileFromMetrics fills it from the gateway's per-key
	// counters. Empty leaves the section out.
	Keys      []KeyUse        `json:"keys,omitempty"`
	V1        V1Inputs        `json:"v1"`
	V2        V2Inputs        `json:"v2"`
	Recycling RecyclingInputs `json:"recycling"`
}

// ModelUse is one model's share of the requests and its tokens per request.
type ModelUse struct {
	// Model is the id clients use: a foundation model or inference profile.
	Model string `json:"model"`
	// Foundation is the foundation model it runs; empty derives it from Model.
	Foundation       string  `json:"foundation_model,omitempty"`
	Share            float64 `json:"share"`
	InputTokens      float64 `json:"input_tokens"`
	OutputTokens     float64 `json:"output_tokens"`
	CacheReadTokens  float64 `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens float64 `json:"cache_write_tokens,omitempty"`
}

// KeyUse is one key name's traffic a day.
type KeyUse struct {
	// Name is the key's name (never the key): "other" stands for the names
	// past the gateway's METRICS_MAX_KEY_NAMES, "none" for no authentication.
	Name           string  `json:"name"`
	RequestsPerDay float64 `json:"requests_per_day"`
	// Models is the key's tokens a day on each model.
	Models []KeyTokens `json:"models,omitempty"`
}

// KeyTokens is a key's tokens a day on one model.
type KeyTokens struct {
	Model string `json:"model"`
	// Foundation is the foundation model it runs; empty derives it from Model.
	Foundation       string  `json:"foundation_model,omitempty"`
	InputTokens      float64 `json:"input_tokens"`
	OutputTokens     float64 `json:"output_tokens"`
	CacheReadTokens  float64 `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens float64 `json:"cache_write_tokens,omitempty"`
}

// V1Inputs describe the Lambda topology (template.yaml): an internet-facing
// ALB in a VPC with public subnets, a Lambda function, a scheduled canary
// Lambda, a CMK-encrypted secret named by an SSM parameter.
type V1Inputs struct {
	Architecture string  `json:"architecture"` // arm64 or x86_64
	MemoryMB     float64 `json:"memory_mb"`
	ALBs         float64 `json:"albs"`
	// PublicIPv4 is the ALB's public addresses: one per Availability Zone.
	PublicIPv4    float64 `json:"public_ipv4_addresses"`
	NATGateways   float64 `json:"nat_gateways"`
	NATGBPerMonth float64 `json:"nat_gb_per_month"`
	HostedZones   float64 `json:"hosted_zones"`
	// DNSQueriesPerDay are billed queries; alias queries to an ALB are free.
	DNSQueriesPerDay float64  `json:"dns_queries_per_day"`
	KMSKeys          float64  `json:"kms_keys"`
	Secrets          float64  `json:"secrets"`
	SSMParameters    float64  `json:"ssm_parameters"`
	Keys             KeyReads `json:"key_reads"`
	// WarmEnvironments are the execution environments alive all month (the
	// canary keeps one); each re-reads the keys every KeyReads.RefreshMinutes.
	WarmEnvironments float64 `json:"warm_environments"`
	// ColdStartsPerDay each read the keys once more.
	ColdStartsPerDay float64 `json:"cold_starts_per_day"`

	CanaryIntervalMinutes float64 `json:"canary_interval_minutes"`
	CanaryMemoryMB        float64 `json:"canary_memory_mb"`
	CanaryMS              float64 `json:"canary_ms"`
	// CanaryGatewayMS is the gateway's duration for one canary probe.
	CanaryGatewayMS    float64 `json:"canary_gateway_ms"`
	CanaryLogBytes     float64 `json:"canary_log_bytes"`
	LogBytesPerRequest float64 `json:"log_bytes_per_request"`
	LogRetentionDays   float64 `json:"log_retention_days"`
	// CustomMetrics is the number of CloudWatch metrics the EMF lines
	// create; unset derives it from the models and keys (see emfMetrics).
	CustomMetrics *float64 `json:"custom_metrics,omitempty"`
}

// KeyReads is what one read of the API keys costs in AWS calls. The
// defaults are SECRET_ARN_PARAMETER's: GetParameter, then GetSecretValue for
// AWSCURRENT and AWSPREVIOUS, each decrypted with the CMK.
type KeyReads struct {
	RefreshMinutes float64 `json:"refresh_minutes"`
	SSMCalls       float64 `json:"ssm_calls"`
	SecretCalls    float64 `json:"secret_calls"`
	KMSCalls       float64 `json:"kms_calls"`
}

// V2Inputs describe the on-premises container: it reads its key with an IAM
// user's credentials; hardware and power are what the owner pays locally.
type V2Inputs struct {
	Replicas      float64  `json:"replicas"`
	KMSKeys       float64  `json:"kms_keys"`
	Secrets       float64  `json:"secrets"`
	SSMParameters float64  `json:"ssm_parameters"`
	Keys          KeyReads `json:"key_reads"`
	// HardwareUSD is spread over HardwareMonths.
	HardwareUSD    float64 `json:"hardware_usd"`
	HardwareMonths float64 `json:"hardware_months"`
	Watts          float64 `json:"watts"`
	USDPerKWh      float64 `json:"usd_per_kwh"`
	// OtherMonthlyUSD is anything else local (a share of the internet line...).
	OtherMonthlyUSD float64 `json:"other_monthly_usd"`
}

// RecyclingInputs is the chance per hour that a request lands on a Lambda
// environment being recycled, and the windows to compound it over.
type RecyclingInputs struct {
	HourlyProbability float64   `json:"hourly_probability"`
	WindowHours       []float64 `json:"window_hours"`
}

// DefaultProfile is the starting point every profile file is read onto:
// template.yaml's defaults and a small team's traffic.
func DefaultProfile() Profile {
	keys := KeyReads{RefreshMinutes: 5, SSMCalls: 1, SecretCalls: 2, KMSCalls: 2}
	return Profile{
		Name:              "default",
		Region:            "us-east-1",
		DaysPerMonth:      30,
		RequestsPerDay:    1000,
		AvgRequestSeconds: 5,
		RequestBytes:      8000,
		ResponseBytes:     3000,
		APIKeys:           1,
		Models: []ModelUse{{Model: "us.anthropic.claude-haiku-4-5-20251001-v1:0", Share: 1,
			InputTokens: 1500, OutputTokens: 400}},
		V1: V1Inputs{
			Architecture: "arm64", MemoryMB: 512, ALBs: 1, PublicIPv4: 2, HostedZones: 1,
			KMSKeys: 1, Secrets: 1, SSMParameters: 1, Keys: keys, WarmEnvironments: 1, ColdStartsPerDay: 6,
			CanaryIntervalMinutes: 5, CanaryMemoryMB: 128, CanaryMS: 150, CanaryGatewayMS: 5, CanaryLogBytes: 900,
			LogBytesPerRequest: 1800, LogRetentionDays: 30,
		},
		V2:        V2Inputs{Replicas: 1, KMSKeys: 1, Secrets: 1, SSMParameters: 1, Keys: keys, HardwareMonths: 36},
		Recycling: RecyclingInputs{HourlyProbability: 0.0022, WindowHours: []float64{8, 24, 168, 720}},
	}
}

// LoadProfile reads a profile file (JSON or YAML) onto DefaultProfile.
func LoadProfile(path string) (Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("read profile: %w", err)
	}
	p, err := ParseProfile(b)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// ParseProfile decodes a profile (JSON or YAML) onto DefaultProfile and checks it.
func ParseProfile(b []byte) (Profile, error) {
	p := DefaultProfile()
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		return Profile{}, fmt.Errorf("decode profile: %w", err)
	}
	return p, p.Check()
}

// Check rejects profiles the model cannot price.
func (p Profile) Check() error {
	var errs []error
	if p.DaysPerMonth <= 0 {
		errs = append(errs, errors.New("days_per_month must be positive"))
	}
	if p.RequestsPerDay < 0 || p.AvgRequestSeconds < 0 {
		errs = append(errs, errors.New("requests_per_day and avg_request_seconds must not be negative"))
	}
	var shares float64
	for _, m := range p.Models {
		if m.Model == "" || m.Share < 0 {
			errs = append(errs, fmt.Errorf("model %q: needs an id and a share of at least 0", m.Model))
		}
		shares += m.Share
	}
	if p.RequestsPerDay > 0 && shares <= 0 {
		errs = append(errs, errors.New("models: the shares must add up to more than 0"))
	}
	for _, k := range p.Keys {
		if k.Name == "" || k.RequestsPerDay < 0 {
			errs = append(errs, fmt.Errorf("key %q: needs a name and requests_per_day of at least 0", k.Name))
		}
		for _, m := range k.Models {
			if m.Model == "" || m.InputTokens < 0 || m.OutputTokens < 0 || m.CacheReadTokens < 0 || m.CacheWriteTokens < 0 {
				errs = append(errs, fmt.Errorf("key %q: model %q needs an id and tokens of at least 0", k.Name, m.Model))
			}
		}
	}
	if p.V1.Architecture != "arm64" && p.V1.Architecture != "x86_64" {
		errs = append(errs, fmt.Errorf("v1.architecture: %q is not arm64 or x86_64", p.V1.Architecture))
	}
	if p.V1.Keys.RefreshMinutes < 0 || p.V2.Keys.RefreshMinutes < 0 || p.V1.CanaryIntervalMinutes < 0 {
		errs = append(errs, errors.New("refresh and canary intervals must not be negative"))
	}
	if p.V2.HardwareUSD > 0 && p.V2.HardwareMonths <= 0 {
		errs = append(errs, errors.New("v2.hardware_months must be positive to spread hardware_usd"))
	}
	if p.Recycling.HourlyProbability < 0 || p.Recycling.HourlyProbability > 1 {
		errs = append(errs, errors.New("recycling.hourly_probability must be between 0 and 1"))
	}
	return errors.Join(errs...)
}

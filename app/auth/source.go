package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

// SSM is the part of the SSM client the store calls; *ssm.Client satisfies it.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretsManager is the part of the Secrets Manager client the store calls;
// *secretsmanager.Client satisfies it.
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Sources names where the API keys come from. Each field is one environment
// variable. At most one may be set, with one exception: SecretARNParameter
// and SecretARN together are accepted when the parameter holds exactly that
// ARN (the fork of the reference gateway passes both); SecretARNParameter is
// then the one read. The precedence, highest first, is SecretARNParameter,
// SecretARN, ParamName, APIKey.
type Sources struct {
	// APIKey is a literal key (API_KEY), named "default". Local use.
	APIKey string
	// ParamName is an SSM parameter, usually a SecureString, whose value is
	// the key (API_KEY_PARAM_NAME), named "default".
	ParamName string
	// SecretARN is a Secrets Manager secret (API_KEY_SECRET_ARN); see
	// parseSecret for the accepted values.
	SecretARN string
	// SecretARNParameter is an SSM parameter whose value is the ARN of the
	// secret (SECRET_ARN_PARAMETER).
	SecretARNParameter string
}

// ErrNoSource is returned by Sources.Validate when no source is set.
var ErrNoSource = errors.New("no API key source is set: set one of API_KEY, API_KEY_PARAM_NAME, API_KEY_SECRET_ARN or SECRET_ARN_PARAMETER")

// Validate reports ErrNoSource when nothing is set, and an error naming the
// variables when two sources conflict.
func (s Sources) Validate() error {
	set := s.setVars()
	switch {
	case len(set) == 0:
		return ErrNoSource
	case len(set) == 1:
		return nil
	case len(set) == 2 && s.SecretARNParameter != "" && s.SecretARN != "":
		return nil // checked against the parameter's value when loading
	}
	return fmt.Errorf("API key sources conflict: %s are all set; set exactly one", strings.Join(set, ", "))
}

// setVars lists the variables that are set, in precedence order.
func (s Sources) setVars() []string {
	var set []string
	for _, v := range []struct{ name, value string }{
		{"SECRET_ARN_PARAMETER", s.SecretARNParameter},
		{"API_KEY_SECRET_ARN", s.SecretARN},
		{"API_KEY_PARAM_NAME", s.ParamName},
		{"API_KEY", s.APIKey},
	} {
		if v.value != "" {
			set = append(set, v.name)
		}
	}
	return set
}

// String describes the source without any key value, e.g.
// "SECRET_ARN_PARAMETER=BedrockApiKey" or "API_KEY".
func (s Sources) String() string {
	switch {
	case s.SecretARNParameter != "":
		return "SECRET_ARN_PARAMETER=" + s.SecretARNParameter
	case s.SecretARN != "":
		return "API_KEY_SECRET_ARN=" + s.SecretARN
	case s.ParamName != "":
		return "API_KEY_PARAM_NAME=" + s.ParamName
	case s.APIKey != "":
		return "API_KEY"
	}
	return "none"
}

// Format prints String for every verb, so a literal API_KEY is never printed.
func (s Sources) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// isStatic reports a source that never changes (a literal key).
func (s Sources) isStatic() bool {
	return s.SecretARNParameter == "" && s.SecretARN == "" && s.ParamName == ""
}

// LoadError says which parameter or secret could not be read and why, with
// the AWS error code when AWS answered. It never holds a key value.
type LoadError struct {
	What string // "SSM parameter" or "secret"
	Name string // the parameter's name or the secret's ARN
	Code string // AWS error code, e.g. AccessDeniedException; empty if AWS did not answer
	Err  error
}

// Error names the parameter or secret and the AWS code; never a value.
func (e *LoadError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("read %s %q: %s: %v", e.What, e.Name, e.Code, e.Err)
	}
	return fmt.Sprintf("read %s %q: %v", e.What, e.Name, e.Err)
}

// Unwrap returns the SDK's error, for errors.As on its types.
func (e *LoadError) Unwrap() error { return e.Err }

func loadError(what, name string, err error) *LoadError {
	le := &LoadError{What: what, Name: name, Err: err}
	var api smithy.APIError
	if errors.As(err, &api) {
		le.Code = api.ErrorCode()
	}
	return le
}

// Secrets Manager staging labels: during rotation both are accepted.
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// loader reads keys from AWS. It is stateless; Store caches what it returns.
type loader struct {
	src     Sources
	ssm     SSM
	secrets SecretsManager
}

// loaded is the result of one read.
type loaded struct {
	keys []Key
	// versions identifies what was read (secret version ids), for logs.
	versions string
	// warnings are problems that did not fail the read (e.g. an AWSPREVIOUS
	// value in an unknown format).
	warnings []error
}

func (l *loader) load(ctx context.Context) (loaded, error) {
	switch {
	case l.src.SecretARNParameter != "":
		arn, err := l.parameter(ctx, l.src.SecretARNParameter)
		if err != nil {
			return loaded{}, err
		}
		if l.src.SecretARN != "" && arn != l.src.SecretARN {
			return loaded{}, fmt.Errorf("SSM parameter %q (SECRET_ARN_PARAMETER) names secret %q but API_KEY_SECRET_ARN is %q: unset one of them",
				l.src.SecretARNParameter, arn, l.src.SecretARN)
		}
		return l.secret(ctx, arn)
	case l.src.SecretARN != "":
		return l.secret(ctx, l.src.SecretARN)
	case l.src.ParamName != "":
		v, err := l.parameter(ctx, l.src.ParamName)
		if err != nil {
			return loaded{}, err
		}
		return loaded{keys: []Key{NewKey(defaultName, v)}}, nil
	case l.src.APIKey != "":
		// Trimmed like the presented key and the stored ones: a key file
		// mounted from a Kubernetes secret usually ends in a newline.
		return loaded{keys: []Key{NewKey(defaultName, strings.TrimSpace(l.src.APIKey))}}, nil
	}
	return loaded{}, ErrNoSource
}

// parameter reads an SSM parameter, decrypting a SecureString.
func (l *loader) parameter(ctx context.Context, name string) (string, error) {
	out, err := l.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", loadError("SSM parameter", name, err)
	}
	var v string
	if out.Parameter != nil {
		v = strings.TrimSpace(aws.ToString(out.Parameter.Value))
	}
	if v == "" {
		return "", &LoadError{What: "SSM parameter", Name: name, Err: errors.New("the parameter is empty")}
	}
	return v, nil
}

// secret reads the AWSCURRENT and, if there is one, the AWSPREVIOUS version.
func (l *loader) secret(ctx context.Context, arn string) (loaded, error) {
	cur, curVersion, err := l.secretStage(ctx, arn, stageCurrent)
	if err != nil {
		return loaded{}, err
	}
	keys, err := parseSecret(cur)
	if err != nil {
		return loaded{}, &LoadError{What: "secret", Name: arn, Err: fmt.Errorf("%s version: %w", stageCurrent, err)}
	}
	out := loaded{keys: keys, versions: stageCurrent + "=" + curVersion}

	prev, prevVersion, err := l.secretStage(ctx, arn, stagePrevious)
	var notFound *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		return out, nil // never rotated: no AWSPREVIOUS
	case err != nil:
		return loaded{}, err
	}
	prevKeys, err := parseSecret(prev)
	if err != nil {
		out.warnings = append(out.warnings, &LoadError{What: "secret", Name: arn, Err: fmt.Errorf("%s version ignored: %w", stagePrevious, err)})
		return out, nil
	}
	out.versions += " " + stagePrevious + "=" + prevVersion
	out.keys = appendNew(out.keys, prevKeys)
	return out, nil
}

func (l *loader) secretStage(ctx context.Context, arn, stage string) (value, version string, err error) {
	out, err := l.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stage)})
	if err != nil {
		return "", "", loadError("secret", arn, fmt.Errorf("%s: %w", stage, err))
	}
	switch {
	case out.SecretString != nil:
		value = *out.SecretString
	case out.SecretBinary != nil:
		value = string(out.SecretBinary)
	}
	return value, aws.ToString(out.VersionId), nil
}

// appendNew appends the keys of more whose values are not already in keys.
func appendNew(keys, more []Key) []Key {
	for _, m := range more {
		dup := false
		for _, k := range keys {
			if k.matches((*tokenDigest)(m.digest)) {
				dup = true
			}
		}
		if !dup {
			keys = append(keys, m)
		}
	}
	return keys
}

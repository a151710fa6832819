package topology

import (
	"fmt"

	"github.com/openbedrock/gateway/app/cost"
)

// KeyStorage is one way to keep the gateway's API key, priced for a
// month of one topology: what it stores and the AWS calls its reads make.
type KeyStorage struct {
	Option string
	// Short is the option's name in the chart.
	Short string
	// Calls is the AWS API calls a month (SSM, Secrets Manager and KMS).
	Calls float64
	Lines []Line
	Note  string
}

// Key storage options, in the order reports list them.
const (
	KeyStorageCMK        = "Secrets Manager, customer-managed KMS key"
	KeyStorageAWSManaged = "Secrets Manager, AWS-managed key"
	KeyStorageSecureSSM  = "SSM SecureString parameter alone"
	KeyStorageEnv        = "Environment variable"
)

// keyStorage prices the four ways to keep the key for reads reads a month
// of a topology whose key source reads as k (calls per read).
//
//   - Secrets Manager with a customer-managed key (template.yaml, and
//     SECRET_ARN_PARAMETER): per read k's GetParameter for the secret's
//     ARN, GetSecretValue for AWSCURRENT and AWSPREVIOUS, each decrypted
//     with the key; the key costs a month.
//   - The same with aws/secretsmanager: the same calls, no key fee.
//   - API_KEY_PARAM_NAME: one GetParameter WithDecryption per read, which
//     SSM decrypts with aws/ssm (one KMS call); a standard parameter.
//   - API_KEY: nothing stored in AWS, no calls; rotating the key means
//     redeploying (V1) or restarting (V2).
//
// KMS requests against AWS-managed keys are counted at the KMS request
// price, an upper bound.
func keyStorage(prices *cost.Prices, k KeyReads, reads float64) []KeyStorage {
	calls := func(ssm, secrets, kms float64) float64 { return reads * (ssm + secrets + kms) }
	secretsManager := func(keyItem, keyName string) []Line {
		return []Line{
			line(prices, "Keys", keyName, 1, keyItem),
			line(prices, "Keys", "KMS Decrypt requests", reads*k.KMSCalls/1e4, "kms_10k_requests"),
			line(prices, "Keys", "Secrets Manager secret", 1, "secretsmanager_secret_month"),
			line(prices, "Keys", "Secrets Manager GetSecretValue calls", reads*k.SecretCalls/1e4, "secretsmanager_10k_calls"),
			line(prices, "Keys", "SSM parameter holding the secret's ARN", 1, "ssm_standard_parameter_month"),
			line(prices, "Keys", "SSM GetParameter calls", reads*k.SSMCalls/1e4, "ssm_10k_api_calls"),
		}
	}
	return []KeyStorage{
		{
			Option: KeyStorageCMK,
			Short:  "Secrets Manager + CMK",
			Calls:  calls(k.SSMCalls, k.SecretCalls, k.KMSCalls),
			Lines:  secretsManager("kms_key_month", "KMS customer managed key"),
			Note:   "today's design (template.yaml): key policy and rotation under your control",
		},
		{
			Option: KeyStorageAWSManaged,
			Short:  "Secrets Manager + AWS key",
			Calls:  calls(k.SSMCalls, k.SecretCalls, k.KMSCalls),
			Lines:  secretsManager("kms_aws_managed_key_month", "KMS AWS managed key aws/secretsmanager"),
			Note:   "no key fee; the key policy is AWS's, and cross-account reads need a CMK",
		},
		{
			Option: KeyStorageSecureSSM,
			Short:  "SSM SecureString",
			Calls:  calls(1, 0, 1),
			Lines: []Line{
				line(prices, "Keys", "SSM SecureString parameter (standard)", 1, "ssm_standard_parameter_month"),
				line(prices, "Keys", "SSM GetParameter calls (with decryption)", reads/1e4, "ssm_10k_api_calls"),
				line(prices, "Keys", "KMS Decrypt requests (aws/ssm)", reads/1e4, "kms_10k_requests"),
			},
			Note: "API_KEY_PARAM_NAME: one call a read; no previous version, so the old key stops working at the next read",
		},
		{
			Option: KeyStorageEnv,
			Short:  "Environment variable",
			Note:   "API_KEY: nothing in AWS; the key sits in the function's or container's configuration and rotates only by redeploying",
		},
	}
}

// Total sums an option's lines.
func (k KeyStorage) Total() float64 { return Total(k.Lines) }

// KeyStorageTable compares the options for one topology.
type KeyStorageTable struct {
	// Reads is the key reads a month; Note says where they come from.
	Reads   float64
	Note    string
	Options []KeyStorage
}

// keyStorageNote says what the key storage comparison assumes for a
// topology.
func keyStorageNote(topology string, p Profile, reads float64) string {
	if topology == V1 {
		return fmt.Sprintf("%s reads a month: %g warm environment(s) every %g min and %g cold starts a day",
			num(reads), p.V1.WarmEnvironments, p.V1.Keys.RefreshMinutes, p.V1.ColdStartsPerDay)
	}
	return fmt.Sprintf("%s reads a month: %g replica(s) every %g min", num(reads), p.V2.Replicas, p.V2.Keys.RefreshMinutes)
}

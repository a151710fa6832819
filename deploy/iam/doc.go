// Package iam holds the least-privilege IAM policy for the gateway's
// on-premises IAM user (onprem-user-policy.json, with ${AccountId},
// ${Region}, ${ParameterName}, ${SecretName} and ${KmsKeyId} placeholders)
// and the test that keeps it least-privilege. See the README's
// "On-premises IAM user".
package iam

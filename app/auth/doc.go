// Package auth holds the gateway's API keys: where they come from (a literal
// key, SSM, Secrets Manager, or an SSM parameter naming a secret), how they
// are cached and refreshed, and how a presented key is checked in constant
// time.
//
// # Sources
//
// Sources names the one place keys come from (API_KEY, API_KEY_PARAM_NAME,
// API_KEY_SECRET_ARN or SECRET_ARN_PARAMETER). A secret's value is either
// the raw key, JSON with an "api_key" field, or a JSON object mapping key
// names to keys (the README's API keys section has the formats).
//
// # Store
//
// Store loads the keys once at start-up, re-reads them on an interval, and
// accepts both the AWSCURRENT and AWSPREVIOUS versions of a secret so that
// rotation never locks clients out. An unknown key may trigger one early
// re-read, at most once per EarlyRefreshEvery, so a flood of bad keys costs
// a bounded number of AWS calls.
//
// # Secrecy
//
// Key values never leave this package: a Key keeps only the SHA-256 digest
// of its value and redacts itself in fmt, slog and encoders, and no error
// built here quotes a value. Key names may appear in logs and metrics.
package auth

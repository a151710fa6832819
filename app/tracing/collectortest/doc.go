// Package collectortest holds end-to-end tests of the gateway's
// OpenTelemetry traces: the gateway (its binary, and the Lambda build under
// the Lambda emulator) exports to the OpenTelemetry Collector's OTLP/HTTP
// receiver, started in the test, which decodes the spans into the
// collector's own data model for the assertions. It has no non-test code.
package collectortest

package bedrock

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ShieldBodies wraps the HTTP client of an AWS configuration so that a fast
// answer cannot cut a response stream short.
//
// smithy-go wraps every request body in a closer with a WriteTo method and
// closes it as soon as the response headers arrive. net/http writes the body
// with WriteTo and then reads once more to check for extra bytes; when the
// close lands in between (an upstream that answers fast, a busy machine),
// that WriteTo returns io.EOF, net/http takes it for a failed write and
// closes the connection, and a ConverseStream still being read on it ends
// with "use of closed network connection". Through Read alone a closed body
// simply reports EOF, so the shield hides WriteTo.
//
// Wrap the client after config.LoadDefaultConfig: AWS_CA_BUNDLE needs the
// *awshttp.BuildableClient itself, and has been applied by then.
func ShieldBodies(c aws.HTTPClient) aws.HTTPClient { return bodyShield{c} }

type bodyShield struct{ next aws.HTTPClient }

// Do sends r with its body reduced to an io.ReadCloser.
func (b bodyShield) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return b.next.Do(r)
}

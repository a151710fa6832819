//go:build lambda

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// errBadEvent marks an ALB event that is not a request we can serve: the
// client's fault (a body that is not base64, a path that is not one), so a
// 400 rather than a 502.
var errBadEvent = errors.New("bad request")

// albRequest turns an ALB target-group event into a request for the
// handler. The URL is built from the event's path and query alone: the Host
// header is the client's to write and, pasted in front of the path as the
// proxy library did, could change the routed path (sidestepping ALB and WAF
// path rules). The ALB passes path and query as they came, still
// percent-encoded.
func albRequest(ctx context.Context, ev events.ALBTargetGroupRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("%w: the body is not valid base64", errBadEvent)
		}
	}
	path := ev.Path
	if path == "" {
		path = "/"
	}
	u, err := url.ParseRequestURI(path)
	if err != nil || !strings.HasPrefix(path, "/") || u.RawQuery != "" || u.Host != "" {
		return nil, fmt.Errorf("%w: the path %q is not a URL path", errBadEvent, path)
	}
	u.RawQuery = albQuery(ev)
	method := strings.ToUpper(ev.HTTPMethod)
	if method == "" || strings.ContainsAny(method, " \t\r\n") {
		return nil, fmt.Errorf("%w: the method %q is not an HTTP method", errBadEvent, ev.HTTPMethod)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadEvent, err)
	}
	req.URL = u
	req.RequestURI = u.RequestURI()
	if ev.MultiValueHeaders != nil {
		for k, vs := range ev.MultiValueHeaders {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	} else {
		for k, v := range ev.Headers {
			req.Header.Add(k, v)
		}
	}
	req.Host = req.Header.Get("Host")
	return req, nil
}

// albQuery joins the event's query parameters, which the ALB leaves
// encoded as the client sent them, in a stable order.
func albQuery(ev events.ALBTargetGroupRequest) string {
	var parts []string
	if len(ev.MultiValueQueryStringParameters) > 0 {
		for k, vs := range ev.MultiValueQueryStringParameters {
			for _, v := range vs {
				parts = append(parts, k+"="+v)
			}
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

// serveALB serves one ALB event with h, buffering the whole response.
func serveALB(ctx context.Context, h http.Handler, ev events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
	req, err := albRequest(ctx, ev)
	if err != nil {
		return events.ALBTargetGroupResponse{}, err
	}
	w := core.NewProxyResponseWriterALB()
	h.ServeHTTP(w, req)
	return w.GetProxyResponse()
}

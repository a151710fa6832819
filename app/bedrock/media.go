package bedrock

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"path"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// MediaFetcher decodes data: URLs and fetches http(s) images for image_url
// parts. Remote fetches are capped in size and time, and by default refuse
// private, loopback and link-local addresses (checked on the resolved
// address of every connection, redirects included) so the gateway cannot be
// used to reach its own network.
type MediaFetcher struct {
	client   *http.Client
	maxBytes int64
}

// MediaOptions configure a MediaFetcher.
type MediaOptions struct {
	MaxBytes     int64         // largest image fetched or decoded; default 10 MiB
	Timeout      time.Duration // per fetch; default 10 s
	AllowPrivate bool          // allow private/loopback targets (tests, trusted networks)
	AllowHTTP    bool          // allow remote fetching at all
}

// NewMediaFetcher returns a fetcher with its own HTTP client.
func NewMediaFetcher(o MediaOptions) *MediaFetcher {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 10 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: o.Timeout}
	if !o.AllowPrivate {
		dialer.Control = refusePrivate
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}
	f := &MediaFetcher{maxBytes: o.MaxBytes}
	if o.AllowHTTP {
		f.client = &http.Client{
			Transport: tr,
			Timeout:   o.Timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("too many redirects")
				}
				return nil
			},
		}
	}
	return f
}

var errPrivateAddress = errors.New("refusing to fetch from a private, loopback or link-local address")

func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) { // carrier-grade NAT, also used by cloud metadata
		return errPrivateAddress
	}
	return nil
}

var imageFormats = map[string]types.ImageFormat{
	"image/png": types.ImageFormatPng, "image/jpeg": types.ImageFormatJpeg, "image/jpg": types.ImageFormatJpeg,
	"image/gif": types.ImageFormatGif, "image/webp": types.ImageFormatWebp,
}

// Image returns the Bedrock image block for a data: or http(s) URL. The
// format comes from the bytes themselves; a declared type is only a fallback.
func (f *MediaFetcher) Image(ctx context.Context, url string) (types.ImageBlock, error) {
	var (
		data     []byte
		declared string
		err      error
	)
	switch {
	case strings.HasPrefix(url, "data:"):
		declared, data, err = decodeDataURL(url, f.maxBytes)
	case strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://"):
		declared, data, err = f.fetch(ctx, url)
	default:
		return types.ImageBlock{}, errors.New("url must be a data: URL or an http(s) URL")
	}
	if err != nil {
		return types.ImageBlock{}, err
	}
	format, ok := imageFormats[http.DetectContentType(data)]
	if !ok {
		format, ok = imageFormats[declared]
	}
	if !ok {
		return types.ImageBlock{}, fmt.Errorf("unsupported image type %q; Bedrock takes png, jpeg, gif and webp", declared)
	}
	return types.ImageBlock{Format: format, Source: &types.ImageSourceMemberBytes{Value: data}}, nil
}

func (f *MediaFetcher) fetch(ctx context.Context, url string) (string, []byte, error) {
	if f.client == nil {
		return "", nil, errors.New("fetching image URLs is switched off; send a data: URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", nil, fmt.Errorf("bad image URL: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return "", nil, errPrivateAddress
		}
		return "", nil, fmt.Errorf("could not fetch the image: %w", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("fetching the image returned HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > f.maxBytes {
		return "", nil, fmt.Errorf("image is larger than %d bytes", f.maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("reading the image: %w", err)
	}
	if int64(len(data)) > f.maxBytes {
		return "", nil, fmt.Errorf("image is larger than %d bytes", f.maxBytes)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt, data, nil
}

// decodeDataURL decodes data:<mime>;base64,<data>.
func decodeDataURL(url string, maxBytes int64) (string, []byte, error) {
	meta, payload, ok := strings.Cut(strings.TrimPrefix(url, "data:"), ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return "", nil, errors.New("data: URL must be base64-encoded (data:<type>;base64,...)")
	}
	if int64(base64.StdEncoding.DecodedLen(len(payload))) > maxBytes {
		return "", nil, fmt.Errorf("data is larger than %d bytes", maxBytes)
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "=")); err != nil {
			return "", nil, errors.New("data: URL has invalid base64")
		}
	}
	if len(data) == 0 {
		return "", nil, errors.New("data: URL is empty")
	}
	return strings.ToLower(strings.TrimSuffix(meta, ";base64")), data, nil
}

var documentFormats = map[string]types.DocumentFormat{
	"application/pdf": types.DocumentFormatPdf, "text/plain": types.DocumentFormatTxt,
	"text/csv": types.DocumentFormatCsv, "text/html": types.DocumentFormatHtml, "text/markdown": types.DocumentFormatMd,
	"application/msword": types.DocumentFormatDoc,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": types.DocumentFormatDocx,
	"application/vnd.ms-excel": types.DocumentFormatXls,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": types.DocumentFormatXlsx,
}

var docExtFormats = map[string]types.DocumentFormat{
	".pdf": types.DocumentFormatPdf, ".txt": types.DocumentFormatTxt, ".csv": types.DocumentFormatCsv,
	".html": types.DocumentFormatHtml, ".md": types.DocumentFormatMd, ".doc": types.DocumentFormatDoc,
	".docx": types.DocumentFormatDocx, ".xls": types.DocumentFormatXls, ".xlsx": types.DocumentFormatXlsx,
}

// docNameUnsafe matches what Bedrock forbids in document names.
var docNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9\s\-\(\)\[\]]+`)

// documentBlock turns a file part into a Bedrock document block. n numbers
// the documents of a message, since their names must differ.
func documentBlock(file *openai.File, n int) (types.DocumentBlock, error) {
	declared, data, err := decodeDataURL(file.FileData, 32<<20)
	if err != nil {
		return types.DocumentBlock{}, err
	}
	ext := strings.ToLower(path.Ext(file.Filename))
	format, ok := documentFormats[declared]
	if !ok {
		format, ok = docExtFormats[ext]
	}
	if !ok {
		return types.DocumentBlock{}, fmt.Errorf("unsupported document type %q; Bedrock takes pdf, csv, doc, docx, xls, xlsx, html, txt and md", declared)
	}
	name := strings.Join(strings.Fields(docNameUnsafe.ReplaceAllString(strings.TrimSuffix(file.Filename, path.Ext(file.Filename)), " ")), " ")
	if name == "" {
		name = "document"
	}
	name = fmt.Sprintf("%s %d", name, n)
	return types.DocumentBlock{Format: format, Name: aws.String(name), Source: &types.DocumentSourceMemberBytes{Value: data}}, nil
}

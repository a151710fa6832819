package bedrock

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
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
// used to reach its own network. Per request, the number of images and
// their total bytes are capped, and each distinct URL is fetched once.
type MediaFetcher struct {
	client    *http.Client
	maxBytes  int64
	maxImages int
	maxTotal  int64
}

// Bedrock's own limits on the images of one Converse request.
const (
	DefaultMaxImages     = 20
	DefaultMaxImageBytes = 3_750_000 // 3.75 MB
	// DefaultMaxImageTotalBytes caps the bytes of all images of a request:
	// the default request body limit, so fetched images never hold more
	// memory than a request's body could.
	DefaultMaxImageTotalBytes = 32 << 20
)

// MediaOptions configure a MediaFetcher.
type MediaOptions struct {
	MaxBytes      int64         // largest image fetched or decoded; default DefaultMaxImageBytes
	MaxImages     int           // images per request; default DefaultMaxImages
	MaxTotalBytes int64         // bytes of all images of a request; default DefaultMaxImageTotalBytes
	Timeout       time.Duration // per fetch; default 10 s
	AllowPrivate  bool          // allow private/loopback targets (tests, trusted networks)
	AllowHTTP     bool          // allow remote fetching at all
	// Proxy is the HTTP proxy fetches go through; nil means direct. The
	// environment's HTTP(S)_PROXY is never used: through a proxy the dial
	// guard would see the proxy's address, not the image host's. With a
	// proxy the image host's addresses are checked before the proxy is asked.
	Proxy *url.URL
}

// NewMediaFetcher returns a fetcher with its own HTTP client.
func NewMediaFetcher(o MediaOptions) *MediaFetcher {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxImageBytes
	}
	if o.MaxImages <= 0 {
		o.MaxImages = DefaultMaxImages
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = DefaultMaxImageTotalBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: o.Timeout}
	tr := &http.Transport{
		Proxy:                 nil, // never the environment's
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}
	switch {
	case o.Proxy != nil:
		// Every connection goes to the proxy, which may well be private:
		// check the image host instead, before the proxy is asked.
		proxy := o.Proxy
		tr.Proxy = func(r *http.Request) (*url.URL, error) {
			if !o.AllowPrivate {
				if err := checkHost(r.Context(), r.URL.Hostname()); err != nil {
					return nil, err
				}
			}
			return proxy, nil
		}
	case !o.AllowPrivate:
		dialer.Control = refusePrivate
	}
	f := &MediaFetcher{maxBytes: o.MaxBytes, maxImages: o.MaxImages, maxTotal: o.MaxTotalBytes}
	if o.AllowHTTP {
		f.client = &http.Client{
			Transport: tr,
			Timeout:   o.Timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errTooManyRedirects
				}
				return nil
			},
		}
	}
	return f
}

var (
	errPrivateAddress   = errors.New("refusing to fetch from a private, loopback or link-local address")
	errTooManyRedirects = errors.New("the image URL redirects more than 3 times")
)

func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !publicAddr(ap.Addr()) {
		return errPrivateAddress
	}
	return nil
}

// checkHost refuses a host name or address that is, or resolves to, an
// address publicAddr refuses. A name that does not resolve is an error too.
func checkHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if !publicAddr(a) {
			return errPrivateAddress
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve image host: %w", err)
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return errPrivateAddress
		}
	}
	return nil
}

// nonPublic lists what the netip predicates miss: shared and reserved IPv4
// space, and IPv6 prefixes that are local or embed an address of their own.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT, also used by cloud metadata
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215): maps into the local network
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("100::/64"),       // discard-only
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
	v4Compat  = netip.MustParsePrefix("::/96")
)

// publicAddr reports whether a is an address the fetcher may dial: not
// loopback, private, link-local, multicast, unspecified or reserved. IPv6
// addresses that carry an IPv4 address (NAT64, 6to4, Teredo and the old
// IPv4-compatible form) are judged by that IPv4 address, since in IPv6-only
// networks with DNS64 they reach it.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a), v4Compat.Contains(a):
			return publicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(a):
			return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		case teredo.Contains(a): // the client's address, inverted
			return publicAddr(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var imageFormats = map[string]types.ImageFormat{
	"image/png": types.ImageFormatPng, "image/jpeg": types.ImageFormatJpeg, "image/jpg": types.ImageFormatJpeg,
	"image/gif": types.ImageFormatGif, "image/webp": types.ImageFormatWebp,
}

// imageBatch is one request's use of the fetcher: the images counted so far,
// their bytes, and the block made for each distinct URL.
type imageBatch struct {
	count int
	bytes int64
	seen  map[string]types.ImageBlock
}

type imageBatchKey struct{}

// begin counts the image parts of msgs, refusing more than the fetcher
// takes before anything is fetched, and returns ctx carrying the request's
// image budget for Image.
func (f *MediaFetcher) begin(ctx context.Context, msgs []openai.Message) (context.Context, error) {
	if f == nil {
		return ctx, nil
	}
	n := 0
	for _, m := range msgs {
		for _, p := range m.Content.Parts {
			if p.Type == "image_url" {
				n++
			}
		}
	}
	if n > f.maxImages {
		return ctx, &RequestError{Param: "messages", Code: "too_many_images",
			Message: fmt.Sprintf("The request has %d images; this gateway takes at most %d per request.", n, f.maxImages)}
	}
	return context.WithValue(ctx, imageBatchKey{}, &imageBatch{seen: map[string]types.ImageBlock{}}), nil
}

// Image returns the Bedrock image block for a data: or http(s) URL. The
// format comes from the bytes themselves; a declared type is only a fallback.
// Within a request (see begin) a URL is fetched once, and the images'
// count and total bytes are capped.
func (f *MediaFetcher) Image(ctx context.Context, url string) (types.ImageBlock, error) {
	batch, _ := ctx.Value(imageBatchKey{}).(*imageBatch)
	if batch == nil {
		batch = &imageBatch{}
	}
	if batch.count++; batch.count > f.maxImages {
		return types.ImageBlock{}, fmt.Errorf("a request takes at most %d images", f.maxImages)
	}
	if img, ok := batch.seen[url]; ok {
		return img, nil
	}
	limit := min(f.maxBytes, f.maxTotal-batch.bytes)
	var (
		data     []byte
		declared string
		err      error
	)
	switch {
	case strings.HasPrefix(url, "data:"):
		declared, data, err = decodeDataURL(url, limit)
	case strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://"):
		declared, data, err = f.fetch(ctx, url, limit)
	default:
		return types.ImageBlock{}, errors.New("url must be a data: URL or an http(s) URL")
	}
	if err != nil {
		if limit < f.maxBytes && errors.Is(err, errTooLarge) {
			return types.ImageBlock{}, fmt.Errorf("the request's images are larger than %d bytes together", f.maxTotal)
		}
		return types.ImageBlock{}, err
	}
	format, ok := imageFormats[http.DetectContentType(data)]
	if !ok {
		format, ok = imageFormats[declared]
	}
	if !ok {
		return types.ImageBlock{}, fmt.Errorf("unsupported image type %q; Bedrock takes png, jpeg, gif and webp", declared)
	}
	img := types.ImageBlock{Format: format, Source: &types.ImageSourceMemberBytes{Value: data}}
	batch.bytes += int64(len(data))
	if batch.seen != nil {
		batch.seen[url] = img
	}
	return img, nil
}

// errTooLarge marks an image over the limit it was read with.
var errTooLarge = errors.New("image too large")

func (f *MediaFetcher) fetch(ctx context.Context, url string, limit int64) (string, []byte, error) {
	if f.client == nil {
		return "", nil, errors.New("fetching image URLs is switched off; send a data: URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", nil, errors.New("the image URL is not a valid URL")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return "", nil, fetchError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("fetching the image returned HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > limit {
		return "", nil, fmt.Errorf("image is larger than %d bytes: %w", limit, errTooLarge)
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(resp.ContentLength, 0)+1))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1)); err != nil {
		return "", nil, fetchError(err)
	}
	if int64(buf.Len()) > limit {
		return "", nil, fmt.Errorf("image is larger than %d bytes: %w", limit, errTooLarge)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt, buf.Bytes(), nil
}

// fetchError says what went wrong with a fetch in words a client may read:
// never the raw network error, which names resolvers, internal hosts and
// ports.
func fetchError(err error) error {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, errPrivateAddress):
		return errPrivateAddress
	case errors.Is(err, errTooManyRedirects):
		return errTooManyRedirects
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("fetching the image: %w", context.Canceled)
	case errors.As(err, &dnsErr):
		return errors.New("could not fetch the image: its host name does not resolve")
	case errors.As(err, &certErr), errors.As(err, &recErr):
		return errors.New("could not fetch the image: TLS with the image host failed")
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return errors.New("could not fetch the image: the image host did not answer in time")
	}
	return errors.New("could not fetch the image: the connection to the image host failed")
}

// decodeDataURL decodes data:<mime>;base64,<data>.
func decodeDataURL(url string, maxBytes int64) (string, []byte, error) {
	meta, payload, ok := strings.Cut(strings.TrimPrefix(url, "data:"), ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return "", nil, errors.New("data: URL must be base64-encoded (data:<type>;base64,...)")
	}
	if int64(base64.StdEncoding.DecodedLen(len(payload))) > maxBytes+2 { // padding
		return "", nil, fmt.Errorf("data is larger than %d bytes: %w", maxBytes, errTooLarge)
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
	if int64(len(data)) > maxBytes {
		return "", nil, fmt.Errorf("data is larger than %d bytes: %w", maxBytes, errTooLarge)
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

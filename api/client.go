package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to godwitd's API. Its methods mirror Backend (a Client is
// a Backend, which lets a program proxy or test against a remote daemon),
// and it is safe for concurrent use.
type Client struct {
	addr  Addr
	base  string // URL prefix: scheme and host
	http  *http.Client
	token string
}

// ClientOption configures a Client.
type ClientOption func(*clientOptions)

type clientOptions struct {
	token string
	tls   *tls.Config
}

// WithToken sets the bearer token sent to a TCP listener.
func WithToken(token string) ClientOption {
	return func(o *clientOptions) { o.token = strings.TrimSpace(token) }
}

// WithTLSConfig sets the TLS configuration for a TCP listener (its root
// CAs, for one); the default verifies against the system's roots.
func WithTLSConfig(c *tls.Config) ClientOption {
	return func(o *clientOptions) { o.tls = c }
}

var _ Backend = (*Client)(nil)

// NewClient returns a client for the API at addr, in any form ParseAddr
// reads. It does not connect: the first call does.
func NewClient(addr string, opts ...ClientOption) (*Client, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0, // a listing may take a while to start
		DisableCompression:    true,
	}
	c := &Client{addr: a, http: &http.Client{Transport: tr}, token: o.token}
	switch a.Network {
	case "unix":
		c.base = "http://godwitd"
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", a.Address)
		}
	default:
		c.base = "https://" + a.Address
		tr.DialContext = dialer.DialContext
		tr.TLSClientConfig = o.tls
		tr.ForceAttemptHTTP2 = false
	}
	return c, nil
}

// Addr is the address the client talks to.
func (c *Client) Addr() Addr { return c.addr }

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// do sends a request and returns a successful response (status 2xx); any
// other answer becomes the server's *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", contentJSON+", "+contentNDJSON)
	if body != nil {
		req.Header.Set("Content-Type", contentJSON)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// transportError explains a failure to talk to the daemon.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &UnreachableError{Addr: c.addr, Err: op.Err}
	}
	return fmt.Errorf("talking to godwitd at %s: %w", c.addr.Display(), unwrapURLError(err))
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// readError reads an error answer.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	if err := json.Unmarshal(b, e); err != nil || e.Message == "" {
		text := strings.TrimSpace(string(b))
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[:i]
		}
		e.Message = fmt.Sprintf("godwitd answered %s", resp.Status)
		if text != "" {
			e.Message += ": " + text
		}
	}
	return e
}

// get fetches path and decodes the JSON answer into out.
func (c *Client) get(ctx context.Context, path string, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return c.readFailed(ctx, err)
	}
	return nil
}

func (c *Client) readFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("godwitd at %s closed the connection before the answer was complete", c.addr.Display())
	}
	return fmt.Errorf("reading godwitd's answer: %w", err)
}

// Version returns the daemon's version.
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	var v VersionInfo
	err := c.get(ctx, "/v1/version", &v)
	return v, err
}

// Status returns the speaker's overview.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.get(ctx, "/v1/status", &st)
	return st, err
}

// Neighbors returns every configured neighbour, sorted by address; never
// nil.
func (c *Client) Neighbors(ctx context.Context) ([]Neighbor, error) {
	ns := []Neighbor{}
	err := c.get(ctx, "/v1/neighbors", &ns)
	if ns == nil {
		ns = []Neighbor{}
	}
	return ns, err
}

// Neighbor returns one neighbour in detail; an unknown address is an
// *Error with status 404 (IsNotFound).
func (c *Client) Neighbor(ctx context.Context, addr netip.Addr) (NeighborDetail, error) {
	var d NeighborDetail
	err := c.get(ctx, "/v1/neighbors/"+url.PathEscape(addr.String()), &d)
	return d, err
}

// NeighborAction asks the daemon to reset, shut down, enable or refresh a
// session.
func (c *Client) NeighborAction(ctx context.Context, addr netip.Addr, action Action, message string) error {
	_, err := c.NeighborActionResult(ctx, addr, action, message)
	return err
}

// NeighborActionResult is NeighborAction returning the daemon's answer.
func (c *Client) NeighborActionResult(ctx context.Context, addr netip.Addr, action Action, message string) (ActionResult, error) {
	var res ActionResult
	var body any
	if message != "" {
		body = ActionRequest{Message: message}
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/neighbors/"+url.PathEscape(addr.String())+"/"+url.PathEscape(string(action)), nil, body)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return res, c.readFailed(ctx, err)
	}
	return res, nil
}

// ConfigStatus returns the state of the configuration.
func (c *Client) ConfigStatus(ctx context.Context) (ConfigStatus, error) {
	var cs ConfigStatus
	err := c.get(ctx, "/v1/config/status", &cs)
	return cs, err
}

// TestPolicy runs the named RoutePolicy over the paths to prefix: the
// best path, or with a valid peer every path received from it. No path is
// an empty slice, not nil. An unknown policy or neighbour
// is an *Error with status 404 (IsNotFound).
func (c *Client) TestPolicy(ctx context.Context, name string, prefix netip.Prefix, peer netip.Addr) ([]PolicyTestResult, error) {
	v := url.Values{}
	v.Set("prefix", prefix.String())
	if peer.IsValid() {
		v.Set("peer", peer.String())
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/policies/"+url.PathEscape(name)+"/test", v, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []PolicyTestResult
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, c.readFailed(ctx, err)
	}
	if out == nil {
		out = []PolicyTestResult{}
	}
	return out, nil
}

// Announcements returns every prefix the speaker originates, sorted by
// prefix; never nil.
func (c *Client) Announcements(ctx context.Context) ([]Announcement, error) {
	as := []Announcement{}
	err := c.get(ctx, "/v1/announcements", &as)
	if as == nil {
		as = []Announcement{}
	}
	return as, err
}

// AddAnnouncement originates req.Prefix with req's attributes, replacing a
// runtime announcement of the same prefix. It returns the announcement as
// the daemon stored it and whether it is new (the daemon answered 201
// Created) rather than a replacement. A bad prefix or attribute is an
// *Error with status 400.
func (c *Client) AddAnnouncement(ctx context.Context, req AnnouncementRequest) (Announcement, bool, error) {
	var a Announcement
	resp, err := c.do(ctx, http.MethodPost, "/v1/announcements", nil, req)
	if err != nil {
		return a, false, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return a, false, c.readFailed(ctx, err)
	}
	return a, resp.StatusCode == http.StatusCreated, nil
}

// DeleteAnnouncement removes the runtime announcement of prefix; without
// one it is an *Error with status 404 (IsNotFound).
func (c *Client) DeleteAnnouncement(ctx context.Context, prefix netip.Prefix) (AnnouncementDeleted, error) {
	var d AnnouncementDeleted
	v := url.Values{}
	v.Set("prefix", prefix.String())
	resp, err := c.do(ctx, http.MethodDelete, "/v1/announcements", v, nil)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return d, c.readFailed(ctx, err)
	}
	return d, nil
}

// FIB returns the kernel's routes against the RIB's: with all every route,
// else only those that differ. Routes and NextHops are never nil. While
// godwitd has not opened the kernel yet it is an *Error with status 503.
func (c *Client) FIB(ctx context.Context, all bool) (FIB, error) {
	var f FIB
	v := url.Values{}
	v.Set("all", strconv.FormatBool(all))
	resp, err := c.do(ctx, http.MethodGet, "/v1/fib", v, nil)
	if err != nil {
		return f, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return f, c.readFailed(ctx, err)
	}
	if f.Routes == nil {
		f.Routes = []FIBRoute{}
	}
	if f.NextHops == nil {
		f.NextHops = []TrackedNextHop{}
	}
	return f, nil
}

// Routes calls emit for every path that matches q, as the daemon streams
// them; no path in memory waits for the next. When emit returns an error
// the stream is abandoned (the daemon sees the client go) and Routes
// returns that error.
func (c *Client) Routes(ctx context.Context, q RouteQuery, emit func(Route) error) error {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("vrf", q.VRF)
	set("family", q.Family)
	set("prefix", q.Prefix)
	set("peer", q.Peer)
	if q.Received {
		v.Set("received", "true")
	}
	if q.Advertised {
		v.Set("advertised", "true")
	}
	if q.BestOnly {
		v.Set("best", "true")
	}
	return readStream(ctx, c, "/v1/routes", v, emit)
}

// Watch calls emit for every event of the given kinds (all kinds when
// none is given): first the current state, then changes, until ctx is
// done, emit returns an error, or the daemon stops. It returns ctx.Err()
// or emit's error, or why the stream ended.
func (c *Client) Watch(ctx context.Context, kinds []EventKind, emit func(Event) error) error {
	v := url.Values{}
	if len(kinds) > 0 {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		v.Set("kinds", strings.Join(names, ","))
	}
	err := readStream(ctx, c, "/v1/watch", v, emit)
	if err == nil {
		return fmt.Errorf("godwitd at %s ended the watch", c.addr.Display())
	}
	return err
}

// errorLinePrefix starts the last line of a stream that failed (an Error
// object: its first member is "error").
var errorLinePrefix = []byte(`{"error":`)

// maxStreamLine bounds one line of a stream (one route or event).
const maxStreamLine = 16 << 20

// readStream reads an NDJSON answer, one item at a time.
func readStream[T any](ctx context.Context, c *Client, path string, query url.Values, emit func(T) error) error {
	resp, err := c.do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var long []byte // a line longer than br's buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(line) > maxStreamLine {
				return fmt.Errorf("reading godwitd's answer: a line longer than %d bytes", maxStreamLine)
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			line, long = append(long, line...), nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
			return c.readFailed(ctx, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if bytes.HasPrefix(line, errorLinePrefix) {
			e := &Error{Status: http.StatusInternalServerError}
			if err := json.Unmarshal(line, e); err != nil {
				return fmt.Errorf("reading godwitd's answer: %w", err)
			}
			return e
		}
		var item T
		if err := json.Unmarshal(line, &item); err != nil {
			return fmt.Errorf("reading godwitd's answer: %w", err)
		}
		if err := emit(item); err != nil {
			return err
		}
	}
}

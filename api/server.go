package api

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// ServerConfig says where and how the Server listens.
type ServerConfig struct {
	// Addr is the Unix socket, in a form ParseAddr reads ("unix://PATH"
	// or a path); empty is DefaultAddr.
	Addr string
	// SocketGroup, when set, is a group name or id whose members may use
	// the API: the socket is given to that group with mode 0660.
	// Otherwise its mode is 0600 (the owner only).
	SocketGroup string
	// TCP, when set, adds a TCP listener. It always takes TLS and a bearer
	// token: NewServer refuses a TCP listener without either.
	TCP *TCPConfig
	// Logger receives a debug line for every request and the server's
	// errors; nil is slog.Default().
	Logger *slog.Logger
	// StreamWriteTimeout is how long a stream waits for a client that
	// does not read before dropping it; 0 is one minute.
	StreamWriteTimeout time.Duration
}

// TCPConfig is the optional TCP listener of the API.
type TCPConfig struct {
	// Addr is host:port to listen on.
	Addr string
	// CertFile and KeyFile are the server's TLS certificate and key (PEM).
	CertFile string
	KeyFile  string
	// TokenFile holds the bearer token clients must send
	// ("Authorization: Bearer TOKEN"); surrounding white space is ignored.
	TokenFile string
}

// Server serves a Backend over HTTP/JSON.
//
// Goroutines: one per listener (http.Server.Serve) and one per connection
// and request (net/http's). All of them are owned by the Server: Shutdown
// cancels the context every request derives from, so that streams end,
// then waits for every goroutine and every Backend call to return.
type Server struct {
	backend       Backend
	log           *slog.Logger
	http          *http.Server
	unix          *net.UnixListener
	tcp           net.Listener // nil without TCP
	token         []byte       // bearer token for TCP clients
	writeTimeout  time.Duration
	addr          Addr
	ctx           context.Context // parent of every request's context
	cancel        context.CancelFunc
	serveDone     sync.WaitGroup // the Serve goroutines
	mu            sync.Mutex     // guards closing and handlers' Add
	closing       bool
	handlers      sync.WaitGroup // requests being served
	shutdownOnce  sync.Once
	shutdownError error
}

// NewServer binds the API socket (and the TCP listener when configured)
// and starts serving b. At start it removes a stale socket left at the
// same path by a crashed daemon, and fails when a live server answers on
// it. The caller must call Close or Shutdown.
func NewServer(b Backend, cfg ServerConfig) (*Server, error) {
	addr, err := ParseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if addr.Network != "unix" {
		return nil, fmt.Errorf("the API socket must be a Unix socket (got %s); a TCP listener is configured with TLS and a token", addr)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{backend: b, log: log, addr: addr, writeTimeout: cfg.StreamWriteTimeout}
	if s.writeTimeout <= 0 {
		s.writeTimeout = time.Minute
	}

	var tlsConfig *tls.Config
	if cfg.TCP != nil {
		tlsConfig, s.token, err = loadTCPConfig(cfg.TCP)
		if err != nil {
			return nil, err
		}
	}
	s.unix, err = listenUnix(addr.Address, cfg.SocketGroup, log)
	if err != nil {
		return nil, err
	}
	if cfg.TCP != nil {
		ln, err := net.Listen("tcp", cfg.TCP.Addr)
		if err != nil {
			s.unix.Close()
			return nil, fmt.Errorf("API TCP listener: %w", err)
		}
		s.tcp = tls.NewListener(ln, tlsConfig)
	}

	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	s.serve(s.unix)
	if s.tcp != nil {
		s.serve(s.tcp)
	}
	log.Info("API listening", "addr", addr.String(), "tcp", cfg.TCP != nil)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	s.serveDone.Add(1)
	go func() {
		defer s.serveDone.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("API listener failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// loadTCPConfig checks the TCP listener's settings and loads its
// certificate and token.
func loadTCPConfig(c *TCPConfig) (*tls.Config, []byte, error) {
	var missing []string
	if c.CertFile == "" {
		missing = append(missing, "certFile")
	}
	if c.KeyFile == "" {
		missing = append(missing, "keyFile")
	}
	if c.TokenFile == "" {
		missing = append(missing, "tokenFile")
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("the API's TCP listener needs TLS and a bearer token: set %s", strings.Join(missing, ", "))
	}
	if c.Addr == "" {
		return nil, nil, errors.New("the API's TCP listener needs an address (host:port)")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("API TLS certificate: %w", err)
	}
	raw, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return nil, nil, fmt.Errorf("API token: %w", err)
	}
	token := []byte(strings.TrimSpace(string(raw)))
	if len(token) < 16 {
		return nil, nil, fmt.Errorf("API token in %s is too short (%d characters; use at least 16)", c.TokenFile, len(token))
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"http/1.1"},
	}, token, nil
}

// Addr is the Unix socket the Server listens on.
func (s *Server) Addr() Addr { return s.addr }

// TCPAddr is the TCP listener's address, or nil without one.
func (s *Server) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Shutdown stops the listeners, cancels every stream and request, and
// waits for their handlers and Backend calls to return. Until ctx is done
// it lets connections finish what they are writing; then it closes them.
// The socket file is removed. Calls after the first return its result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.cancel()
		err := s.http.Shutdown(ctx)
		if err != nil {
			// Connections still busy (a client not reading a stream):
			// close them, which unblocks their writers.
			err = s.http.Close()
		}
		s.serveDone.Wait()
		s.handlers.Wait()
		s.shutdownError = err
		s.log.Info("API stopped", "addr", s.addr.String())
	})
	return s.shutdownError
}

// Close is Shutdown with five seconds for connections to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// enter registers a request; it fails once the Server is closing.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.handlers.Add(1)
	return true
}

// connInfo describes a connection for the request log and authorisation.
type connInfo struct {
	tcp      bool // over the TCP listener: needs the bearer token
	pid, uid int  // the peer process, on the Unix socket (SO_PEERCRED)
	hasCred  bool
}

type connInfoKey struct{}

func connContext(ctx context.Context, c net.Conn) context.Context {
	info := &connInfo{}
	switch c := c.(type) {
	case *net.UnixConn:
		info.pid, info.uid, info.hasCred = peerCred(c)
	case *tls.Conn:
		info.tcp = true
	}
	return context.WithValue(ctx, connInfoKey{}, info)
}

// authorized checks the bearer token of a request that came over TCP.
func (s *Server) authorized(r *http.Request) bool {
	info, _ := r.Context().Value(connInfoKey{}).(*connInfo)
	if info == nil || !info.tcp {
		return true // the Unix socket's mode is its access control
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), s.token) == 1
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// startHTTP opens the metrics and pprof listeners that were asked for.
// Each has its own mux: pprof's handlers are never on the metrics port,
// and nothing is registered on http.DefaultServeMux.
func (d *Daemon) startHTTP(ctx context.Context) error {
	if d.opt.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(d.met.reg, promhttp.HandlerOpts{ErrorLog: nil}))
		if err := d.serveHTTP(ctx, "metrics", d.opt.MetricsAddr, mux); err != nil {
			return err
		}
	}
	if d.opt.PprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		if err := d.serveHTTP(ctx, "pprof", d.opt.PprofAddr, mux); err != nil {
			return err
		}
	}
	return nil
}

// serveHTTP listens on addr and serves h until ctx ends.
func (d *Daemon) serveHTTP(ctx context.Context, what, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	d.log.Info("serving "+what, "addr", ln.Addr().String())
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error(what+" server failed", "err", err)
		}
	}()
	go func() {
		defer d.wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// runUpstream serves the fake OpenAI upstream with no added delay; streams
// send -chunks content chunks -gap apart. It prints "listening ADDR".
func runUpstream(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	chunks := fs.Int("chunks", 20, "content chunks per stream")
	gap := fs.Duration("gap", 5*time.Millisecond, "pause between stream chunks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fu := fakeupstream.New(fakeupstream.Faults{StreamChunks: *chunks, ChunkGap: *gap}, 1)
	return serveUntilDone(ctx, *listen, fu, stdout)
}

// runFloor serves a bare httputil.ReverseProxy in front of -upstream: the
// least any Go gateway adds, and the yardstick OneFlow is held to.
func runFloor(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := fs.String("upstream", "", "base URL of the upstream, e.g. http://127.0.0.1:9000")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		return fmt.Errorf("floor: -upstream %q is not an absolute URL", *upstream)
	}
	return serveUntilDone(ctx, *listen, floorProxy(u), stdout)
}

// floorProxy is the floor's proxy. Its transport keeps as many idle
// connections per host as OneFlow's provider plugins do (sdk/vendorhttp),
// so the floor is not handicapped by net/http's default of two.
func floorProxy(u *url.URL) http.Handler {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 1024
	p := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
		},
		Transport:     tr,
		FlushInterval: -1, // stream chunks as they come, like the gateway
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Without full duplex, the server closes the request body when the
		// response starts; if the transport had not yet read the body's
		// EOF while forwarding it, that read fails and the transport drops
		// the upstream connection mid-stream (about 1 stream in 75).
		_ = http.NewResponseController(w).EnableFullDuplex()
		p.ServeHTTP(w, r)
	})
}

func serveUntilDone(ctx context.Context, listen string, h http.Handler, stdout io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	return nil
}
